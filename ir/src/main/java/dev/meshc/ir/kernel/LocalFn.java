package dev.meshc.ir.kernel;

import dev.meshc.ir.onnx.MathFns;
import java.util.List;

/**
 * An elementwise function that needs no communication once its operands' tiles sit on one PE:
 * the activations, the gated activations (act(gate) · up), the residual add, a product, and RoPE.
 * Each element is computed in double and rounded to fp32, exactly as the reference evaluator does,
 * and stored in fp16 by {@link Local}.
 *
 * <p>RoPE rotates channel pairs: (i, i + rotaryDim/2) in the half-split form LLaMA uses, (2i, 2i+1)
 * when interleaved; channels at or past {@code rotaryDim} pass through. {@link Local} lays a
 * PE's pairs out together (see there), so a rotation reads its partner on the same PE.
 *
 * @param kind      what is computed
 * @param act       the activation of ACTIVATION and GATED
 * @param rotaryDim the rotated channels of ROPE
 */
public record LocalFn(Kind kind, Act act, long rotaryDim) {
  public enum Kind {
    ACTIVATION, GATED, ADD, MUL, ROPE, ROPE_INTERLEAVED
  }

  public enum Act {
    NONE, GELU_ERF, GELU_TANH, SILU, RELU, RELU2
  }

  public LocalFn {
    if ((kind == Kind.ACTIVATION || kind == Kind.GATED) == (act == Act.NONE)) {
      throw new IllegalArgumentException(kind + " with activation " + act);
    }
    if ((kind == Kind.ROPE || kind == Kind.ROPE_INTERLEAVED) && (rotaryDim < 2 || rotaryDim % 2 != 0)) {
      throw new IllegalArgumentException("rotary dim " + rotaryDim);
    }
  }

  public static LocalFn activation(Act act) {
    return new LocalFn(Kind.ACTIVATION, act, 0);
  }

  public static LocalFn gated(Act act) {
    return new LocalFn(Kind.GATED, act, 0);
  }

  public static LocalFn add() {
    return new LocalFn(Kind.ADD, Act.NONE, 0);
  }

  public static LocalFn mul() {
    return new LocalFn(Kind.MUL, Act.NONE, 0);
  }

  public static LocalFn rope(long rotaryDim, boolean interleaved) {
    return new LocalFn(interleaved ? Kind.ROPE_INTERLEAVED : Kind.ROPE, Act.NONE, rotaryDim);
  }

  public boolean rope() {
    return kind == Kind.ROPE || kind == Kind.ROPE_INTERLEAVED;
  }

  /** Whether a second operand tile "B" takes part (the up projection, the addend, the factor). */
  public boolean binary() {
    return kind == Kind.GATED || kind == Kind.ADD || kind == Kind.MUL;
  }

  /** The kernel's name, as the trace and {@code meshc kernel} spell it. */
  public String algorithm() {
    return switch (kind) {
      case ACTIVATION -> act.name().toLowerCase(java.util.Locale.ROOT);
      case GATED -> "gated_" + act.name().toLowerCase(java.util.Locale.ROOT);
      case ADD -> "add";
      case MUL -> "mul";
      case ROPE, ROPE_INTERLEAVED -> "rope";
    };
  }

  /** FMAC-equivalents per output element of this function: {@link #opsPerElement(Kind)}. */
  public int opsPerElement() {
    return opsPerElement(kind);
  }

  /**
   * FMAC-equivalents per output element, which the runtime charges and the planner's cost model
   * counts: an add or product 1; a rotation 4 (two products, a sum, and the table entries it
   * reads); an activation, gated or not, 4 (its transcendental's polynomial and the products).
   * Not calibrated against a WSE run.
   */
  public static int opsPerElement(Kind kind) {
    return switch (kind) {
      case ADD, MUL -> 1;
      case ACTIVATION, GATED, ROPE, ROPE_INTERLEAVED -> 4;
    };
  }

  /**
   * Part {@code part} of the function over {@code n} elements of equal-length tiles {@code in}
   * into {@code out}, rounded to fp32. The parts and their operands:
   * <ul>
   *   <li>ACTIVATION: (x); GATED: (gate, up); ADD, MUL: (a, b).
   *   <li>ROPE part 0, the first half: (x1, x2, cos1, sin1) → x1·cos − x2·sin; part 1, the second
   *       half: (x1, x2, cos2, sin2) → x2·cos + x1·sin.
   *   <li>ROPE_INTERLEAVED: (x, cos, sin), x holding whole pairs (2i, 2i+1).
   * </ul>
   */
  public void apply(int part, List<float[]> in, float[] out, int n) {
    float[] a = in.get(0);
    switch (kind) {
      case ACTIVATION -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) act(a[i]);
        }
      }
      case GATED -> {
        float[] b = in.get(1);
        for (int i = 0; i < n; i++) {
          out[i] = (float) (act(a[i]) * b[i]);
        }
      }
      case ADD -> {
        float[] b = in.get(1);
        for (int i = 0; i < n; i++) {
          out[i] = (float) ((double) a[i] + b[i]);
        }
      }
      case MUL -> {
        float[] b = in.get(1);
        for (int i = 0; i < n; i++) {
          out[i] = (float) ((double) a[i] * b[i]);
        }
      }
      case ROPE -> {
        float[] b = in.get(1);
        float[] cos = in.get(2);
        float[] sin = in.get(3);
        for (int i = 0; i < n; i++) {
          double x1 = a[i];
          double x2 = b[i];
          out[i] = (float) (part == 0 ? x1 * cos[i] - x2 * sin[i] : x2 * cos[i] + x1 * sin[i]);
        }
      }
      case ROPE_INTERLEAVED -> {
        float[] cos = in.get(1);
        float[] sin = in.get(2);
        for (int i = 0; i + 1 < n; i += 2) {
          double x1 = a[i];
          double x2 = a[i + 1];
          out[i] = (float) (x1 * cos[i] - x2 * sin[i]);
          out[i + 1] = (float) (x2 * cos[i + 1] + x1 * sin[i + 1]);
        }
      }
      default -> throw new IllegalStateException(kind.name());
    }
  }

  private double act(double x) {
    return switch (act) {
      case GELU_ERF -> MathFns.geluErf(x);
      case GELU_TANH -> MathFns.geluTanh(x);
      case SILU -> MathFns.silu(x);
      case RELU -> MathFns.relu(x);
      case RELU2 -> MathFns.relu2(x);
      case NONE -> throw new IllegalStateException("no activation");
    };
  }
}
