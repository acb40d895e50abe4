package dev.meshc.ir.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** GatherElements against the ONNX spec's own examples (Operators.md, GatherElements). */
class GatherElementsTest {
  private static Tensor run(Tensor data, Tensor idx, long axis) {
    return OnnxOps.get("GatherElements").eval(List.of(data, idx), Attrs.builder().put("axis", axis).build()).get(0);
  }

  @Test
  void specExamples() {
    Tensor data = Tensor.ofFloats(Shape.of(2, 2), new float[] {1, 2, 3, 4});
    Tensor idx = Tensor.ofLongs(Shape.of(2, 2), new long[] {0, 0, 1, 0});
    assertArrayEquals(new float[] {1, 1, 4, 3}, run(data, idx, 1).floats());
    Tensor data3 = Tensor.ofFloats(Shape.of(3, 3), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor idx2 = Tensor.ofLongs(Shape.of(2, 3), new long[] {1, 2, 0, 2, 0, 0});
    Tensor out = run(data3, idx2, 0);
    assertEquals(Shape.of(2, 3), out.shape());
    assertArrayEquals(new float[] {4, 8, 3, 7, 2, 3}, out.floats());
    // negative indices count from the end of the axis
    assertArrayEquals(new float[] {2, 2, 4, 3}, run(data, Tensor.ofLongs(Shape.of(2, 2), new long[] {-1, -1, -1, 0}),
        -1).floats());
  }

  @Test
  void badIndicesAreOneLineErrors() {
    Tensor data = Tensor.ofFloats(Shape.of(2, 2), new float[] {1, 2, 3, 4});
    assertThrows(MeshcException.class, () -> run(data, Tensor.ofLongs(Shape.of(2, 2), new long[] {0, 2, 0, 0}), 1));
    assertThrows(MeshcException.class, () -> run(data, Tensor.ofLongs(Shape.of(2), new long[] {0, 1}), 1));
    assertThrows(MeshcException.class, () -> OnnxOps.get("GatherElements").infer(
        List.of(new Sig(DType.F32, Shape.of(2, 2)), new Sig(DType.F32, Shape.of(2, 2))), Attrs.EMPTY));
  }
}
