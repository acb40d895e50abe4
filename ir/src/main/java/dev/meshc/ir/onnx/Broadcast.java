package dev.meshc.ir.onnx;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import java.util.List;

/** NumPy-style multidirectional broadcasting, as ONNX defines it. */
public final class Broadcast {
  private Broadcast() {}

  public static Shape shape(String op, List<Shape> shapes) {
    int rank = 0;
    for (Shape s : shapes) {
      rank = Math.max(rank, s.rank());
    }
    long[] out = new long[rank];
    java.util.Arrays.fill(out, 1);
    for (Shape s : shapes) {
      int off = rank - s.rank();
      for (int i = 0; i < s.rank(); i++) {
        long d = s.dim(i);
        long o = out[off + i];
        if (o == 1) {
          out[off + i] = d;
        } else if (d != 1 && d != o) {
          throw MeshcException.input("%s: shapes %s do not broadcast", op, shapes);
        }
      }
    }
    return Shape.of(out);
  }

  /** For each element of {@code out} (row-major), the offset of the element of {@code in} it reads. */
  public static int[] offsets(Shape in, Shape out) {
    int n = out.elementsAsInt();
    int[] r = new int[n];
    int rank = out.rank();
    int off = rank - in.rank();
    long[] inStrides = in.strides();
    long[] step = new long[rank];
    for (int i = 0; i < in.rank(); i++) {
      step[off + i] = in.dim(i) == 1 ? 0 : inStrides[i];
    }
    if (in.equals(out)) {
      for (int i = 0; i < n; i++) {
        r[i] = i;
      }
      return r;
    }
    long[] idx = new long[rank];
    long[] dims = out.toArray();
    int cur = 0;
    for (int i = 0; i < n; i++) {
      r[i] = cur;
      for (int d = rank - 1; d >= 0; d--) {
        idx[d]++;
        cur += (int) step[d];
        if (idx[d] < dims[d]) {
          break;
        }
        cur -= (int) (step[d] * idx[d]);
        idx[d] = 0;
      }
    }
    return r;
  }
}
