package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Value;
import java.util.List;

/** A gated FFN activation, act(gate) · up: SwiGLU for SiLU (LLaMA), GeGLU for GELU. Local. */
public record GatedActivation(Activation.Fn fn, Value gate, Value up, Value out, Provenance loc)
    implements Op {

  @Override
  public OpDef def() {
    return fn.gatedDef();
  }

  @Override
  public List<Value> operands() {
    return List.of(gate, up);
  }

  @Override
  public Attrs attrs() {
    return Attrs.EMPTY;
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
