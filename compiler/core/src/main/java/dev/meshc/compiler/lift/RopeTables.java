package dev.meshc.compiler.lift;

import dev.meshc.ir.op.Rope;

/** Recognises rotary tables that follow a base θ, so the plan carries θ rather than the tables. */
final class RopeTables {
  private RopeTables() {}

  /**
   * Largest difference from the θ formula still taken as the formula: fp32 pow may differ from the
   * exporter's by an ulp, and that error grows with the angle, so with the position.
   */
  static double tolerance(int positions) {
    return 1e-5 * Math.max(1, positions / 16.0);
  }

  /**
   * θ when cos/sin [s, d] are the half-split tables of some base θ at positions 0…s−1, else 0.
   * θ is read off the angle of channel 1 at position 1 (θ^(−2/d)) and then checked everywhere.
   */
  static float theta(float[] cos, float[] sin, int s, int d) {
    if (s < 2 || d < 4) {
      return 0;
    }
    double angle = Math.atan2(sin[d + 1], cos[d + 1]);
    if (!(angle > 0 && angle < 1)) {
      return 0;
    }
    float theta = (float) Math.pow(angle, -d / 2.0);
    float rounded = Math.round(theta);
    if (Math.abs(rounded - theta) < 1e-3 * theta) {
      theta = rounded; // bases are whole numbers in practice (10000, 500000)
    }
    float[][] t = Rope.tables(theta, d, s, 0);
    double tol = tolerance(s);
    for (int i = 0; i < s * d; i++) {
      if (Math.abs(t[0][i] - cos[i]) > tol || Math.abs(t[1][i] - sin[i]) > tol) {
        return 0;
      }
    }
    return theta;
  }
}
