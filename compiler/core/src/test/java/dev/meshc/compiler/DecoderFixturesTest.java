package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DecoderFixturesTest {
  @ParameterizedTest
  @ValueSource(strings = {"tiny-gpt2", "tiny-llama"})
  void logitsMatchOnnxRuntime(String name) {
    Tensor ids = Npy.read(TestModels.example("models/" + name + ".input_ids.npy"));
    Tensor ref = Npy.read(TestModels.example("models/" + name + ".logits.npy"));
    Frontend f = Frontend.load(TestModels.example("models/" + name + ".onnx"),
        List.of(new InputBinding("input_ids", ids.shape().toArray())));
    System.out.println(f.module().layers());
    f.module().ops().forEach(op -> System.out.println(op.name() + " " + op.operands().stream().map(v -> v.name()).toList() + " -> " + op.results().get(0).type() + " " + op.attrs()));
    Tensor out = ReferenceEvaluator.run(f.module(), Map.of("input_ids", ids), f.weights()).get("logits");
    double max = 0;
    for (int i = 0; i < out.size(); i++) {
      max = Math.max(max, Math.abs(out.floats()[i] - ref.floats()[i]));
    }
    System.out.println(name + " max abs error " + max);
    assertTrue(max <= 1e-4, name + " max abs error " + max);
  }
}
