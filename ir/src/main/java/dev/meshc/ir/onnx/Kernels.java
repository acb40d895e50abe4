package dev.meshc.ir.onnx;

/**
 * The fp32 numeric kernels the ONNX operators and the tile-IR block ops share (the reference
 * evaluator's Linear is the same product as MatMul). Accumulation is in double, so these are a
 * golden model, not a fast one.
 */
public final class Kernels {
  private Kernels() {}

  /** Per-channel operand lookup, so broadcast gamma/beta and plain vectors share one loop. */
  public interface Channel {
    float at(int j);
  }

  /** C[m,n] = Σ_k A[m,k]·B[k,n], row-major, starting at the given offsets. */
  public static void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int k, int n) {
    double[] acc = new double[n];
    for (int i = 0; i < m; i++) {
      java.util.Arrays.fill(acc, 0);
      int ai = aOff + i * k;
      for (int p = 0; p < k; p++) {
        double av = a[ai + p];
        if (av == 0) {
          continue;
        }
        int bp = bOff + p * n;
        for (int j = 0; j < n; j++) {
          acc[j] += av * b[bp + j];
        }
      }
      int ci = cOff + i * n;
      for (int j = 0; j < n; j++) {
        c[ci + j] = (float) acc[j];
      }
    }
  }

  /** Softmax (or log-softmax) of x viewed as [outer, n, inner] over the middle axis. */
  public static float[] softmax(float[] x, int outer, int n, int inner, boolean log) {
    float[] r = new float[x.length];
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < inner; i++) {
        int base = o * n * inner + i;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
          max = Math.max(max, x[base + j * inner]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
          sum += Math.exp(x[base + j * inner] - max);
        }
        for (int j = 0; j < n; j++) {
          double v = x[base + j * inner] - max;
          r[base + j * inner] = (float) (log ? v - Math.log(sum) : Math.exp(v) / sum);
        }
      }
    }
    return r;
  }

  /**
   * Normalises each of {@code rows} rows of {@code n}: (x − mean)/√(var + eps) when
   * {@code center}, x/√(mean(x²) + eps) otherwise (RMSNorm); then · gamma + beta (either may be
   * null).
   */
  public static float[] layerNorm(float[] x, int rows, int n, float eps, boolean center, Channel gamma,
      Channel beta) {
    float[] r = new float[x.length];
    for (int o = 0; o < rows; o++) {
      int base = o * n;
      double mean = 0;
      if (center) {
        for (int j = 0; j < n; j++) {
          mean += x[base + j];
        }
        mean /= n;
      }
      double var = 0;
      for (int j = 0; j < n; j++) {
        double d = x[base + j] - mean;
        var += d * d;
      }
      var /= n;
      double inv = 1 / Math.sqrt(var + eps);
      for (int j = 0; j < n; j++) {
        double v = (x[base + j] - mean) * inv;
        if (gamma != null) {
          v *= gamma.at(j);
        }
        if (beta != null) {
          v += beta.at(j);
        }
        r[base + j] = (float) v;
      }
    }
    return r;
  }
}
