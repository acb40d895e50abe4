package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Reductions and the normalisations built on them: ReduceMean …, Softmax, LayerNormalization. */
final class ReduceOps {
  private ReduceOps() {}

  static List<OnnxOp> all() {
    List<OnnxOp> r = new ArrayList<>();
    r.add(new Reduce("ReduceMean", 18, Kind.MEAN));
    r.add(new Reduce("ReduceSum", 13, Kind.SUM));
    r.add(new Reduce("ReduceMax", 18, Kind.MAX));
    r.add(new Reduce("ReduceMin", 18, Kind.MIN));
    r.add(new Reduce("ReduceProd", 18, Kind.PROD));
    r.add(new Reduce("ReduceSumSquare", 18, Kind.SUM_SQUARE));
    r.add(new Softmax("Softmax", false));
    r.add(new Softmax("LogSoftmax", true));
    r.add(new LayerNormalization());
    return r;
  }

  enum Kind { MEAN, SUM, MAX, MIN, PROD, SUM_SQUARE }

  /**
   * A view of a tensor as [outer, n, inner] around a run of axes [from, to), so reductions over
   * contiguous axes are three loops.
   */
  record Block(int outer, int n, int inner) {
    static Block of(Shape s, int from, int to) {
      long o = 1;
      long n = 1;
      long i = 1;
      for (int d = 0; d < s.rank(); d++) {
        if (d < from) {
          o *= s.dim(d);
        } else if (d < to) {
          n *= s.dim(d);
        } else {
          i *= s.dim(d);
        }
      }
      return new Block((int) o, (int) n, (int) i);
    }
  }

  static final class Reduce extends Base {
    private final int axesInputSince;
    private final Kind kind;

    Reduce(String type, int axesInputSince, Kind kind) {
      super(type, LayoutRule.REDUCE);
      this.axesInputSince = axesInputSince;
      this.kind = kind;
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int rank = sig(in, 0).rank();
      long[] axes = a.getInts("axes");
      if (opset >= axesInputSince) {
        Tensor t = constInput(in, 1, "axes", node);
        axes = t == null ? null : t.toLongArray();
      }
      boolean noop = a.getInt("noop_with_empty_axes", 0) != 0;
      if (axes == null || axes.length == 0) {
        axes = noop ? new long[0] : Base.range(rank).stream().mapToLong(Integer::longValue).toArray();
      }
      return new Normalized(Attrs.builder()
          .put("axes", normalizeAxes(axes, rank, this))
          .put("keepdims", a.getInt("keepdims", 1)).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      Shape s = in.get(0).shape();
      return List.of(new Sig(in.get(0).dtype(), reducedShape(s, axes(a, s.rank()), a.getInt("keepdims", 1) != 0)));
    }

    private long[] axes(Attrs a, int rank) {
      long[] axes = a.getInts("axes");
      return normalizeAxes(axes == null ? new long[0] : axes, rank, this);
    }

    static Shape reducedShape(Shape s, long[] axes, boolean keep) {
      List<Long> d = new ArrayList<>();
      for (int i = 0; i < s.rank(); i++) {
        boolean red = false;
        for (long x : axes) {
          red |= x == i;
        }
        if (!red) {
          d.add(s.dim(i));
        } else if (keep) {
          d.add(1L);
        }
      }
      return Shape.of(d);
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      Shape s = x.shape();
      long[] axes = axes(a, s.rank());
      boolean keep = a.getInt("keepdims", 1) != 0;
      Shape out = reducedShape(s, axes, keep);
      if (axes.length == 0) {
        return List.of(x);
      }
      // Reduce one axis at a time, from the last, each as an [outer, n, inner] block.
      double[] cur = new double[x.size()];
      for (int i = 0; i < cur.length; i++) {
        cur[i] = kind == Kind.SUM_SQUARE ? x.getDouble(i) * x.getDouble(i) : x.getDouble(i);
      }
      long[] dims = s.toArray();
      long count = 1;
      for (int k = axes.length - 1; k >= 0; k--) {
        int ax = (int) axes[k];
        Block b = Block.of(Shape.of(dims), ax, ax + 1);
        double[] next = new double[b.outer() * b.inner()];
        for (int o = 0; o < b.outer(); o++) {
          for (int i = 0; i < b.inner(); i++) {
            double acc = switch (kind) {
              case MAX -> Double.NEGATIVE_INFINITY;
              case MIN -> Double.POSITIVE_INFINITY;
              case PROD -> 1;
              default -> 0;
            };
            for (int j = 0; j < b.n(); j++) {
              double v = cur[(o * b.n() + j) * b.inner() + i];
              acc = switch (kind) {
                case MAX -> Math.max(acc, v);
                case MIN -> Math.min(acc, v);
                case PROD -> acc * v;
                default -> acc + v;
              };
            }
            next[o * b.inner() + i] = acc;
          }
        }
        count *= dims[ax];
        dims[ax] = 1;
        cur = next;
      }
      if (kind == Kind.MEAN) {
        for (int i = 0; i < cur.length; i++) {
          cur[i] /= count;
        }
      }
      if (x.isFloating()) {
        float[] f = new float[cur.length];
        for (int i = 0; i < f.length; i++) {
          f[i] = (float) cur[i];
        }
        return List.of(Tensor.ofFloats(x.dtype(), out, f).rounded());
      }
      long[] l = new long[cur.length];
      for (int i = 0; i < l.length; i++) {
        l[i] = (long) cur[i];
      }
      return List.of(Tensor.ofLongs(x.dtype(), out, l));
    }
  }

  /**
   * Softmax and LogSoftmax. Before opset 13 they flattened the input to 2-D at {@code axis}; that
   * is normalised to {@code axis} plus {@code flatten = 1}, which reduces over all trailing axes.
   */
  static final class Softmax extends Base {
    private final boolean log;

    Softmax(String type, boolean log) {
      super(type, LayoutRule.ELEMENTWISE);
      this.log = log;
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int rank = sig(in, 0).rank();
      int axis = axis(a.getInt("axis", opset < 13 ? 1 : -1), rank);
      Attrs.Builder b = Attrs.builder().put("axis", axis);
      if (opset < 13 && axis != rank - 1) {
        b.put("flatten", 1);
      }
      return new Normalized(b.build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      if (!in.get(0).dtype().isFloating()) {
        throw error("needs a floating-point input");
      }
      axis(a.getInt("axis", -1), in.get(0).rank());
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      int rank = x.shape().rank();
      int axis = axis(a.getInt("axis", -1), rank);
      Block b = Block.of(x.shape(), axis, a.getInt("flatten", 0) != 0 ? rank : axis + 1);
      float[] r = Kernels.softmax(x.floats(), b.outer(), b.n(), b.inner(), log);
      return List.of(Tensor.ofFloats(x.dtype(), x.shape(), r).rounded());
    }
  }

  /** LayerNormalization (opset 17) over axes [axis, rank); only the normalised output. */
  static final class LayerNormalization extends Base {
    LayerNormalization() {
      super("LayerNormalization", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int rank = sig(in, 0).rank();
      Attrs attrs = Attrs.builder()
          .put("axis", axis(a.getInt("axis", -1), rank))
          .put("epsilon", a.getFloat("epsilon", 1e-5f)).build();
      List<Integer> ops = new ArrayList<>(List.of(0, 1));
      if (in.size() > 2 && in.get(2).present()) {
        ops.add(2);
      }
      return new Normalized(attrs, ops);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 3);
      Shape x = in.get(0).shape();
      int axis = axis(a.getInt("axis", -1), x.rank());
      for (Sig p : in.subList(1, in.size())) { // scale and bias broadcast to the normalised dims x[axis:]
        Shape s = p.shape();
        boolean fits = s.rank() <= x.rank() - axis;
        for (int i = 1; fits && i <= s.rank(); i++) {
          fits = s.dim(-i) == 1 || s.dim(-i) == x.dim(-i);
        }
        if (!fits) {
          throw error("scale or bias %s does not broadcast to the normalised dims of %s from axis %d", s, x, axis);
        }
      }
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      int axis = axis(a.getInt("axis", -1), x.shape().rank());
      Block b = Block.of(x.shape(), axis, x.shape().rank());
      Shape norm = Shape.of(java.util.Arrays.copyOfRange(x.shape().toArray(), axis, x.shape().rank()));
      int[] gi = Broadcast.offsets(in.get(1).shape(), norm);
      int[] bi = in.size() > 2 ? Broadcast.offsets(in.get(2).shape(), norm) : null;
      float[] g = in.get(1).floats();
      float[] beta = in.size() > 2 ? in.get(2).floats() : null;
      float[] r = Kernels.layerNorm(x.floats(), b.outer(), b.n(), a.getFloat("epsilon", 1e-5f), true,
          j -> g[gi[j]], beta == null ? null : j -> beta[bi[j]]);
      return List.of(Tensor.ofFloats(x.dtype(), x.shape(), r).rounded());
    }
  }
}
