package dev.meshc.backends.csl.sim;

import dev.meshc.ir.Fp16;

/**
 * The element types a PE's memory holds, with the rounding a store into them does: f32 as Java
 * float, f16 through {@link Fp16}, integers wrapping at their width (CSL's sized integers).
 */
public enum Scalar {
  F16(16, true), F32(32, true), I16(16, false), U16(16, false), I32(32, false), U32(32, false), BOOL(16, false);

  public final int bits;
  public final boolean isFloat;

  Scalar(int bits, boolean isFloat) {
    this.bits = bits;
    this.isFloat = isFloat;
  }

  /** The type CSL spells {@code name}, or null when it is not one memory holds. */
  public static Scalar of(String name) {
    return switch (name) {
      case "f16" -> F16;
      case "f32" -> F32;
      case "i16" -> I16;
      case "u16" -> U16;
      case "i32" -> I32;
      case "u32" -> U32;
      case "bool" -> BOOL;
      default -> null;
    };
  }

  public int bytes() {
    return bits / 8;
  }

  public String csl() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** {@code v} as this type holds it. Float to integer truncates toward zero (as {@code @as} does). */
  public double round(double v) {
    return switch (this) {
      case F32 -> (float) v;
      case F16 -> Fp16.round((float) v);
      case I16 -> (short) (long) v;
      case U16 -> ((long) v) & 0xffffL;
      case I32 -> (int) (long) v;
      case U32 -> ((long) v) & 0xffffffffL;
      case BOOL -> v != 0 ? 1 : 0;
    };
  }

  /** The raw bits of {@code v} (already rounded to this type), as memcpy moves them. */
  public int toBits(double v) {
    return switch (this) {
      case F32 -> Float.floatToRawIntBits((float) v);
      case F16 -> Fp16.fromFloat((float) v) & 0xffff;
      case I16, U16, BOOL -> (int) ((long) v & 0xffff);
      case I32, U32 -> (int) (long) v;
    };
  }

  /** The value raw {@code bits} (the low {@link #bits} of them) hold in this type. */
  public double fromBits(int bits) {
    return switch (this) {
      case F32 -> Float.intBitsToFloat(bits);
      case F16 -> Fp16.toFloat((short) bits);
      case I16 -> (short) bits;
      case U16 -> bits & 0xffff;
      case BOOL -> (bits & 0xffff) != 0 ? 1 : 0;
      case I32 -> bits;
      case U32 -> bits & 0xffffffffL;
    };
  }
}
