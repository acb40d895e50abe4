package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * Rotary position embedding on x [..., S, D], position p = row index in S. The first
 * {@code rotaryDim} channels rotate by angle p·θ^(−2i/rotaryDim) in pairs: (i, i + rotaryDim/2)
 * for the half-split form LLaMA uses, (2i, 2i+1) when {@code interleaved}. When the model's
 * cos/sin tables do not follow θ they are given as operands [S, rotaryDim] instead, and θ is 0.
 * Local on every PE: the pairs stay on one core.
 */
public record Rope(Value x, Value cos, Value sin, float theta, long rotaryDim, boolean interleaved,
    Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("rope",
      (in, a, r, loc) -> {
        Defs.arity("rope", in, 1, 3);
        if (in.size() == 2) {
          throw MeshcException.input("rope takes x alone or x with both cos and sin tables");
        }
        return new Rope(in.get(0), Defs.opt(in, 1), Defs.opt(in, 2), a.getFloat("theta", 0f),
            a.requireInt("rotary_dim"), a.getInt("interleaved", 0) != 0, Defs.one("rope", r), loc);
      },
      (in, a) -> {
        Defs.arity("rope", in, 1, 3);
        TensorType x = in.get(0);
        Defs.rank("rope", "input", x, 2);
        Defs.floating("rope", "input", x);
        long rd = a.requireInt("rotary_dim");
        if (rd <= 0 || rd % 2 != 0 || rd > x.shape().dim(-1)) {
          throw MeshcException.input("rope: rotary_dim %d must be even and at most the head width %d",
              rd, x.shape().dim(-1));
        }
        if (in.size() == 3) {
          for (TensorType t : in.subList(1, 3)) {
            if (t.rank() != 2 || t.shape().dim(0) != x.shape().dim(-2) || t.shape().dim(1) != rd) {
              throw MeshcException.input("rope: tables must be [%d, %d], have %s",
                  x.shape().dim(-2), rd, t.shape());
            }
          }
        } else if (!(a.getFloat("theta", 0f) > 0f)) {
          throw MeshcException.input("rope: without tables theta must be positive");
        }
        return List.of(x);
      });

  /**
   * The cos and sin tables [seqLen, rotaryDim] for θ, computed the way LLaMA's reference code does
   * it in fp32 (inverse frequencies 1/θ^(2i/rd), angle = position · frequency, rounded to fp32 at
   * each step), so a model's own tables and these agree to the last bits. Channel c rotates at
   * frequency c mod rd/2 in the half-split layout (c and c + rd/2 pair up), c / 2 when
   * {@code interleaved} (2i and 2i+1 pair up, GPT-J).
   */
  public static float[][] tables(float theta, int rotaryDim, boolean interleaved, int seqLen, int offset) {
    int half = rotaryDim / 2;
    float[] inv = new float[half];
    for (int i = 0; i < half; i++) {
      float exponent = (float) (2 * i) / rotaryDim;
      inv[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
    }
    float[] cos = new float[seqLen * rotaryDim];
    float[] sin = new float[seqLen * rotaryDim];
    for (int p = 0; p < seqLen; p++) {
      for (int c = 0; c < rotaryDim; c++) {
        float angle = (float) (p + offset) * inv[interleaved ? c / 2 : c % half];
        cos[p * rotaryDim + c] = (float) Math.cos(angle);
        sin[p * rotaryDim + c] = (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }

  /** This op's tables from its θ, for positions offset … offset + seqLen − 1. */
  public float[][] tables(int seqLen, int offset) {
    return tables(theta, (int) rotaryDim, interleaved, seqLen, offset);
  }

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return cos == null ? List.of(x) : List.of(x, cos, sin);
  }

  @Override
  public Attrs attrs() {
    Attrs.Builder b = Attrs.builder().put("rotary_dim", rotaryDim).put("interleaved", interleaved ? 1 : 0);
    if (cos == null) {
      b.put("theta", theta);
    }
    return b.build();
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
