package dev.meshc.backends.mesh;

import dev.meshc.ir.Fp16;
import java.util.Random;

/** Random fp16 operands and their exact product, for checking kernels. */
final class Products {
  private Products() {}

  /** u: the unit roundoff of fp16 (2^-11). */
  static final double U = Math.pow(2, -11);

  static float[] fp16Gaussian(int n, Random r) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = Fp16.round((float) r.nextGaussian());
    }
    return a;
  }

  /** Σ_k a[i,k]·b[k,j] in double (b read as [n,k] when transposed), and Σ |a||b| for error bounds. */
  static double[][] reference(float[] a, float[] b, int m, int k, int n, boolean transposed) {
    double[] c = new double[m * n];
    double[] abs = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        double t = 0;
        for (int q = 0; q < k; q++) {
          double p = (double) a[i * k + q] * (transposed ? b[j * k + q] : b[q * n + j]);
          s += p;
          t += Math.abs(p);
        }
        c[i * n + j] = s;
        abs[i * n + j] = t;
      }
    }
    return new double[][] {c, abs};
  }

  /** max |c − ref| / max |ref|: the error relative to the product's scale. */
  static double maxRelError(float[] c, double[] ref) {
    double err = 0;
    double scale = 0;
    for (int i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(c[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    return err / scale;
  }

  /**
   * The recursive-summation bound for fp16 accumulation: each result went through at most
   * {@code depth} fp16 roundings of partial sums, so |ĉ − c| ≤ γ_depth · Σ|a||b| with
   * γ_n = n·u / (1 − n·u). Returns the largest ratio |ĉ − c| / bound (≤ 1 when the bound holds).
   */
  static double boundRatio(float[] c, double[] ref, double[] abs, int depth) {
    double gamma = depth * U / (1 - depth * U);
    double worst = 0;
    for (int i = 0; i < ref.length; i++) {
      double bound = gamma * abs[i] + Math.ulp(Fp16.round((float) ref[i])); // plus the final storage rounding
      worst = Math.max(worst, Math.abs(c[i] - ref[i]) / bound);
    }
    return worst;
  }
}
