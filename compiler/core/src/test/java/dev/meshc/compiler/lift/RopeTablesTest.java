package dev.meshc.compiler.lift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import org.junit.jupiter.api.Test;

/**
 * RoPE tables recognised by value, computed here the way exporters write them (independently of
 * {@link dev.meshc.ir.op.Rope#tables}): θ comes back exactly from fp32 tables, and from fp16
 * ones whose frequencies and values were both rounded to fp16 (model.half()).
 */
class RopeTablesTest {
  /** cos/sin [s, d] of position·θ^(−2i/d); pairs (c, c + d/2) or (2i, 2i + 1); frequencies and values in fp16 when asked. */
  static float[][] tables(double theta, int s, int d, boolean interleaved, boolean half) {
    float[] cos = new float[s * d];
    float[] sin = new float[s * d];
    for (int p = 0; p < s; p++) {
      for (int c = 0; c < d; c++) {
        int i = interleaved ? c / 2 : c % (d / 2);
        float f = (float) (1 / Math.pow(theta, 2.0 * i / d));
        if (half) {
          f = Fp16.toFloat(Fp16.fromFloat(f));
        }
        double angle = (float) p * f;
        cos[p * d + c] = half ? Fp16.toFloat(Fp16.fromFloat((float) Math.cos(angle))) : (float) Math.cos(angle);
        sin[p * d + c] = half ? Fp16.toFloat(Fp16.fromFloat((float) Math.sin(angle))) : (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }

  @Test
  void thetaFromFp32AndFp16TablesInBothLayouts() {
    for (double theta : new double[] {10000, 500000, 1000000, 25000}) {
      for (boolean interleaved : new boolean[] {false, true}) {
        for (int[] sd : new int[][] {{16, 16}, {128, 64}, {16, 8}}) {
          float[][] t = tables(theta, sd[0], sd[1], interleaved, false);
          RopeTables.Fit fit = RopeTables.fit(t[0], t[1], sd[0], sd[1], DType.F32);
          assertEquals(new RopeTables.Fit((float) theta, interleaved), fit, theta + " fp32 " + interleaved);
          float[][] h = tables(theta, sd[0], sd[1], interleaved, true);
          assertEquals(new RopeTables.Fit((float) theta, interleaved),
              RopeTables.fit(h[0], h[1], sd[0], sd[1], DType.F16), theta + " fp16 " + interleaved);
        }
      }
    }
  }

  @Test
  void tablesThatAreNotRopeAreNot() {
    float[][] t = tables(10000, 16, 16, false, false);
    t[0][5 * 16 + 3] += 0.01f; // one entry off by more than rounding
    assertNull(RopeTables.fit(t[0], t[1], 16, 16, DType.F32));
    float[] ones = new float[16 * 16];
    java.util.Arrays.fill(ones, 1);
    assertNull(RopeTables.fit(ones, new float[16 * 16], 16, 16, DType.F32)); // position 0 everywhere
    // fp16 rounding is not accepted from an fp32 table
    float[][] h = tables(10000, 16, 16, false, true);
    assertNull(RopeTables.fit(h[0], h[1], 16, 16, DType.F32));
  }
}
