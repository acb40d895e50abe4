package dev.meshc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** {@link Fp16#round}'s fast path for normal halves rounds as the exact conversion does. */
class Fp16Test {
  private static int exact(float f) {
    return Float.floatToRawIntBits(Fp16.toFloat(Fp16.fromFloat(f)));
  }

  @Property(tries = 20000)
  void roundIsTheExactConversion(@ForAll int bits) {
    float f = Float.intBitsToFloat(bits);
    if (!Float.isNaN(f)) {
      assertEquals(exact(f), Float.floatToRawIntBits(Fp16.round(f)), Integer.toHexString(bits));
    }
  }

  /** Every float whose exponent is at a boundary of the fast path, each rounding tie and the overflow to infinity. */
  @Test
  void boundariesRoundAsTheExactConversion() {
    for (int exp : new int[] {111, 112, 113, 114, 141, 142, 143}) {
      for (int sign = 0; sign < 2; sign++) {
        for (int mant = 0; mant < 1 << 23; mant += 0xfff) {
          for (int d = -1; d <= 1; d++) {
            int bits = sign << 31 | exp << 23 | Math.max(0, Math.min((1 << 23) - 1, mant + d));
            float f = Float.intBitsToFloat(bits);
            assertEquals(exact(f), Float.floatToRawIntBits(Fp16.round(f)), Integer.toHexString(bits));
          }
        }
      }
    }
    assertEquals(Float.POSITIVE_INFINITY, Fp16.round(65520f));
    assertEquals(65504f, Fp16.round(65519.996f));
    assertEquals(Float.NEGATIVE_INFINITY, Fp16.round(-65520f));
  }
}
