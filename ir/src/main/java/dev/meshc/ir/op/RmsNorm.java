package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Value;
import java.util.List;

/** RMS normalisation over the last axis: x / sqrt(mean(x²) + eps) · gamma (LLaMA's RMSNorm). */
public record RmsNorm(Value x, Value gamma, float eps, Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("rms_norm",
      (in, a, r, loc) -> {
        Defs.arity("rms_norm", in, 1, 2);
        return new RmsNorm(in.get(0), Defs.opt(in, 1), a.getFloat("eps", 1e-6f),
            Defs.one("rms_norm", r), loc);
      },
      (in, a) -> LayerNorm.normType("rms_norm", in, 2));

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return gamma == null ? List.of(x) : List.of(x, gamma);
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
