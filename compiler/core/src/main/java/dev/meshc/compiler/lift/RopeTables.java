package dev.meshc.compiler.lift;

import dev.meshc.ir.DType;
import dev.meshc.ir.op.Rope;

/**
 * Recognises rotary tables that follow a base θ, so the plan carries θ rather than the tables:
 * a table is RoPE if its values are cos/sin of position·θ^(−2i/d) within the rounding of its
 * dtype, in the half-split layout (channels i and i + d/2 share a frequency) or the interleaved
 * one (2i and 2i + 1 do).
 */
final class RopeTables {
  private RopeTables() {}

  /** θ and the channel layout that a pair of tables follows. */
  record Fit(float theta, boolean interleaved) {}

  /**
   * Largest difference from the θ formula still taken as the formula, at position p for a channel
   * of frequency f: fp32 pow may differ from the exporter's by an ulp, and that error grows with the
   * angle, so with the position; on top of it the rounding of a 16-bit export, u = half an ulp of 1
   * in its dtype (fp16 2⁻¹¹, bf16 2⁻⁸), once on the table's value and once on the frequency, which
   * such exports store in their dtype too (the angle p·f is then off by up to u·p·f).
   */
  static double tolerance(int positions, DType dtype, int p, double f) {
    return 1e-5 * Math.max(1, positions / 16.0) + roundoff(dtype) * (1 + p * f);
  }

  private static double roundoff(DType dtype) {
    return switch (dtype) {
      case F16 -> Math.scalb(1.0, -11);
      case BF16 -> Math.scalb(1.0, -8);
      default -> 0;
    };
  }

  /** θ and layout when cos/sin [s, d] are RoPE tables at positions 0…s−1, else null. */
  static Fit fit(float[] cos, float[] sin, int s, int d, DType dtype) {
    for (boolean interleaved : new boolean[] {false, true}) {
      float theta = theta(cos, sin, s, d, interleaved, dtype);
      if (theta > 0) {
        return new Fit(theta, interleaved);
      }
    }
    return null;
  }

  /**
   * θ for one layout, else 0. Frequency 1 (θ^(−2/d)) is read off its channel at position 1, then
   * refined position by position (unwrapping the angle), so rounded fp16 tables still give θ to a
   * few parts in 10⁵; the answer is the simplest θ (fewest significant digits) whose tables match
   * everywhere within {@code tol}, as bases are round numbers in practice (10000, 500000, 1e6).
   */
  private static float theta(float[] cos, float[] sin, int s, int d, boolean interleaved, DType dtype) {
    if (s < 2 || d < 4) {
      return 0;
    }
    int c = interleaved ? 2 : 1; // the first channel of frequency 1
    double f = Math.atan2(sin[d + c], cos[d + c]);
    if (!(f > 0 && f < 1)) {
      return 0;
    }
    for (int p = 2; p < s; p++) {
      double raw = Math.atan2(sin[p * d + c], cos[p * d + c]);
      double turns = Math.rint((p * f - raw) / (2 * Math.PI));
      f = (raw + 2 * Math.PI * turns) / p;
    }
    double estimate = Math.pow(f, -d / 2.0);
    if (!(estimate > 1 && estimate < 1e12)) {
      return 0;
    }
    for (int digits = 1; digits <= 8; digits++) {
      float theta = (float) new java.math.BigDecimal(estimate)
          .round(new java.math.MathContext(digits)).doubleValue();
      if (matches(theta, cos, sin, s, d, interleaved, dtype)) {
        return theta;
      }
    }
    return 0;
  }

  private static boolean matches(float theta, float[] cos, float[] sin, int s, int d, boolean interleaved,
      DType dtype) {
    float[][] t = Rope.tables(theta, d, interleaved, s, 0);
    double[] f = new double[d];
    for (int c = 0; c < d; c++) {
      f[c] = Math.pow(theta, -2.0 * (interleaved ? c / 2 : c % (d / 2)) / d);
    }
    for (int p = 0; p < s; p++) {
      for (int c = 0; c < d; c++) {
        int i = p * d + c;
        double tol = tolerance(s, dtype, p, f[c]);
        if (Math.abs(t[0][i] - cos[i]) > tol || Math.abs(t[1][i] - sin[i]) > tol) {
          return false;
        }
      }
    }
    return true;
  }
}
