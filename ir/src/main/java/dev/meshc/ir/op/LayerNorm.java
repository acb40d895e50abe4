package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * Layer normalisation over the last axis: (x − mean) / sqrt(var + eps) · gamma + beta. The mean
 * and variance are all-reduces along the axis that splits the last dimension.
 */
public record LayerNorm(Value x, Value gamma, Value beta, float eps, Value out, Provenance loc)
    implements Op {
  public static final OpDef DEF = Defs.def("layer_norm",
      (in, a, r, loc) -> {
        Defs.arity("layer_norm", in, 1, 3);
        return new LayerNorm(in.get(0), Defs.opt(in, 1), Defs.opt(in, 2),
            a.getFloat("eps", 1e-5f), Defs.one("layer_norm", r), loc);
      },
      (in, a) -> normType("layer_norm", in, 3));

  static List<TensorType> normType(String op, List<TensorType> in, int max) {
    Defs.arity(op, in, 1, max);
    TensorType x = in.get(0);
    Defs.rank(op, "input", x, 1);
    Defs.floating(op, "input", x);
    for (int i = 1; i < in.size(); i++) {
      Defs.vector(op, i == 1 ? "scale" : "bias", in.get(i), x.shape().dim(-1));
    }
    return List.of(x);
  }

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    if (gamma == null) {
      return List.of(x);
    }
    return beta == null ? List.of(x, gamma) : List.of(x, gamma, beta);
  }

  @Override
  public Attrs attrs() {
    return Attrs.builder().put("eps", eps).build();
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
