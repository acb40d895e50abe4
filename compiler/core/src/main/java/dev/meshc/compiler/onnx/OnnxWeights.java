package dev.meshc.compiler.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Weight;
import dev.meshc.ir.eval.WeightStore;
import dev.meshc.ir.onnx.OnnxOps;
import java.util.List;
import java.util.Map;

/** Weights read from the ONNX file (or its external data) when something runs the model. */
public final class OnnxWeights implements WeightStore {
  private final Map<String, Initializer> initializers;

  public OnnxWeights(Map<String, Initializer> initializers) {
    this.initializers = initializers;
  }

  @Override
  public Tensor read(Weight w) {
    Initializer init = initializers.get(w.source());
    if (init == null) {
      throw MeshcException.input("weight @%s names initializer '%s', which the model does not have", w.name(),
          w.source());
    }
    Tensor t = TensorData.read(init);
    if (w.perm().isEmpty()) {
      return t;
    }
    long[] perm = w.perm().stream().mapToLong(Integer::longValue).toArray();
    return OnnxOps.get("Transpose").eval(List.of(t), Attrs.builder().put("perm", perm).build()).get(0);
  }
}
