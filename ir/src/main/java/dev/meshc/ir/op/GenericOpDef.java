package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layout;
import dev.meshc.ir.Layout.Axis;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import dev.meshc.ir.onnx.OnnxOp;
import dev.meshc.ir.onnx.Sig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The op definition of a {@link Generic}: element types and shapes from the ONNX semantics, the
 * layout from the operator's {@link dev.meshc.ir.onnx.LayoutRule}.
 */
public final class GenericOpDef implements OpDef {
  private static final Map<String, GenericOpDef> CACHE = new ConcurrentHashMap<>();

  private final OnnxOp onnx;

  private GenericOpDef(OnnxOp onnx) {
    this.onnx = onnx;
  }

  public static GenericOpDef of(OnnxOp onnx) {
    return CACHE.computeIfAbsent(onnx.type(), t -> new GenericOpDef(onnx));
  }

  public OnnxOp onnx() {
    return onnx;
  }

  @Override
  public String name() {
    return onnx.type();
  }

  @Override
  public Op build(List<Value> operands, Attrs attrs, List<Value> results, Provenance loc) {
    return new Generic(onnx.type(), operands, attrs, results, loc);
  }

  @Override
  public List<TensorType> infer(List<TensorType> operands, Attrs attrs) {
    if (onnx.foldOnly()) {
      throw MeshcException.input("%s must be folded to a constant before it reaches the tile IR", onnx.type());
    }
    List<Sig> sigs = operands.stream().map(t -> new Sig(t.dtype(), t.shape())).toList();
    List<Sig> out = onnx.infer(sigs, attrs);
    List<TensorType> r = new ArrayList<>();
    for (Sig s : out) {
      r.add(new TensorType(s.dtype(), s.shape(), layout(operands, attrs, s.shape())));
    }
    return r;
  }

  private Layout layout(List<TensorType> in, Attrs a, Shape out) {
    int rank = out.rank();
    return switch (onnx.layoutRule()) {
      case ELEMENTWISE -> elementwise(in, rank);
      case REDUCE -> reduce(in.get(0).layout(), a);
      case MATMUL -> rank < 2 ? Layout.replicated(rank) : Layout.standard(rank);
      case TRANSPOSE -> transpose(in.get(0).layout(), a.getInts("perm"));
      case RESHAPE -> reshape(in.get(0), out);
      case STANDARD -> Layout.standard(rank);
    };
  }

  /** The axes of the operands aligned from the right; the first operand that splits a dim decides it. */
  static Layout elementwise(List<TensorType> in, int rank) {
    List<Axis> r = new ArrayList<>(Collections.nCopies(rank, Axis.REPLICATED));
    boolean[] decided = new boolean[rank];
    for (TensorType t : in) {
      int off = rank - t.rank();
      for (int i = Math.max(0, -off); i < t.rank(); i++) { // an operand of higher rank (a norm's scale) adds no dims
        Axis a = t.layout().dim(i);
        if (!decided[off + i] && t.shape().dim(i) != 1 && a != Axis.REPLICATED && !r.contains(a)) {
          r.set(off + i, a);
          decided[off + i] = true;
        }
      }
    }
    return new Layout(r);
  }

  private static Layout reduce(Layout in, Attrs a) {
    long[] axes = a.getInts("axes");
    if (axes == null) {
      axes = new long[0];
    }
    boolean keep = a.getInt("keepdims", 1) != 0;
    List<Axis> r = new ArrayList<>();
    for (int i = 0; i < in.rank(); i++) {
      boolean red = false;
      for (long x : axes) {
        red |= x == i;
      }
      if (!red) {
        r.add(in.dim(i));
      } else if (keep) {
        r.add(Axis.REPLICATED); // the all-reduce leaves the result on every PE of that axis
      }
    }
    return new Layout(r);
  }

  private static Layout transpose(Layout in, long[] perm) {
    List<Axis> r = new ArrayList<>();
    for (long p : perm) {
      r.add(in.dim((int) p));
    }
    return new Layout(r);
  }

  /**
   * Groups input and output dims into runs of equal product (how a row-major reshape maps them);
   * within a run, the innermost non-unit output dim takes the innermost split axis of the input run.
   */
  static Layout reshape(TensorType in, Shape out) {
    List<Axis> r = new ArrayList<>(Collections.nCopies(out.rank(), Axis.REPLICATED));
    Shape s = in.shape();
    int i = 0;
    int o = 0;
    while (i < s.rank() || o < out.rank()) {
      int i0 = i;
      int o0 = o;
      long pi = i < s.rank() ? s.dim(i++) : 1;
      long po = o < out.rank() ? out.dim(o++) : 1;
      while (pi != po) {
        if (pi < po && i < s.rank()) {
          pi *= s.dim(i++);
        } else if (o < out.rank()) {
          po *= out.dim(o++);
        } else if (i < s.rank()) {
          pi *= s.dim(i++);
        } else {
          break;
        }
      }
      Axis axis = Axis.REPLICATED;
      for (int k = i - 1; k >= i0; k--) {
        if (s.dim(k) != 1 && in.layout().dim(k) != Axis.REPLICATED) {
          axis = in.layout().dim(k);
          break;
        }
      }
      for (int k = o - 1; k >= o0 && axis != Axis.REPLICATED; k--) {
        if (out.dim(k) != 1) {
          r.set(k, axis);
          break;
        }
      }
    }
    return new Layout(r);
  }

  @Override
  public String toString() {
    return name();
  }
}
