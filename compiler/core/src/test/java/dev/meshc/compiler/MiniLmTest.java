package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** all-MiniLM-L6-v2 (real pretrained weights): six encoder layers, and ONNX Runtime's numbers. */
class MiniLmTest {
  /** "[CLS] hello world [SEP] a test sentence for the model is a test . [SEP]" and one padding token. */
  static final long[] IDS = {101, 7592, 2088, 102, 1037, 3231, 6251, 2005, 1996, 6112, 2003, 1037, 3231, 1012, 102, 0};

  @Test
  void liftsToSixEncoderLayersAndMatchesOnnxRuntime() throws Exception {
    Frontend f = Frontend.load(TestModels.miniLm(), List.of(InputBinding.parse("input_ids=1x16")));
    List<Layer> layers = f.module().layers();
    assertEquals(6, layers.size());
    for (Layer l : layers) {
      assertEquals("encoder", l.kind());
      assertEquals(12, l.info().getInt("heads", 0));
      assertEquals(32, l.info().getInt("head_dim", 0));
      assertEquals(1536, l.info().getInt("ffn", 0));
      assertEquals("gelu_erf", l.info().getString("activation", ""));
      assertEquals("layer_norm", l.info().getString("norm", ""));
    }
    long[] mask = new long[16];
    java.util.Arrays.fill(mask, 1);
    mask[15] = 0; // a padded position exercises the additive mask (float32 min)
    Map<String, Tensor> in = Map.of(
        "input_ids", Tensor.ofLongs(Shape.of(1, 16), IDS.clone()),
        "attention_mask", Tensor.ofLongs(Shape.of(1, 16), mask),
        "token_type_ids", Tensor.ofLongs(Shape.of(1, 16), new long[16]));
    float[] ours = ReferenceEvaluator.run(f.module(), in, f.weights()).get("last_hidden_state").floats();
    float[] ref = OrtReference.run(TestModels.miniLm(), in);
    double err = OrtReference.maxAbsDiff(ours, ref);
    assertTrue(err <= 1e-4, "max abs error " + err);
  }
}
