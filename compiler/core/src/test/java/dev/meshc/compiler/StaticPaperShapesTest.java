package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Layer;
import dev.meshc.ir.Module;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.Rope;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Paper-scale graphs exported with a fixed length (make_paper_shapes.py --seq T: the causal mask
 * and the RoPE tables folded into initializers, weights external and absent) lift every layer as a
 * decoder with RoPE: at T = 128 with θ read off the tables (fp16 tables included), at T = 1,
 * where the tables hold position 0 only, with the tables kept.
 */
class StaticPaperShapesTest {
  @ParameterizedTest
  @CsvSource({
      "llama3-8b-static128-fp16-shape.onnx, 32, 500000",
      "llama3-8b-static1-fp32-shape.onnx, 32, 0",
      "qwen2-72b-static128-fp32-shape.onnx, 80, 1000000",
      "qwen2-72b-static1-fp16-shape.onnx, 80, 0"})
  void everyLayerIsADecoderWithRope(String file, int layers, float theta) {
    Module m = Frontend.load(TestModels.example("models/" + file), List.of()).module();
    assertEquals(layers, m.layers().size(), file);
    for (Layer l : m.layers()) {
      assertEquals("decoder", l.kind(), file + " layer " + l.index());
      List<Op> ops = m.ops().subList(l.start(), l.end());
      List<Rope> ropes = ops.stream().filter(o -> o instanceof Rope).map(o -> (Rope) o).toList();
      assertEquals(2, ropes.size(), file + " layer " + l.index() + ": RoPE on q and k");
      for (Rope r : ropes) {
        assertEquals(theta, r.theta(), file);
        assertEquals(theta == 0, r.cos() != null, file + ": tables kept exactly when θ is not known");
        assertEquals(128, r.rotaryDim(), file);
      }
    }
    assertTrue(m.parameterCount() > 7_000_000_000L, file + ": the weights are referenced, never read");
  }
}
