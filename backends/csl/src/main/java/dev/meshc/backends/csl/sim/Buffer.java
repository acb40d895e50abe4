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
  private final double[] data;

  public Buffer(String name, Scalar type, int length, boolean cell) {
    this.name = name;
    this.type = type;
    this.cell = cell;
    this.data = new double[length];
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
    Buffer b = new Buffer(name, type, data.length, cell);
    System.arraycopy(data, 0, b.data, 0, data.length);
    return b;
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
