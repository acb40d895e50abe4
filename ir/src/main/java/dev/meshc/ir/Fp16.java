package dev.meshc.ir;

/**
 * IEEE-754 half precision and bfloat16 conversions, round to nearest even. Java 17 has neither
 * (Float.floatToFloat16 arrived in 20); the mesh stores fp16 and ONNX Cast to fp16 rounds.
 */
public final class Fp16 {
  private Fp16() {}

  /** The half-precision bits nearest to {@code f}. */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) { // Inf or NaN
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) { // overflow
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) { // subnormal half or zero
      if (e < -10) {
        return (short) sign;
      }
      int m = mant | 0x800000;
      int shift = 14 - e;
      int half = m >> shift;
      int rem = m & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++; // may carry into the exponent, which is still correct (up to Inf)
    }
    return (short) (sign | half);
  }

  public static float toFloat(short h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }

  /** {@code f} rounded to the nearest half-precision value. */
  public static float round(float f) {
    int bits = Float.floatToRawIntBits(f);
    int exp = (bits >>> 23) & 0xff;
    if (exp >= 113 && exp <= 142) { // a normal half: the mantissa to 10 bits, to nearest even, in place
      int r = (bits + 0xfff + ((bits >>> 13) & 1)) & 0xffffe000;
      return ((r >>> 23) & 0xff) > 142 ? (bits < 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY)
          : Float.intBitsToFloat(r);
    }
    return toFloat(fromFloat(f));
  }

  /** {@code f} rounded to the nearest bfloat16 value. */
  public static float roundBf16(float f) {
    if (Float.isNaN(f)) {
      return f;
    }
    int bits = Float.floatToRawIntBits(f);
    int lsb = (bits >>> 16) & 1;
    bits += 0x7fff + lsb;
    return Float.intBitsToFloat(bits & 0xffff0000);
  }
}
