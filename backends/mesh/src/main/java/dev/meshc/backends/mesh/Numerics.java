package dev.meshc.backends.mesh;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.kernel.Action;
import dev.meshc.ir.kernel.RowFn;

/**
 * The PE's arithmetic on fp16 values: with fp16 accumulation every multiply-accumulate rounds to
 * fp16 (what WSE's {@code @fmach} does); with fp32 accumulation the accumulator is fp32 and the
 * products of fp16 operands are exact in it.
 */
final class Numerics {
  private Numerics() {}

  /** One PE's buffers, by name. */
  interface Mem {
    float[] get(String buffer);
  }

  /** c[m,n] += a[m,k]·b[k,n] (b[n,k] when transposed), all row-major. */
  static void gemm(Mem mem, Action.Gemm g, boolean fp32) {
    float[] a = mem.get(g.a());
    float[] b = mem.get(g.b());
    float[] c = mem.get(g.c());
    int mm = g.m();
    int kk = g.k();
    int nn = g.n();
    // each c[i,j] takes its products in k order, as the PE's loop does, whichever loop is outermost
    if (g.transB()) {
      for (int i = 0; i < mm; i++) {
        for (int j = 0; j < nn; j++) {
          float acc = c[i * nn + j];
          for (int p = 0, bj = j * kk, ai = i * kk; p < kk; p++) {
            acc = fp32 ? acc + a[ai + p] * b[bj + p] : Fp16.round(acc + a[ai + p] * b[bj + p]);
          }
          c[i * nn + j] = acc;
        }
      }
      return;
    }
    for (int i = 0; i < mm; i++) {
      int ci = i * nn;
      int p = 0;
      for (; fp32 && p + 4 <= kk; p += 4) { // four products per pass over the row, still in k order
        float a0 = a[i * kk + p];
        float a1 = a[i * kk + p + 1];
        float a2 = a[i * kk + p + 2];
        float a3 = a[i * kk + p + 3];
        int b0 = p * nn;
        for (int j = 0; j < nn; j++) {
          float v = c[ci + j] + a0 * b[b0 + j];
          v += a1 * b[b0 + nn + j];
          v += a2 * b[b0 + 2 * nn + j];
          c[ci + j] = v + a3 * b[b0 + 3 * nn + j];
        }
      }
      for (; p < kk; p++) {
        axpy(c, ci, a[i * kk + p], b, p * nn, nn, fp32);
      }
    }
  }

  /** y[n] += Σ_m x[m]·w[m,n]. */
  static void gemv(Mem mem, Action.Gemv g, boolean fp32) {
    float[] x = mem.get(g.x());
    float[] wt = mem.get(g.w());
    float[] y = mem.get(g.y());
    int n = g.n();
    for (int i = 0; i < g.m(); i++) { // y[j] takes its products in m order, as the PE's loop does
      axpy(y, 0, x[i], wt, i * n, n, fp32);
    }
  }

  /** y[yo + j] += s·x[xo + j] for j < n, rounding each sum to fp16 unless {@code fp32}. */
  private static void axpy(float[] y, int yo, float s, float[] x, int xo, int n, boolean fp32) {
    if (fp32) {
      for (int j = 0; j < n; j++) {
        y[yo + j] += s * x[xo + j];
      }
    } else {
      for (int j = 0; j < n; j++) {
        y[yo + j] = Fp16.round(y[yo + j] + s * x[xo + j]);
      }
    }
  }

  /** One pass of a row function's statistics over the PE's tile, in fp32 (see {@link RowFn}). */
  static void rowStats(Mem mem, Action.RowStats a) {
    RowFn fn = a.fn();
    float[] x = mem.get(a.in());
    float[] out = mem.get(RowFn.STATS[a.pass()]);
    float[] s0 = mem.get(RowFn.STATS[0]);
    float[] mask = fn.masked() ? mem.get(RowFn.MASK) : null;
    for (int r = 0; r < a.rows(); r++) {
      float acc = fn.kind() == RowFn.Kind.SOFTMAX && a.pass() == 0 ? Float.NEGATIVE_INFINITY : 0f;
      float mean = fn.kind() == RowFn.Kind.LAYER_NORM && a.pass() == 1 ? s0[r] / fn.width() : 0f;
      for (int j = 0; j < a.cols(); j++) {
        if (!fn.visible(a.row0() + r, a.col0() + j)) {
          continue;
        }
        float v = x[r * a.cols() + j];
        switch (fn.kind()) {
          case RMS_NORM -> acc += v * v;
          case LAYER_NORM -> acc += a.pass() == 0 ? v : (v - mean) * (v - mean);
          case SOFTMAX -> {
            float sv = score(fn, v, mask, r * a.cols() + j);
            acc = a.pass() == 0 ? Math.max(acc, sv) : acc + (s0[r] == Float.NEGATIVE_INFINITY ? 0f
                : (float) Math.exp(sv - s0[r]));
          }
        }
      }
      out[r] = acc;
    }
  }

  /** A row function's finish: the tile's output in fp16 from its input and the row totals. */
  static void rowFinish(Mem mem, Action.RowFinish a) {
    RowFn fn = a.fn();
    float[] x = mem.get(a.in());
    float[] y = mem.get(a.out());
    float[] s0 = mem.get(RowFn.STATS[0]);
    float[] s1 = fn.passes() > 1 ? mem.get(RowFn.STATS[1]) : null;
    float[] w = fn.weighted() ? mem.get(RowFn.WEIGHT) : null;
    float[] b = fn.biased() ? mem.get(RowFn.BIAS) : null;
    float[] mask = fn.masked() ? mem.get(RowFn.MASK) : null;
    for (int r = 0; r < a.rows(); r++) {
      float mean = fn.kind() == RowFn.Kind.LAYER_NORM ? s0[r] / fn.width() : 0f;
      float inv = switch (fn.kind()) {
        case RMS_NORM -> (float) (1 / Math.sqrt(s0[r] / fn.width() + fn.eps()));
        case LAYER_NORM -> (float) (1 / Math.sqrt(s1[r] / fn.width() + fn.eps()));
        case SOFTMAX -> 1f / s1[r];
      };
      for (int j = 0; j < a.cols(); j++) {
        int at = r * a.cols() + j;
        float v;
        if (fn.kind() == RowFn.Kind.SOFTMAX) {
          boolean shown = fn.visible(a.row0() + r, a.col0() + j) && s0[r] != Float.NEGATIVE_INFINITY;
          v = shown ? (float) Math.exp(score(fn, x[at], mask, at) - s0[r]) * inv : 0f;
        } else {
          v = (x[at] - mean) * inv;
          if (w != null) {
            v *= w[j];
          }
          if (b != null) {
            v += b[j];
          }
        }
        y[at] = Fp16.round(v);
      }
    }
  }

  /** A local function's part over the tiles, stored in the output buffer's precision. */
  static void map(Mem mem, Action.Map a, boolean fp32Out) {
    java.util.List<float[]> in = a.in().stream().map(mem::get).toList();
    float[] out = mem.get(a.out());
    a.fn().apply(a.part(), in, out, a.elements());
    if (!fp32Out) {
      for (int i = 0; i < a.elements(); i++) {
        out[i] = Fp16.round(out[i]);
      }
    }
  }

  /** The softmax's input: the scaled score plus the mask (fp32, as the exported graphs compute it). */
  private static float score(RowFn fn, float v, float[] mask, int at) {
    return v * fn.scale() + (mask == null ? 0f : mask[at]);
  }
}
