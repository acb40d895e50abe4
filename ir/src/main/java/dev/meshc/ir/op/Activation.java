package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/** A transformer activation recognised from its decomposed form; local on every PE. */
public record Activation(Fn fn, Value x, Value out, Provenance loc) implements Op {

  /** The activation functions lifting recognises. */
  public enum Fn {
    /** x · Φ(x), the erf form (BERT, {@code gelu}). */
    GELU_ERF("gelu_erf", "geglu_erf"),
    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) ({@code gelu_new}, GPT-2). */
    GELU_TANH("gelu_tanh", "geglu_tanh"),
    /** x · sigmoid(x) (LLaMA's SiLU). */
    SILU("silu", "swiglu"),
    /** max(x, 0) (OPT); gated, ReGLU. */
    RELU("relu", "reglu"),
    /** max(x, 0)² (Nemotron, Persimmon: squared ReLU). */
    RELU2("relu2", "reglu2");

    private final String irName;
    private final OpDef def;
    private final OpDef gatedDef;

    Fn(String irName, String gated) {
      this.irName = irName;
      this.def = Defs.def(irName,
          (in, a, r, loc) -> {
            Defs.arity(irName, in, 1, 1);
            return new Activation(fnOf(irName), in.get(0), Defs.one(irName, r), loc);
          },
          (in, a) -> {
            Defs.arity(irName, in, 1, 1);
            Defs.floating(irName, "input", in.get(0));
            return List.of(in.get(0));
          });
      this.gatedDef = Defs.def(gated,
          (in, a, r, loc) -> {
            Defs.arity(gated, in, 2, 2);
            return new GatedActivation(fnOf(irName), in.get(0), in.get(1), Defs.one(gated, r), loc);
          },
          (in, a) -> {
            Defs.arity(gated, in, 2, 2);
            TensorType g = in.get(0);
            Defs.floating(gated, "gate", g);
            if (!g.shape().equals(in.get(1).shape())) {
              throw dev.meshc.ir.MeshcException.input("%s: gate %s and up %s differ in shape",
                  gated, g.shape(), in.get(1).shape());
            }
            return List.of(g);
          });
    }

    public String irName() {
      return irName;
    }

    public OpDef def() {
      return def;
    }

    /** The gated form act(gate) · up: swiglu, geglu_erf, geglu_tanh, reglu, reglu2. */
    public OpDef gatedDef() {
      return gatedDef;
    }

    private static Fn fnOf(String irName) {
      for (Fn f : values()) {
        if (f.irName.equals(irName)) {
          return f;
        }
      }
      throw new IllegalArgumentException(irName);
    }
  }

  /** Whether an IR op name is an activation, plain or gated. */
  public static boolean named(String op) {
    for (Fn f : Fn.values()) {
      if (f.def.name().equals(op) || f.gatedDef.name().equals(op)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public OpDef def() {
    return fn.def();
  }

  @Override
  public List<Value> operands() {
    return List.of(x);
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
