package dev.meshc.ir;

import java.util.Arrays;

/**
 * A dense tensor in memory: constants folded at import, and the values the reference evaluator
 * computes. Floating types are held as fp32 (the evaluator's precision), integer and boolean types
 * as longs. Immutable by convention: nobody writes to the arrays after construction.
 */
public final class Tensor {
  private final DType dtype;
  private final Shape shape;
  private final float[] floats;
  private final long[] longs;

  private Tensor(DType dtype, Shape shape, float[] floats, long[] longs) {
    this.dtype = dtype;
    this.shape = shape;
    this.floats = floats;
    this.longs = longs;
    int n = floats != null ? floats.length : longs.length;
    if (n != shape.elements()) {
      throw new IllegalArgumentException("tensor of shape " + shape + " given " + n + " elements");
    }
  }

  /** A floating tensor; the array is taken, not copied. */
  public static Tensor ofFloats(DType dtype, Shape shape, float[] data) {
    if (!dtype.isFloating()) {
      throw new IllegalArgumentException(dtype + " is not a floating type");
    }
    return new Tensor(dtype, shape, data, null);
  }

  public static Tensor ofFloats(Shape shape, float... data) {
    return ofFloats(DType.F32, shape, data);
  }

  /** An integer or boolean tensor; the array is taken, not copied. */
  public static Tensor ofLongs(DType dtype, Shape shape, long[] data) {
    if (dtype.isFloating()) {
      throw new IllegalArgumentException(dtype + " is a floating type");
    }
    return new Tensor(dtype, shape, null, data);
  }

  public static Tensor ofLongs(Shape shape, long... data) {
    return ofLongs(DType.I64, shape, data);
  }

  public static Tensor scalar(DType dtype, double v) {
    return dtype.isFloating()
        ? ofFloats(dtype, Shape.SCALAR, new float[] {(float) v})
        : ofLongs(dtype, Shape.SCALAR, new long[] {(long) v});
  }

  /** A tensor of {@code shape} filled with {@code v}. */
  public static Tensor filled(DType dtype, Shape shape, double v) {
    int n = shape.elementsAsInt();
    if (dtype.isFloating()) {
      float[] f = new float[n];
      Arrays.fill(f, (float) v);
      return ofFloats(dtype, shape, f);
    }
    long[] l = new long[n];
    Arrays.fill(l, (long) v);
    return ofLongs(dtype, shape, l);
  }

  public DType dtype() {
    return dtype;
  }

  public Shape shape() {
    return shape;
  }

  public int size() {
    return floats != null ? floats.length : longs.length;
  }

  public boolean isFloating() {
    return floats != null;
  }

  /** The backing fp32 array of a floating tensor (not a copy: do not write to it). */
  public float[] floats() {
    if (floats == null) {
      throw new IllegalStateException(dtype + " tensor has no float data");
    }
    return floats;
  }

  /** The backing array of an integer or boolean tensor (not a copy: do not write to it). */
  public long[] longs() {
    if (longs == null) {
      throw new IllegalStateException(dtype + " tensor has no integer data");
    }
    return longs;
  }

  public double getDouble(int i) {
    return floats != null ? floats[i] : longs[i];
  }

  public long getLong(int i) {
    return longs != null ? longs[i] : (long) floats[i];
  }

  /** Every element as a long (floats truncated), for shape-like constants. */
  public long[] toLongArray() {
    if (longs != null) {
      return longs.clone();
    }
    long[] r = new long[floats.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = (long) floats[i];
    }
    return r;
  }

  /** Every element as fp32. */
  public float[] toFloatArray() {
    if (floats != null) {
      return floats.clone();
    }
    float[] r = new float[longs.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = longs[i];
    }
    return r;
  }

  /** This tensor with every value rounded to what its element type holds (fp16, bf16); others as they are. */
  public Tensor rounded() {
    if (dtype != DType.F16 && dtype != DType.BF16) {
      return this;
    }
    float[] r = floats.clone();
    for (int i = 0; i < r.length; i++) {
      r[i] = dtype == DType.F16 ? Fp16.round(r[i]) : Fp16.roundBf16(r[i]);
    }
    return new Tensor(dtype, shape, r, null);
  }

  /** Same data, another shape of the same size. */
  public Tensor reshape(Shape s) {
    return new Tensor(dtype, s, floats, longs);
  }

  /** Whether every element equals the first one (a splat constant). */
  public boolean isSplat() {
    for (int i = 1; i < size(); i++) {
      if (floats != null ? Float.compare(floats[i], floats[0]) != 0 : longs[i] != longs[0]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && dtype == t.dtype
        && shape.equals(t.shape)
        && Arrays.equals(floats, t.floats)
        && Arrays.equals(longs, t.longs);
  }

  @Override
  public int hashCode() {
    return 31 * shape.hashCode() + (floats != null ? Arrays.hashCode(floats) : Arrays.hashCode(longs));
  }

  @Override
  public String toString() {
    String data = floats != null
        ? Arrays.toString(size() > 8 ? Arrays.copyOf(floats, 8) : floats)
        : Arrays.toString(size() > 8 ? Arrays.copyOf(longs, 8) : longs);
    return dtype.irName() + shape + " " + data + (size() > 8 ? "..." : "");
  }
}
