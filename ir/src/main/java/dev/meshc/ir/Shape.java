package dev.meshc.ir;

import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;

/** A static tensor shape. Immutable; dims are non-negative. */
public final class Shape {
  public static final Shape SCALAR = new Shape(new long[0]);

  private final long[] dims;

  private Shape(long[] dims) {
    this.dims = dims;
  }

  public static Shape of(long... dims) {
    for (long d : dims) {
      if (d < 0) {
        throw MeshcException.input("negative dimension %d in shape %s", d, Arrays.toString(dims));
      }
    }
    return new Shape(dims.clone());
  }

  public static Shape of(List<Long> dims) {
    return of(dims.stream().mapToLong(Long::longValue).toArray());
  }

  public int rank() {
    return dims.length;
  }

  /** Dimension {@code i}; negative counts from the end as ONNX axes do. */
  public long dim(int i) {
    return dims[i < 0 ? i + dims.length : i];
  }

  public long[] toArray() {
    return dims.clone();
  }

  public List<Long> toList() {
    return Arrays.stream(dims).boxed().toList();
  }

  /** Element count, or an error when it overflows a long. */
  public long elements() {
    long n = 1;
    for (long d : dims) {
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw MeshcException.input("shape %s has more than 2^63 elements", this);
      }
    }
    return n;
  }

  /** Element count as an int, for tensors that are materialised in memory. */
  public int elementsAsInt() {
    long n = elements();
    if (n > Integer.MAX_VALUE - 8) {
      throw MeshcException.input("tensor of shape %s is too large to hold in memory (%d elements)", this, n);
    }
    return (int) n;
  }

  /** Row-major strides in elements. */
  public long[] strides() {
    long[] s = new long[dims.length];
    long acc = 1;
    for (int i = dims.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc *= dims[i];
    }
    return s;
  }

  /** Normalises an ONNX axis (possibly negative) against this rank, or fails naming the axis. */
  public int axis(long axis) {
    return normalizeAxis(axis, dims.length);
  }

  public static int normalizeAxis(long axis, int rank) {
    long a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw MeshcException.input("axis %d is out of range for rank %d", axis, rank);
    }
    return (int) a;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Shape s && Arrays.equals(dims, s.dims);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(dims);
  }

  /** {@code [1,16,64]}, as the tile IR prints it. */
  @Override
  public String toString() {
    StringJoiner j = new StringJoiner(",", "[", "]");
    for (long d : dims) {
      j.add(Long.toString(d));
    }
    return j.toString();
  }
}
