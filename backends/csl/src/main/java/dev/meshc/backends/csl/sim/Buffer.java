package dev.meshc.backends.csl.sim;

import java.util.Arrays;

/**
 * A PE's storage for one variable: {@code length} elements of one type, each store rounded to it.
 * A scalar {@code var} is a buffer of one that reads as its value ({@link #cell}), so {@code &x}
 * still has somewhere to point.
 */
public final class Buffer {
  public final String name;
  public final Scalar type;
  public final boolean cell;
  /** The array's dimensions (row-major), for a tensor access that indexes it with several indices. */
  public final int[] dims;
  private final double[] data;

  public Buffer(String name, Scalar type, int length, boolean cell) {
    this(name, type, new int[] {length}, cell);
  }

  public Buffer(String name, Scalar type, int[] dims, boolean cell) {
    this.name = name;
    this.type = type;
    this.cell = cell;
    this.dims = dims.clone();
    int n = 1;
    for (int d : dims) {
      n = Math.multiplyExact(n, d);
    }
    this.data = new double[n];
  }

  public int length() {
    return data.length;
  }

  public long bytes() {
    return (long) data.length * type.bytes();
  }

  public double load(int i) {
    return data[i];
  }

  public void store(int i, double v) {
    data[i] = type.round(v);
  }

  public void fill(double v) {
    Arrays.fill(data, type.round(v));
  }

  /** A new buffer named {@code name} with this one's elements (a var initialized with @zeros or @constants). */
  public Buffer copy(String name) {
    Buffer b = new Buffer(name, type, dims, cell);
    System.arraycopy(data, 0, b.data, 0, data.length);
    return b;
  }

  /** The element index of {@code idx} (one per dimension), row-major; -1 when outside. */
  public int index(int[] idx) {
    if (idx.length == 1) {
      return idx[0];
    }
    if (idx.length != dims.length) {
      return -1;
    }
    int k = 0;
    for (int i = 0; i < idx.length; i++) {
      if (idx[i] < 0 || idx[i] >= dims[i]) {
        return -1;
      }
      k = k * dims[i] + idx[i];
    }
    return k;
  }

  /** What reading the variable gives: a cell its value, an array itself. */
  public Object read() {
    if (!cell) {
      return this;
    }
    return type == Scalar.BOOL ? (Object) (data[0] != 0) : new Num(type, data[0]);
  }

  @Override
  public String toString() {
    return name + ": [" + data.length + "]" + type.csl();
  }
}
