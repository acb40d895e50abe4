package dev.meshc.ir.onnx;

import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Shape plumbing and data movement: Shape, Reshape, Transpose, Slice, Gather, Concat … After
 * static-shape specialisation most of these fold away; the rest move data without arithmetic.
 */
final class ShapeOps {
  private ShapeOps() {}

  static List<OnnxOp> all() {
    return List.of(new ShapeOf(), new Size(), new Reshape(), new Flatten(), new Squeeze(), new Unsqueeze(),
        new Transpose(), new Concat(), new Slice(), new Split(), new Gather(), new GatherElements(), new GatherND(), new Expand(), new Tile(),
        new Range(), new ConstantOfShape(), new Trilu(), new CumSum());
  }

  // ---- moving elements ----------------------------------------------------------------------

  /** Output element i is {@code src}'s element {@code offsets[i]}. */
  static Tensor pick(Tensor src, int[] offsets, Shape out) {
    if (src.isFloating()) {
      float[] f = src.floats();
      float[] r = new float[offsets.length];
      for (int i = 0; i < r.length; i++) {
        r[i] = f[offsets[i]];
      }
      return Tensor.ofFloats(src.dtype(), out, r);
    }
    long[] l = src.longs();
    long[] r = new long[offsets.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = l[offsets[i]];
    }
    return Tensor.ofLongs(src.dtype(), out, r);
  }

  /**
   * Offsets for an affine view: output index (i_0 … i_r) reads input offset base + Σ i_d·step_d.
   * Transpose, Slice and Tile's inner loops are all this.
   */
  static int[] affine(Shape out, long base, long[] step) {
    int n = out.elementsAsInt();
    int[] r = new int[n];
    int rank = out.rank();
    long[] idx = new long[rank];
    long[] dims = out.toArray();
    long cur = base;
    for (int i = 0; i < n; i++) {
      r[i] = (int) cur;
      for (int d = rank - 1; d >= 0; d--) {
        idx[d]++;
        cur += step[d];
        if (idx[d] < dims[d]) {
          break;
        }
        cur -= step[d] * idx[d];
        idx[d] = 0;
      }
    }
    return r;
  }

  static long[] ints(Attrs a, String name) {
    long[] v = a.getInts(name);
    return v == null ? new long[0] : v;
  }

  static Tensor shapeTensor(long[] d) {
    return Tensor.ofLongs(Shape.of(d.length), d.clone());
  }

  // ---- fold-only ----------------------------------------------------------------------------

  /** Shape (opset 15 adds start/end): the operand's type alone decides the result. */
  static final class ShapeOf extends Base {
    ShapeOf() {
      super("Shape", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long[] d = sig(in, 0).shape().toArray();
      int r = d.length;
      long start = clampIndex(a.getInt("start", 0), r);
      long end = clampIndex(a.getInt("end", r), r);
      long[] v = Arrays.copyOfRange(d, (int) start, (int) Math.max(start, end));
      return new Normalized(Attrs.builder().put("value", v).build(), List.of());
    }

    private static long clampIndex(long i, int r) {
      return Math.max(0, Math.min(r, i < 0 ? i + r : i));
    }

    @Override
    public boolean foldOnly() {
      return true;
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      return List.of(new Sig(DType.I64, Shape.of(ints(a, "value").length)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      return List.of(shapeTensor(ints(a, "value")));
    }
  }

  static final class Size extends Base {
    Size() {
      super("Size", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      return new Normalized(Attrs.builder().put("value", sig(in, 0).shape().elements()).build(), List.of());
    }

    @Override
    public boolean foldOnly() {
      return true;
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      return List.of(new Sig(DType.I64, Shape.SCALAR));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      return List.of(Tensor.ofLongs(Shape.SCALAR, a.requireInt("value")));
    }
  }

  /** Range(start, limit, delta), all constants. */
  static final class Range extends Base {
    Range() {
      super("Range", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Tensor s = constInput(in, 0, "start", node);
      Tensor l = constInput(in, 1, "limit", node);
      Tensor d = constInput(in, 2, "delta", node);
      Attrs.Builder b = Attrs.builder().put("dtype", (long) s.dtype().onnxCode());
      if (s.isFloating()) {
        b.put("start", (float) s.getDouble(0)).put("limit", (float) l.getDouble(0)).put("delta", (float) d.getDouble(0));
      } else {
        b.put("start", s.getLong(0)).put("limit", l.getLong(0)).put("delta", d.getLong(0));
      }
      if (d.getDouble(0) == 0) {
        throw nodeError(node, "delta is zero");
      }
      return new Normalized(b.build(), List.of());
    }

    @Override
    public boolean foldOnly() {
      return true;
    }

    private static long count(Attrs a) {
      double s = a.getFloat("start", 0);
      double l = a.getFloat("limit", 0);
      double d = a.getFloat("delta", 1);
      if (a.get("start").orElseThrow() instanceof Attr.Int) {
        s = a.getInt("start", 0);
        l = a.getInt("limit", 0);
        d = a.getInt("delta", 1);
      }
      return Math.max(0, (long) Math.ceil((l - s) / d));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      return List.of(new Sig(DType.fromOnnx((int) a.requireInt("dtype")), Shape.of(count(a))));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      DType dt = DType.fromOnnx((int) a.requireInt("dtype"));
      int n = (int) count(a);
      if (dt.isFloating()) {
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
          r[i] = a.getFloat("start", 0) + i * a.getFloat("delta", 1);
        }
        return List.of(Tensor.ofFloats(dt, Shape.of(n), r));
      }
      long[] r = new long[n];
      for (int i = 0; i < n; i++) {
        r[i] = a.getInt("start", 0) + i * a.getInt("delta", 1);
      }
      return List.of(Tensor.ofLongs(dt, Shape.of(n), r));
    }
  }

  /** ConstantOfShape(shape) filled with the {@code value} tensor attribute (default fp32 zero). */
  static final class ConstantOfShape extends Base {
    ConstantOfShape() {
      super("ConstantOfShape", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Tensor shape = constInput(in, 0, "shape", node);
      Attrs.Builder b = Attrs.builder().put("shape", shape.toLongArray());
      b.put("value", a.get("value").orElse(new Attr.TensorValue(Tensor.scalar(DType.F32, 0))));
      return new Normalized(b.build(), List.of());
    }

    @Override
    public boolean foldOnly() {
      return true;
    }

    private static Tensor value(Attrs a) {
      return ((Attr.TensorValue) a.get("value").orElseThrow()).value();
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      return List.of(new Sig(value(a).dtype(), Shape.of(ints(a, "shape"))));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor v = value(a);
      return List.of(Tensor.filled(v.dtype(), Shape.of(ints(a, "shape")), v.getDouble(0)));
    }
  }

  // ---- reshapes -----------------------------------------------------------------------------

  /** Operations that only reinterpret the shape; the normal form carries the result shape. */
  abstract static class Reinterpret extends Base {
    Reinterpret(String type) {
      super(type, LayoutRule.RESHAPE);
    }

    abstract long[] resultShape(Shape in, Attrs a);

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      Shape out = Shape.of(resultShape(in.get(0).shape(), a));
      if (out.elements() != in.get(0).shape().elements()) {
        throw error("cannot reshape %s to %s", in.get(0).shape(), out);
      }
      return List.of(new Sig(in.get(0).dtype(), out));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      return List.of(in.get(0).reshape(Shape.of(resultShape(in.get(0).shape(), a))));
    }
  }

  /** Reshape; the target shape (with 0 and -1 resolved) becomes the {@code shape} attribute. */
  static final class Reshape extends Reinterpret {
    Reshape() {
      super("Reshape");
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long[] target = constInput(in, 1, "shape", node).toLongArray();
      Shape src = sig(in, 0).shape();
      boolean allowZero = a.getInt("allowzero", 0) != 0;
      long known = 1;
      int infer = -1;
      long[] r = target.clone();
      for (int i = 0; i < r.length; i++) {
        if (r[i] == 0 && !allowZero) {
          if (i >= src.rank()) {
            throw nodeError(node, "shape %s copies dimension %d of a rank-%d input", Arrays.toString(target), i, src.rank());
          }
          r[i] = src.dim(i);
        }
        if (r[i] == -1) {
          if (infer >= 0) {
            throw nodeError(node, "shape %s has two -1 entries", Arrays.toString(target));
          }
          infer = i;
        } else if (r[i] < 0) {
          throw nodeError(node, "shape %s has a negative entry", Arrays.toString(target));
        } else {
          known = Math.multiplyExact(known, r[i]);
        }
      }
      long total = src.elements();
      if (infer >= 0) {
        if (known == 0 || total % known != 0) {
          throw nodeError(node, "cannot reshape %s to %s", src, Arrays.toString(target));
        }
        r[infer] = total / known;
      } else if (known != total) {
        throw nodeError(node, "cannot reshape %s (%d elements) to %s", src, total, Arrays.toString(target));
      }
      return new Normalized(Attrs.builder().put("shape", r).build(), List.of(0));
    }

    @Override
    long[] resultShape(Shape in, Attrs a) {
      return ints(a, "shape");
    }
  }

  static final class Flatten extends Reinterpret {
    Flatten() {
      super("Flatten");
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int r = sig(in, 0).rank();
      long axis = a.getInt("axis", 1);
      axis = axis < 0 ? axis + r : axis;
      if (axis < 0 || axis > r) {
        throw nodeError(node, "axis %d out of range for rank %d", a.getInt("axis", 1), r);
      }
      return new Normalized(Attrs.builder().put("axis", axis).build(), List.of(0));
    }

    @Override
    long[] resultShape(Shape in, Attrs a) {
      int axis = (int) a.getInt("axis", 1);
      long outer = 1;
      long inner = 1;
      for (int i = 0; i < in.rank(); i++) {
        if (i < axis) {
          outer *= in.dim(i);
        } else {
          inner *= in.dim(i);
        }
      }
      return new long[] {outer, inner};
    }
  }

  /** Squeeze; axes (attribute before opset 13, input after) resolved, all unit dims when absent. */
  static final class Squeeze extends Reinterpret {
    Squeeze() {
      super("Squeeze");
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Shape s = sig(in, 0).shape();
      long[] axes = opset >= 13 ? opt(constInput(in, 1, "axes", node)) : a.getInts("axes");
      if (axes == null) {
        List<Long> ones = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) {
          if (s.dim(i) == 1) {
            ones.add((long) i);
          }
        }
        axes = ones.stream().mapToLong(Long::longValue).toArray();
      }
      axes = normalizeAxes(axes, s.rank(), this);
      for (long x : axes) {
        if (s.dim((int) x) != 1) {
          throw nodeError(node, "cannot squeeze axis %d of %s: it is not 1", x, s);
        }
      }
      return new Normalized(Attrs.builder().put("axes", axes).build(), List.of(0));
    }

    @Override
    long[] resultShape(Shape in, Attrs a) {
      long[] axes = ints(a, "axes");
      List<Long> d = new ArrayList<>();
      for (int i = 0; i < in.rank(); i++) {
        final int k = i;
        if (Arrays.stream(axes).noneMatch(x -> x == k)) {
          d.add(in.dim(i));
        }
      }
      return d.stream().mapToLong(Long::longValue).toArray();
    }
  }

  /** Unsqueeze; axes resolved against the result rank. */
  static final class Unsqueeze extends Reinterpret {
    Unsqueeze() {
      super("Unsqueeze");
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long[] axes = opset >= 13 ? opt(constInput(in, 1, "axes", node)) : a.getInts("axes");
      if (axes == null) {
        throw nodeError(node, "axes are missing");
      }
      int outRank = sig(in, 0).rank() + axes.length;
      return new Normalized(Attrs.builder().put("axes", normalizeAxes(axes, outRank, this)).build(), List.of(0));
    }

    @Override
    long[] resultShape(Shape in, Attrs a) {
      long[] axes = ints(a, "axes");
      long[] d = new long[in.rank() + axes.length];
      int j = 0;
      for (int i = 0; i < d.length; i++) {
        final int k = i;
        d[i] = Arrays.stream(axes).anyMatch(x -> x == k) ? 1 : in.dim(j++);
      }
      return d;
    }
  }

  static long[] opt(Tensor t) {
    return t == null ? null : t.toLongArray();
  }

  // ---- data movement ------------------------------------------------------------------------

  static final class Transpose extends Base {
    Transpose() {
      super("Transpose", LayoutRule.TRANSPOSE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int r = sig(in, 0).rank();
      long[] perm = a.getInts("perm");
      if (perm == null) {
        perm = new long[r];
        for (int i = 0; i < r; i++) {
          perm[i] = r - 1 - i;
        }
      }
      if (perm.length != r) {
        throw nodeError(node, "perm %s does not match rank %d", Arrays.toString(perm), r);
      }
      long[] sorted = normalizeAxes(perm, r, this); // checks range and repeats
      if (sorted.length != r) {
        throw nodeError(node, "perm %s is not a permutation", Arrays.toString(perm));
      }
      return new Normalized(Attrs.builder().put("perm", perm).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      long[] perm = ints(a, "perm");
      Shape s = in.get(0).shape();
      if (perm.length != s.rank() || normalizeAxes(perm, s.rank(), this).length != s.rank()) {
        throw error("perm %s is not a permutation of rank %d", Arrays.toString(perm), s.rank());
      }
      long[] d = new long[perm.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = s.dim((int) perm[i]);
      }
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      long[] perm = ints(a, "perm");
      long[] strides = x.shape().strides();
      long[] d = new long[perm.length];
      long[] step = new long[perm.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = x.shape().dim((int) perm[i]);
        step[i] = strides[(int) perm[i]];
      }
      Shape out = Shape.of(d);
      return List.of(pick(x, affine(out, 0, step), out));
    }
  }

  static final class Concat extends Base {
    Concat() {
      super("Concat", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      int r = sig(in, 0).rank();
      return new Normalized(Attrs.builder().put("axis", axis(a.requireInt("axis"), r)).build(), range(in.size()));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, Integer.MAX_VALUE);
      Shape s0 = in.get(0).shape();
      int ax = axis(a.requireInt("axis"), s0.rank());
      long total = 0;
      for (Sig s : in) {
        if (s.rank() != s0.rank() || s.dtype() != in.get(0).dtype()) {
          throw error("operands %s do not concatenate", in);
        }
        for (int d = 0; d < s0.rank(); d++) {
          if (d != ax && s.shape().dim(d) != s0.dim(d)) {
            throw error("operands %s do not concatenate along axis %d", in, ax);
          }
        }
        total += s.shape().dim(ax);
      }
      long[] d = s0.toArray();
      d[ax] = total;
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Shape out = infer(in.stream().map(t -> new Sig(t.dtype(), t.shape())).toList(), a).get(0).shape();
      int ax = (int) a.requireInt("axis");
      ReduceOps.Block b = ReduceOps.Block.of(out, ax, ax + 1);
      int n = out.elementsAsInt();
      boolean fl = in.get(0).isFloating();
      float[] f = fl ? new float[n] : null;
      long[] l = fl ? null : new long[n];
      int rowOut = b.n() * b.inner();
      int pos = 0;
      for (Tensor t : in) {
        int rowIn = (int) t.shape().dim(ax) * b.inner();
        for (int o = 0; o < b.outer(); o++) {
          if (fl) {
            System.arraycopy(t.floats(), o * rowIn, f, o * rowOut + pos, rowIn);
          } else {
            System.arraycopy(t.longs(), o * rowIn, l, o * rowOut + pos, rowIn);
          }
        }
        pos += rowIn;
      }
      return List.of(fl ? Tensor.ofFloats(in.get(0).dtype(), out, f) : Tensor.ofLongs(in.get(0).dtype(), out, l));
    }
  }

  /**
   * Slice; normal form has one entry per sliced axis, clamped: {@code starts} and {@code steps},
   * and {@code sizes} (the result length along that axis), so evaluation never re-clamps.
   */
  static final class Slice extends Base {
    Slice() {
      super("Slice", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Shape s = sig(in, 0).shape();
      long[] starts;
      long[] ends;
      long[] axes;
      long[] steps = null;
      if (opset < 10) {
        starts = a.getInts("starts");
        ends = a.getInts("ends");
        axes = a.getInts("axes");
      } else {
        starts = constInput(in, 1, "starts", node).toLongArray();
        ends = constInput(in, 2, "ends", node).toLongArray();
        axes = opt(constInput(in, 3, "axes", node));
        steps = opt(constInput(in, 4, "steps", node));
      }
      if (starts == null || ends == null || starts.length != ends.length) {
        throw nodeError(node, "starts and ends must be given with equal lengths");
      }
      if (axes == null) {
        axes = new long[starts.length];
        for (int i = 0; i < axes.length; i++) {
          axes[i] = i;
        }
      }
      if (steps == null) {
        steps = new long[starts.length];
        Arrays.fill(steps, 1);
      }
      if (axes.length != starts.length || steps.length != starts.length) {
        throw nodeError(node, "starts, ends, axes and steps differ in length");
      }
      long[] ax = new long[axes.length];
      long[] st = new long[axes.length];
      long[] sz = new long[axes.length];
      for (int i = 0; i < axes.length; i++) {
        ax[i] = axis(axes[i], s.rank());
        long dim = s.dim((int) ax[i]);
        long step = steps[i];
        if (step == 0) {
          throw nodeError(node, "step is zero");
        }
        long b = starts[i] < 0 ? starts[i] + dim : starts[i];
        long e = ends[i] < 0 ? ends[i] + dim : ends[i];
        long size;
        if (step > 0) {
          b = Math.max(0, Math.min(dim, b));
          e = Math.max(0, Math.min(dim, e));
          size = e > b ? (e - b + step - 1) / step : 0;
        } else {
          b = Math.max(-1, Math.min(dim - 1, b));
          e = Math.max(-1, Math.min(dim - 1, e));
          size = b > e ? (b - e + (-step) - 1) / (-step) : 0;
        }
        st[i] = size == 0 ? 0 : b;
        sz[i] = size;
      }
      return new Normalized(Attrs.builder().put("axes", ax).put("starts", st).put("steps", steps).put("sizes", sz)
          .build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      long[] d = in.get(0).shape().toArray();
      long[] ax = ints(a, "axes");
      long[] st = ints(a, "starts");
      long[] sp = ints(a, "steps");
      long[] sz = ints(a, "sizes");
      if (st.length != ax.length || sp.length != ax.length || sz.length != ax.length) {
        throw error("axes, starts, steps and sizes differ in length");
      }
      for (int i = 0; i < ax.length; i++) {
        int k = axis(ax[i], d.length);
        long last = st[i] + (sz[i] - 1) * sp[i];
        if (sz[i] < 0 || (sz[i] > 0 && (st[i] < 0 || st[i] >= d[k] || last < 0 || last >= d[k]))) {
          throw error("slice of %d from %d by %d leaves dimension %d (%d)", sz[i], st[i], sp[i], k, d[k]);
        }
        d[k] = sz[i];
      }
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      Shape out = infer(List.of(new Sig(x.dtype(), x.shape())), a).get(0).shape();
      long[] strides = x.shape().strides();
      long[] step = strides.clone();
      long base = 0;
      long[] ax = ints(a, "axes");
      long[] st = ints(a, "starts");
      long[] sp = ints(a, "steps");
      for (int i = 0; i < ax.length; i++) {
        int d = (int) ax[i];
        base += st[i] * strides[d];
        step[d] = sp[i] * strides[d];
      }
      return List.of(pick(x, affine(out, base, step), out));
    }
  }

  /** Split; the normal form lists every piece's length in {@code split}. */
  static final class Split extends Base {
    Split() {
      super("Split", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Shape s = sig(in, 0).shape();
      int ax = axis(a.getInt("axis", 0), s.rank());
      long[] split = opset >= 13 ? opt(constInput(in, 1, "split", node)) : a.getInts("split");
      long dim = s.dim(ax);
      if (split == null) {
        long parts = a.getInt("num_outputs", outputs);
        if (parts <= 0) {
          throw nodeError(node, "no outputs to split into");
        }
        long piece = (dim + parts - 1) / parts; // opset 18: the last piece may be smaller
        split = new long[(int) parts];
        for (int i = 0; i < parts; i++) {
          split[i] = Math.max(0, Math.min(piece, dim - i * piece));
        }
      }
      if (Arrays.stream(split).sum() != dim || split.length != outputs) {
        throw nodeError(node, "split %s does not cover dimension %d of %s in %d outputs", Arrays.toString(split), ax, s,
            outputs);
      }
      return new Normalized(Attrs.builder().put("axis", ax).put("split", split).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      int ax = axis(a.requireInt("axis"), in.get(0).rank());
      long[] split = ints(a, "split");
      if (Arrays.stream(split).anyMatch(x -> x < 0) || Arrays.stream(split).sum() != in.get(0).shape().dim(ax)) {
        throw error("split %s does not cover dimension %d of %s", Arrays.toString(split), ax, in.get(0).shape());
      }
      List<Sig> r = new ArrayList<>();
      for (long len : split) {
        long[] d = in.get(0).shape().toArray();
        d[ax] = len;
        r.add(new Sig(in.get(0).dtype(), Shape.of(d)));
      }
      return r;
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      int ax = (int) a.requireInt("axis");
      List<Tensor> r = new ArrayList<>();
      long start = 0;
      Slice slice = new Slice();
      for (long len : ints(a, "split")) {
        Attrs s = Attrs.builder().put("axes", new long[] {ax}).put("starts", new long[] {start})
            .put("steps", new long[] {1}).put("sizes", new long[] {len}).build();
        r.add(slice.eval(List.of(x), s).get(0));
        start += len;
      }
      return r;
    }
  }

  /** Gather along {@code axis}; indices are an operand (they may come from the model's input). */
  static final class Gather extends Base {
    Gather() {
      super("Gather", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      return new Normalized(Attrs.builder().put("axis", axis(a.getInt("axis", 0), sig(in, 0).rank())).build(),
          List.of(0, 1));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 2);
      if (in.get(1).dtype().isFloating()) {
        throw error("indices must be integers");
      }
      Shape data = in.get(0).shape();
      int ax = axis(a.getInt("axis", 0), data.rank());
      List<Long> d = new ArrayList<>();
      for (int i = 0; i < ax; i++) {
        d.add(data.dim(i));
      }
      d.addAll(in.get(1).shape().toList());
      for (int i = ax + 1; i < data.rank(); i++) {
        d.add(data.dim(i));
      }
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor data = in.get(0);
      Tensor idx = in.get(1);
      int ax = (int) a.getInt("axis", 0);
      Shape out = infer(List.of(new Sig(data.dtype(), data.shape()), new Sig(idx.dtype(), idx.shape())), a)
          .get(0).shape();
      ReduceOps.Block b = ReduceOps.Block.of(data.shape(), ax, ax + 1);
      int ni = idx.size();
      int[] off = new int[out.elementsAsInt()];
      int p = 0;
      for (int o = 0; o < b.outer(); o++) {
        for (int j = 0; j < ni; j++) {
          long k = idx.getLong(j);
          if (k < 0) {
            k += b.n();
          }
          if (k < 0 || k >= b.n()) {
            throw error("index %d out of range [0, %d)", idx.getLong(j), b.n());
          }
          for (int i = 0; i < b.inner(); i++) {
            off[p++] = (int) ((o * (long) b.n() + k) * b.inner() + i);
          }
        }
      }
      return List.of(pick(data, off, out));
    }
  }

  /**
   * GatherND: each index tuple (the last axis of {@code indices}) picks a slice of {@code data};
   * exporters use it on constants for mask plumbing, which folds.
   */
  /**
   * GatherElements (opset 11+): out[i…] = data[i… with axis replaced by indices[i…]]; the indices
   * have data's rank, and the result their shape.
   */
  static final class GatherElements extends Base {
    GatherElements() {
      super("GatherElements", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      return new Normalized(Attrs.builder().put("axis", a.getInt("axis", 0)).build(), List.of(0, 1));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 2);
      Shape data = in.get(0).shape();
      Shape idx = in.get(1).shape();
      if (in.get(1).dtype().isFloating() || idx.rank() != data.rank() || data.rank() == 0) {
        throw error("indices %s must be integers of the rank of data %s", in.get(1), in.get(0));
      }
      axis(a, data.rank());
      return List.of(new Sig(in.get(0).dtype(), idx));
    }

    private int axis(Attrs a, int rank) {
      long ax = a.getInt("axis", 0);
      if (ax < -rank || ax >= rank) {
        throw error("axis %d out of range for rank %d", ax, rank);
      }
      return (int) (ax < 0 ? ax + rank : ax);
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor data = in.get(0);
      Tensor idx = in.get(1);
      infer(List.of(new Sig(data.dtype(), data.shape()), new Sig(idx.dtype(), idx.shape())), a);
      int axis = axis(a, data.shape().rank());
      long[] ds = data.shape().strides();
      long[] is = idx.shape().strides();
      long dim = data.shape().dim(axis);
      int[] off = new int[idx.size()];
      for (int e = 0; e < off.length; e++) {
        long rest = e;
        long at = 0;
        for (int j = 0; j < is.length; j++) {
          long c = rest / is[j];
          rest %= is[j];
          if (j == axis) {
            c = idx.getLong(e);
            if (c < 0) {
              c += dim;
            }
            if (c < 0 || c >= dim) {
              throw error("index %d out of range [0, %d)", idx.getLong(e), dim);
            }
          } else if (c >= data.shape().dim(j)) {
            throw error("indices %s exceed data %s off the axis", idx.shape(), data.shape());
          }
          at += c * ds[j];
        }
        off[e] = (int) at;
      }
      return List.of(pick(data, off, idx.shape()));
    }
  }

  static final class GatherND extends Base {
    GatherND() {
      super("GatherND", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      if (a.getInt("batch_dims", 0) != 0) {
        throw nodeError(node, "batch_dims %d is not supported", a.getInt("batch_dims", 0));
      }
      return new Normalized(Attrs.EMPTY, List.of(0, 1));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 2);
      Shape data = in.get(0).shape();
      Shape idx = in.get(1).shape();
      if (idx.rank() < 1 || in.get(1).dtype().isFloating() || idx.dim(-1) > data.rank()) {
        throw error("indices %s do not index data %s", in.get(1), in.get(0));
      }
      List<Long> d = new ArrayList<>(idx.toList().subList(0, idx.rank() - 1));
      for (int i = (int) idx.dim(-1); i < data.rank(); i++) {
        d.add(data.dim(i));
      }
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor data = in.get(0);
      Tensor idx = in.get(1);
      Shape out = infer(List.of(new Sig(data.dtype(), data.shape()), new Sig(idx.dtype(), idx.shape())), a)
          .get(0).shape();
      int k = (int) idx.shape().dim(-1);
      long[] strides = data.shape().strides();
      long slice = k == 0 ? data.size() : strides[k - 1];
      int tuples = k == 0 ? idx.size() : idx.size() / k;
      int[] off = new int[out.elementsAsInt()];
      int p = 0;
      for (int t = 0; t < tuples; t++) {
        long base = 0;
        for (int j = 0; j < k; j++) {
          long i = idx.getLong(t * k + j);
          long dim = data.shape().dim(j);
          if (i < 0) {
            i += dim;
          }
          if (i < 0 || i >= dim) {
            throw error("index %d out of range [0, %d)", idx.getLong(t * k + j), dim);
          }
          base += i * strides[j];
        }
        for (long e = 0; e < slice; e++) {
          off[p++] = (int) (base + e);
        }
      }
      return List.of(pick(data, off, out));
    }
  }

  /** Expand to a constant shape; the normal form carries the broadcast result shape. */
  static final class Expand extends Base {
    Expand() {
      super("Expand", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long[] target = constInput(in, 1, "shape", node).toLongArray();
      Shape out = Broadcast.shape("Expand node '" + node + "'", List.of(sig(in, 0).shape(), Shape.of(target)));
      return new Normalized(Attrs.builder().put("shape", out.toArray()).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      Shape out = Shape.of(ints(a, "shape"));
      if (!Broadcast.shape("Expand", List.of(in.get(0).shape(), out)).equals(out)) {
        throw error("%s does not expand to %s", in.get(0).shape(), out);
      }
      return List.of(new Sig(in.get(0).dtype(), out));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Shape out = Shape.of(ints(a, "shape"));
      return List.of(pick(in.get(0), Broadcast.offsets(in.get(0).shape(), out), out));
    }
  }

  static final class Tile extends Base {
    Tile() {
      super("Tile", LayoutRule.STANDARD);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long[] rep = constInput(in, 1, "repeats", node).toLongArray();
      if (rep.length != sig(in, 0).rank()) {
        throw nodeError(node, "repeats %s do not match rank %d", Arrays.toString(rep), sig(in, 0).rank());
      }
      return new Normalized(Attrs.builder().put("repeats", rep).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      long[] d = in.get(0).shape().toArray();
      long[] rep = ints(a, "repeats");
      for (int i = 0; i < d.length; i++) {
        d[i] = Math.multiplyExact(d[i], rep[i]);
      }
      return List.of(new Sig(in.get(0).dtype(), Shape.of(d)));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      Shape out = infer(List.of(new Sig(x.dtype(), x.shape())), a).get(0).shape();
      int n = out.elementsAsInt();
      int[] off = new int[n];
      long[] strides = x.shape().strides();
      long[] ostr = out.strides();
      for (int i = 0; i < n; i++) {
        long rem = i;
        long o = 0;
        for (int d = 0; d < out.rank(); d++) {
          long id = rem / ostr[d];
          rem %= ostr[d];
          o += (id % x.shape().dim(d)) * strides[d];
        }
        off[i] = (int) o;
      }
      return List.of(pick(x, off, out));
    }
  }

  /** Trilu: keep the upper (or lower) triangle of the last two axes, offset by k. */
  static final class Trilu extends Base {
    Trilu() {
      super("Trilu", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Tensor k = constInput(in, 1, "k", node);
      return new Normalized(Attrs.builder().put("upper", a.getInt("upper", 1)).put("k", k == null ? 0 : k.getLong(0))
          .build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      if (in.get(0).rank() < 2) {
        throw error("needs rank >= 2");
      }
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      long rows = x.shape().dim(-2);
      long cols = x.shape().dim(-1);
      boolean upper = a.getInt("upper", 1) != 0;
      long k = a.getInt("k", 0);
      int n = x.size();
      float[] f = x.isFloating() ? x.floats().clone() : null;
      long[] l = x.isFloating() ? null : x.longs().clone();
      for (int i = 0; i < n; i++) {
        long c = i % cols;
        long r = (i / cols) % rows;
        boolean keep = upper ? c - r >= k : c - r <= k;
        if (!keep) {
          if (f != null) {
            f[i] = 0;
          } else {
            l[i] = 0;
          }
        }
      }
      return List.of(f != null ? Tensor.ofFloats(x.dtype(), x.shape(), f) : Tensor.ofLongs(x.dtype(), x.shape(), l));
    }
  }

  /** CumSum along a constant axis; exclusive and reverse as ONNX defines them. */
  static final class CumSum extends Base {
    CumSum() {
      super("CumSum", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      long axis = constInput(in, 1, "axis", node).getLong(0);
      return new Normalized(Attrs.builder().put("axis", axis(axis, sig(in, 0).rank()))
          .put("exclusive", a.getInt("exclusive", 0)).put("reverse", a.getInt("reverse", 0)).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor x = in.get(0);
      int ax = (int) a.requireInt("axis");
      boolean excl = a.getInt("exclusive", 0) != 0;
      boolean rev = a.getInt("reverse", 0) != 0;
      ReduceOps.Block b = ReduceOps.Block.of(x.shape(), ax, ax + 1);
      double[] r = new double[x.size()];
      for (int o = 0; o < b.outer(); o++) {
        for (int i = 0; i < b.inner(); i++) {
          double acc = 0;
          for (int jj = 0; jj < b.n(); jj++) {
            int j = rev ? b.n() - 1 - jj : jj;
            int p = (o * b.n() + j) * b.inner() + i;
            double v = x.getDouble(p);
            if (excl) {
              r[p] = acc;
              acc += v;
            } else {
              acc += v;
              r[p] = acc;
            }
          }
        }
      }
      if (x.isFloating()) {
        float[] f = new float[r.length];
        for (int i = 0; i < f.length; i++) {
          f[i] = (float) r[i];
        }
        return List.of(Tensor.ofFloats(x.dtype(), x.shape(), f));
      }
      long[] l = new long[r.length];
      for (int i = 0; i < l.length; i++) {
        l[i] = (long) r[i];
      }
      return List.of(Tensor.ofLongs(x.dtype(), x.shape(), l));
    }
  }
}
