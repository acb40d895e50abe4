package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.kernel.Local;
import dev.meshc.ir.kernel.LocalFn;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.onnx.MathFns;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The local kernels (activations, gated activations, add, product, RoPE) on the mesh give the host
 * formula's fp16 answer bit for bit, on grids that do and do not divide the tensor, in each
 * layout; RoPE's pairs meet on one PE whatever the grid, including partial rotary and the
 * interleaved form. No PE routes a colour, and the figures the planner reads are the runtime's.
 */
class LocalTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Property(tries = 120, seed = "777")
  void localKernelsMatchTheHostFormula(@ForAll @IntRange(min = 0, max = 7) int kind,
      @ForAll @IntRange(min = 0, max = 2) int layoutIndex, @ForAll @IntRange(min = 1, max = 7) int width,
      @ForAll @IntRange(min = 1, max = 7) int height, @ForAll @IntRange(min = 1, max = 12) int rows,
      @ForAll @IntRange(min = 1, max = 20) int halfCols, @ForAll @IntRange(min = 0, max = 1000) int seed) {
    Random rnd = new Random(seed);
    int cols = 2 * halfCols;
    int rd = kind >= 6 ? 2 * (1 + rnd.nextInt(halfCols)) : 0; // partial rotary now and then
    LocalFn fn = switch (kind) {
      case 0 -> LocalFn.activation(LocalFn.Act.GELU_ERF);
      case 1 -> LocalFn.activation(LocalFn.Act.GELU_TANH);
      case 2 -> LocalFn.activation(LocalFn.Act.SILU);
      case 3 -> LocalFn.gated(LocalFn.Act.SILU);
      case 4 -> LocalFn.add();
      case 5 -> LocalFn.mul();
      case 6 -> LocalFn.rope(rd, false);
      default -> LocalFn.rope(rd, true);
    };
    Local t = new Local(fn, rows, cols, Local.Layout.values()[layoutIndex], width, height);
    RouteCheck.verify(t, WSE2);
    float[] a = RowWiseTest.fp16(RowWiseTest.gaussian(rnd, rows * cols, 2.0, 0.0));
    float[] b = RowWiseTest.fp16(RowWiseTest.gaussian(rnd, rows * cols, 2.0, 0.0));
    float[] cos = new float[rows * Math.max(rd, 1)];
    float[] sin = new float[cos.length];
    for (int i = 0; i < cos.length; i++) {
      double angle = rnd.nextDouble() * 6.3;
      cos[i] = (float) Math.cos(angle);
      sin[i] = (float) Math.sin(angle);
    }
    Map<String, float[]> in = new HashMap<>();
    in.put("A", a);
    if (fn.binary()) {
      in.put("B", b);
    }
    if (fn.rope()) {
      in.put("COS", cos);
      in.put("SIN", sin);
    }
    RunResult r = MeshRuntime.functional(t, WSE2, in);
    float[] want = host(kind, a, b, cos, sin, rows, cols, rd);
    for (int i = 0; i < want.length; i++) {
      assertEquals(Fp16.round(want[i]), r.c()[i], 0.0, fn.algorithm() + " at " + i / cols + "," + i % cols + " on "
          + width + "x" + height + " " + t);
    }
    assertEquals(t.maxBytesPerPe(), r.maxPeBytes(), "memory figure");
    assertEquals(0, r.maxColorsPerPe(), "colour figure");
    assertEquals(t.estimate(WSE2).cycles(), r.cycles(), 1e-9, "cycles");
  }

  /** The reference evaluator's formulas, written out over whole rows. */
  private static float[] host(int kind, float[] a, float[] b, float[] cos, float[] sin, int rows, int cols, int rd) {
    float[] y = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      y[i] = switch (kind) {
        case 0 -> (float) MathFns.geluErf(a[i]);
        case 1 -> (float) MathFns.geluTanh(a[i]);
        case 2 -> (float) MathFns.silu(a[i]);
        case 3 -> (float) (MathFns.silu(a[i]) * b[i]);
        case 4 -> (float) ((double) a[i] + b[i]);
        case 5 -> (float) ((double) a[i] * b[i]);
        default -> a[i]; // RoPE: channels past rd pass through; the rotated ones follow
      };
    }
    if (kind >= 6) {
      int half = rd / 2;
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < half; i++) {
          int i1 = kind == 7 ? 2 * i : i;
          int i2 = kind == 7 ? 2 * i + 1 : i + half;
          double x1 = a[r * cols + i1];
          double x2 = a[r * cols + i2];
          y[r * cols + i1] = (float) (x1 * cos[r * rd + i1] - x2 * sin[r * rd + i1]);
          y[r * cols + i2] = (float) (x2 * cos[r * rd + i2] + x1 * sin[r * rd + i2]);
        }
      }
    }
    return y;
  }
}
