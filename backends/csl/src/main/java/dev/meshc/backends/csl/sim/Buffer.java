package dev.meshc.backends.csl.sim;

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
  /** For a view ({@code @ptrcast} to another type of the same width): the buffer whose bits it reads. */
  private final Buffer base;

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
    this.base = null;
  }

  private Buffer(Buffer base, Scalar type) {
    this.name = base.name;
    this.type = type;
    this.cell = base.cell;
    this.dims = base.dims;
    this.data = null;
    this.base = base;
  }

  /** The same memory read as {@code t}, of the same width: each element's bits reinterpreted. */
  public Buffer view(Scalar t) {
    Buffer root = base == null ? this : base;
    return t == root.type ? root : new Buffer(root, t);
  }

  public int length() {
    return base != null ? base.length() : data.length;
  }

  public long bytes() {
    return (long) length() * type.bytes();
  }

  public double load(int i) {
    return base != null ? type.fromBits(base.type.toBits(base.load(i))) : data[i];
  }

  public void store(int i, double v) {
    if (base != null) {
      base.store(i, base.type.fromBits(type.toBits(type.round(v))));
    } else {
      data[i] = type.round(v);
    }
  }

  public void fill(double v) {
    for (int i = 0; i < length(); i++) {
      store(i, v);
    }
  }

  /** A new buffer named {@code name} with this one's elements (a var initialized with @zeros or @constants). */
  public Buffer copy(String name) {
    Buffer b = new Buffer(name, type, dims, cell);
    for (int i = 0; i < length(); i++) {
      b.data[i] = load(i);
    }
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
    return type == Scalar.BOOL ? (Object) (load(0) != 0) : new Num(type, load(0));
  }

  @Override
  public String toString() {
    return name + ": [" + length() + "]" + type.csl();
  }
}
