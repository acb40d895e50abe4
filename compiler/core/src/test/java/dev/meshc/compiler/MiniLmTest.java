package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MiniLmTest {
  static final long[] IDS = {101, 7592, 2088, 102, 1037, 3231, 6251, 2005, 1996, 6112, 2003, 1037, 3231, 1012, 102, 0};

  @Test
  void liftsToSixEncoderLayersAndMatchesOnnxRuntime() throws Exception {
    Frontend f = Frontend.load(TestModels.miniLm(), List.of(InputBinding.parse("input_ids=1x16")));
    List<Layer> layers = f.module().layers();
    System.out.println(layers);
    f.module().ops().forEach(op -> System.out.println(op.name() + " " + op.operands().stream().map(v -> v.name()).toList() + " -> " + op.results().get(0).type()));
    assertEquals(6, layers.size());
    long[] mask = new long[16];
    java.util.Arrays.fill(mask, 1);
    mask[15] = 0;
    Map<String, Tensor> in = new HashMap<>();
    in.put("input_ids", Tensor.ofLongs(Shape.of(1, 16), IDS.clone()));
    in.put("attention_mask", Tensor.ofLongs(Shape.of(1, 16), mask.clone()));
    in.put("token_type_ids", Tensor.ofLongs(Shape.of(1, 16), new long[16]));
    float[] ours = ReferenceEvaluator.run(f.module(), in, f.weights()).get("last_hidden_state").floats();

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(1);
      try (OrtSession s = env.createSession(TestModels.miniLm().toString(), o)) {
        Map<String, OnnxTensor> feed = new HashMap<>();
        feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(IDS), new long[] {1, 16}));
        feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, 16}));
        feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[16]), new long[] {1, 16}));
        try (OrtSession.Result r = s.run(feed)) {
          FloatBuffer ref = ((OnnxTensor) r.get(0)).getFloatBuffer();
          double max = 0;
          for (int i = 0; i < ours.length; i++) {
            max = Math.max(max, Math.abs(ours[i] - ref.get(i)));
          }
          System.out.println("max abs error " + max);
          assertTrue(max <= 1e-4, "max abs error " + max);
        }
        feed.values().forEach(OnnxTensor::close);
      }
    }
  }
}
