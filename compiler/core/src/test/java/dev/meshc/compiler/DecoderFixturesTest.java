package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The decoder fixtures (real transformers classes, random weights) lift to decoder layers, and
 * the reference evaluator gives ONNX Runtime's logits.
 */
class DecoderFixturesTest {
  static final double TOLERANCE = 1e-4;

  @ParameterizedTest
  @ValueSource(strings = {"tiny-gpt2", "tiny-llama"})
  void committedLogitsMatch(String name) {
    Tensor ids = Npy.read(TestModels.example("models/" + name + ".input_ids.npy"));
    Tensor ref = Npy.read(TestModels.example("models/" + name + ".logits.npy"));
    Frontend f = Frontend.load(TestModels.example("models/" + name + ".onnx"),
        List.of(new InputBinding("input_ids", ids.shape().toArray())));
    assertEquals(2, f.module().layers().size());
    for (Layer l : f.module().layers()) {
      assertEquals("decoder", l.kind());
      assertEquals(name.equals("tiny-llama") ? 2 : 4, l.info().getInt("kv_heads", 0));
    }
    Tensor out = ReferenceEvaluator.run(f.module(), Map.of("input_ids", ids), f.weights()).get("logits");
    double err = OrtReference.maxAbsDiff(out.floats(), ref.floats());
    assertTrue(err <= TOLERANCE, name + " max abs error " + err);
  }

  @ParameterizedTest
  @CsvSource({"tiny-gpt2, 2, 7", "tiny-llama, 2, 7", "tiny-gpt2, 1, 1", "tiny-llama, 3, 33"})
  void liveOnnxRuntimeAgreesAtOtherShapes(String name, int batch, int seq) throws Exception {
    Path model = TestModels.example("models/" + name + ".onnx");
    long[] ids = new Random(batch * 100L + seq).longs((long) batch * seq, 0, 512).toArray();
    Tensor in = Tensor.ofLongs(Shape.of(batch, seq), ids);
    Frontend f = Frontend.load(model, List.of(new InputBinding("input_ids", new long[] {batch, seq})));
    float[] ours = ReferenceEvaluator.run(f.module(), Map.of("input_ids", in), f.weights()).get("logits").floats();
    float[] ref = OrtReference.run(model, Map.of("input_ids", in));
    double err = OrtReference.maxAbsDiff(ours, ref);
    assertTrue(err <= TOLERANCE, name + " " + batch + "x" + seq + " max abs error " + err);
  }
}
