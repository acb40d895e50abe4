package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.kernel.RowFn;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.onnx.Kernels;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The row functions (norms, softmax) on the mesh: each pass's partial statistics all-reduced by
 * the K-tree along the mesh rows give the host formula's answer, for grids that do and do not
 * divide the matrix; the figures the planner reads equal what the runtime sees.
 */
class RowWiseTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Property(tries = 80, seed = "4242")
  void normsAndSoftmaxMatchTheHostFormula(@ForAll @IntRange(min = 0, max = 2) int kind,
      @ForAll @IntRange(min = 1, max = 9) int p, @ForAll @IntRange(min = 1, max = 24) int rows,
      @ForAll @IntRange(min = 1, max = 40) int width, @ForAll @IntRange(min = 0, max = 1000) int seed) {
    Random rnd = new Random(seed);
    float[] x = fp16(gaussian(rnd, rows * width, 2.0, 0.5));
    float[] w = fp16(gaussian(rnd, width, 1.0, 1.0));
    float[] b = fp16(gaussian(rnd, width, 0.5, 0.0));
    float[] mask = new float[rows * width];
    for (int j = 0; j < width; j++) { // a padding mask hiding some keys, as BERT's attention_mask gives
      float v = rnd.nextInt(5) == 0 ? Float.NEGATIVE_INFINITY : 0f;
      for (int i = 0; i < rows; i++) {
        mask[i * width + j] = v;
      }
    }
    boolean causal = seed % 2 == 0;
    RowFn fn = switch (kind) {
      case 0 -> RowFn.rmsNorm(width, 1e-6, true);
      case 1 -> RowFn.layerNorm(width, 1e-5, true, true);
      default -> RowFn.softmax(width, 0.25f, causal, 0, true);
    };
    RowWise t = new RowWise(fn, rows, p, p, kind == 2 && seed % 3 == 0);
    RouteCheck.verify(t, WSE2);
    Map<String, float[]> in = new HashMap<>();
    in.put("X", x);
    if (fn.weighted()) {
      in.put("W", w);
    }
    if (fn.biased()) {
      in.put("B", b);
    }
    if (fn.masked()) {
      in.put("Mask", mask);
    }
    RunResult r = MeshRuntime.functional(t, WSE2, in);
    float[] want = kind == 2 ? softmax(x, mask, rows, width, 0.25f, causal)
        : Kernels.layerNorm(x, rows, width, (float) fn.eps(), kind == 1, j -> w[j], kind == 1 ? j -> b[j] : null);
    for (int i = 0; i < want.length; i++) {
      // the output is stored in fp16: within one rounding of fp16, plus fp32's accumulation
      double tol = Math.abs(want[i]) * 1.5e-3 + 1e-5;
      assertEquals(want[i], r.c()[i], tol, fn.kind() + " at " + i / width + "," + i % width + " on " + p + "x" + p);
    }
    assertEquals(t.maxBytesPerPe(), r.maxPeBytes(), "memory figure");
    assertEquals(t.maxColorsPerPe(), r.maxColorsPerPe(), "colour figure");
    assertEquals(t.maxHopsPerTransfer(), r.maxHopsPerTransfer(), "hop figure");
    // the closed form does not count the relay's wait at the root; it may not be optimistic by much
    double est = t.estimate(WSE2).cycles();
    assertTrue(r.cycles() >= est * 0.8 && r.cycles() <= est * 1.25 + 20,
        "simulated " + r.cycles() + " vs closed form " + est);
  }

  private static float[] softmax(float[] x, float[] mask, int rows, int width, float scale, boolean causal) {
    float[] y = new float[x.length];
    for (int i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < width; j++) {
        if (!(causal && j > i)) {
          max = Math.max(max, x[i * width + j] * scale + mask[i * width + j]);
        }
      }
      if (max == Double.NEGATIVE_INFINITY) {
        continue;
      }
      double sum = 0;
      for (int j = 0; j < width; j++) {
        if (!(causal && j > i)) {
          sum += Math.exp(x[i * width + j] * scale + mask[i * width + j] - max);
        }
      }
      for (int j = 0; j < width; j++) {
        if (!(causal && j > i)) {
          y[i * width + j] = (float) (Math.exp(x[i * width + j] * scale + mask[i * width + j] - max) / sum);
        }
      }
    }
    return y;
  }

  static float[] gaussian(Random rnd, int n, double sd, double mean) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + sd * rnd.nextGaussian());
    }
    return v;
  }

  static float[] fp16(float[] v) {
    float[] r = v.clone();
    for (int i = 0; i < r.length; i++) {
      r[i] = Fp16.round(r[i]);
    }
    return r;
  }
}
