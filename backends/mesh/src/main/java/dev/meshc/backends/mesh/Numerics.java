package dev.meshc.backends.mesh;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.kernel.Action;
import java.util.Map;

/**
 * The PE's arithmetic on fp16 values: with fp16 accumulation every multiply-accumulate rounds to
 * fp16 (what WSE's {@code @fmach} does); with fp32 accumulation the accumulator is fp32 and the
 * products of fp16 operands are exact in it.
 */
final class Numerics {
  private Numerics() {}

  /** c[m,n] += a[m,k]·b[k,n] (b[n,k] when transposed), all row-major. */
  static void gemm(Map<String, float[]> mem, Action.Gemm g, boolean fp32) {
    float[] a = mem.get(g.a());
    float[] b = mem.get(g.b());
    float[] c = mem.get(g.c());
    int mm = g.m();
    int kk = g.k();
    int nn = g.n();
    for (int i = 0; i < mm; i++) {
      for (int j = 0; j < nn; j++) {
        float acc = c[i * nn + j];
        for (int p = 0; p < kk; p++) {
          float bv = g.transB() ? b[j * kk + p] : b[p * nn + j];
          acc = fp32 ? acc + a[i * kk + p] * bv : Fp16.round(acc + a[i * kk + p] * bv);
        }
        c[i * nn + j] = acc;
      }
    }
  }

  /** y[n] += Σ_m x[m]·w[m,n]. */
  static void gemv(Map<String, float[]> mem, Action.Gemv g, boolean fp32) {
    float[] x = mem.get(g.x());
    float[] wt = mem.get(g.w());
    float[] y = mem.get(g.y());
    for (int j = 0; j < g.n(); j++) {
      float acc = y[j];
      for (int i = 0; i < g.m(); i++) {
        acc = fp32 ? acc + x[i] * wt[i * g.n() + j] : Fp16.round(acc + x[i] * wt[i * g.n() + j]);
      }
      y[j] = acc;
    }
  }
}
