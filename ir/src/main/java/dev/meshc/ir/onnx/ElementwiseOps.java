package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongUnaryOperator;

/** Element-wise operators: unary math, broadcasting arithmetic and comparisons, Where, Cast, Clip. */
final class ElementwiseOps {
  private ElementwiseOps() {}

  interface DoubleBinary {
    double apply(double a, double b);
  }

  interface LongBinary {
    long apply(long a, long b);
  }

  static List<OnnxOp> all() {
    List<OnnxOp> r = new ArrayList<>();
    r.add(unary("Neg", x -> -x, x -> -x));
    r.add(unary("Abs", Math::abs, Math::abs));
    r.add(unary("Sign", Math::signum, Long::signum));
    r.add(unary("Sqrt", Math::sqrt, null));
    r.add(unary("Reciprocal", x -> 1 / x, null));
    r.add(unary("Exp", Math::exp, null));
    r.add(unary("Log", Math::log, null));
    r.add(unary("Erf", MathFns::erf, null));
    r.add(unary("Tanh", Math::tanh, null));
    r.add(unary("Sigmoid", MathFns::sigmoid, null));
    r.add(unary("Relu", MathFns::relu, x -> Math.max(x, 0)));
    r.add(unary("Cos", Math::cos, null));
    r.add(unary("Sin", Math::sin, null));
    r.add(unary("Floor", Math::floor, null));
    r.add(unary("Ceil", Math::ceil, null));
    r.add(unary("Round", Math::rint, null));
    r.add(unary("Softplus", x -> Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0), null));
    r.add(new Gelu());
    r.add(predicate("IsNaN", Double::isNaN));
    r.add(new Not());
    r.add(new IsInf());
    r.add(identity("Identity"));
    r.add(new Dropout());
    r.add(binary("Add", (a, b) -> a + b, (a, b) -> a + b));
    r.add(binary("Sub", (a, b) -> a - b, (a, b) -> a - b));
    r.add(binary("Mul", (a, b) -> a * b, (a, b) -> a * b));
    r.add(binary("Div", (a, b) -> a / b, (a, b) -> b == 0 ? 0 : a / b));
    r.add(binary("Pow", Math::pow, (a, b) -> (long) Math.pow(a, b)));
    r.add(variadic("Max", Math::max, Math::max));
    r.add(variadic("Min", Math::min, Math::min));
    r.add(variadic("Sum", (a, b) -> a + b, (a, b) -> a + b));
    r.add(compare("Equal", (a, b) -> a == b ? 1 : 0));
    r.add(compare("Less", (a, b) -> a < b ? 1 : 0));
    r.add(compare("LessOrEqual", (a, b) -> a <= b ? 1 : 0));
    r.add(compare("Greater", (a, b) -> a > b ? 1 : 0));
    r.add(compare("GreaterOrEqual", (a, b) -> a >= b ? 1 : 0));
    r.add(logical("And", (a, b) -> a & b));
    r.add(logical("Or", (a, b) -> a | b));
    r.add(logical("Xor", (a, b) -> a ^ b));
    r.add(new Where());
    r.add(new Cast());
    r.add(new Clip());
    return r;
  }

  // ---- shared evaluation --------------------------------------------------------------------

  static Tensor map(Tensor x, DType out, DoubleUnaryOperator f, LongUnaryOperator g) {
    int n = x.size();
    if (out.isFloating()) {
      float[] r = new float[n];
      for (int i = 0; i < n; i++) {
        r[i] = (float) f.applyAsDouble(x.getDouble(i));
      }
      return Tensor.ofFloats(out, x.shape(), r);
    }
    long[] r = new long[n];
    for (int i = 0; i < n; i++) {
      r[i] = g != null ? g.applyAsLong(x.getLong(i)) : (long) f.applyAsDouble(x.getDouble(i));
    }
    return Tensor.ofLongs(out, x.shape(), r);
  }

  static Tensor zip(String op, Tensor a, Tensor b, DType out, DoubleBinary f, LongBinary g) {
    Shape s = Broadcast.shape(op, List.of(a.shape(), b.shape()));
    int[] ia = Broadcast.offsets(a.shape(), s);
    int[] ib = Broadcast.offsets(b.shape(), s);
    int n = ia.length;
    if (out.isFloating()) {
      float[] r = new float[n];
      float[] fa = a.isFloating() ? a.floats() : a.toFloatArray();
      float[] fb = b.isFloating() ? b.floats() : b.toFloatArray();
      for (int i = 0; i < n; i++) {
        r[i] = (float) f.apply(fa[ia[i]], fb[ib[i]]);
      }
      return Tensor.ofFloats(out, s, r);
    }
    long[] r = new long[n];
    boolean floatIn = a.isFloating() || b.isFloating();
    for (int i = 0; i < n; i++) {
      r[i] = floatIn || g == null
          ? (long) f.apply(a.getDouble(ia[i]), b.getDouble(ib[i]))
          : g.apply(a.getLong(ia[i]), b.getLong(ib[i]));
    }
    return Tensor.ofLongs(out, s, r);
  }

  // ---- families -----------------------------------------------------------------------------

  static OnnxOp unary(String type, DoubleUnaryOperator f, LongUnaryOperator g) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 1, 1);
        if (g == null && !in.get(0).dtype().isFloating()) {
          throw error("needs a floating-point input, got %s", in.get(0).dtype().irName());
        }
        return List.of(in.get(0));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        return List.of(map(in.get(0), in.get(0).dtype(), f, g).rounded());
      }
    };
  }

  static OnnxOp predicate(String type, java.util.function.DoublePredicate p) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 1, 1);
        return List.of(new Sig(DType.BOOL, in.get(0).shape()));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        return List.of(map(in.get(0), DType.BOOL, x -> p.test(x) ? 1 : 0, null));
      }
    };
  }

  static OnnxOp identity(String type) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 1, 1);
        return List.of(in.get(0));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        return List.of(in.get(0));
      }
    };
  }

  static OnnxOp binary(String type, DoubleBinary f, LongBinary g) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 2, 2);
        if (!type.equals("Pow") && in.get(0).dtype() != in.get(1).dtype()) {
          throw error("operand types differ: %s and %s", in.get(0).dtype().irName(), in.get(1).dtype().irName());
        }
        return List.of(new Sig(in.get(0).dtype(),
            Broadcast.shape(type, List.of(in.get(0).shape(), in.get(1).shape()))));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        return List.of(zip(type, in.get(0), in.get(1), in.get(0).dtype(), f, g).rounded());
      }
    };
  }

  static OnnxOp variadic(String type, DoubleBinary f, LongBinary g) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 1, Integer.MAX_VALUE);
        List<Shape> shapes = new ArrayList<>();
        for (Sig s : in) {
          if (s.dtype() != in.get(0).dtype()) {
            throw error("operand types differ");
          }
          shapes.add(s.shape());
        }
        return List.of(new Sig(in.get(0).dtype(), Broadcast.shape(type, shapes)));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        Tensor acc = in.get(0);
        for (int i = 1; i < in.size(); i++) {
          acc = zip(type, acc, in.get(i), acc.dtype(), f, g);
        }
        return List.of(acc.rounded());
      }
    };
  }

  static OnnxOp compare(String type, DoubleBinary f) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 2, 2);
        return List.of(new Sig(DType.BOOL,
            Broadcast.shape(type, List.of(in.get(0).shape(), in.get(1).shape()))));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        Tensor x = in.get(0);
        Tensor y = in.get(1);
        if (!x.isFloating() && !y.isFloating()) {
          // compare as longs: doubles would merge large int64 values
          return List.of(zip(type, x, y, DType.BOOL, f, (p, q) -> (long) f.apply(Long.compare(p, q), 0)));
        }
        return List.of(zip(type, x, y, DType.BOOL, f, null));
      }
    };
  }

  static OnnxOp logical(String type, LongBinary g) {
    return new Base(type, LayoutRule.ELEMENTWISE) {
      @Override
      public List<Sig> infer(List<Sig> in, Attrs a) {
        arity(in, 2, 2);
        return List.of(new Sig(DType.BOOL,
            Broadcast.shape(type, List.of(in.get(0).shape(), in.get(1).shape()))));
      }

      @Override
      public List<Tensor> eval(List<Tensor> in, Attrs a) {
        return List.of(zip(type, in.get(0), in.get(1), DType.BOOL,
            (p, q) -> g.apply(p != 0 ? 1 : 0, q != 0 ? 1 : 0), (p, q) -> g.apply(p != 0 ? 1 : 0, q != 0 ? 1 : 0)));
      }
    };
  }

  // ---- singletons -------------------------------------------------------------------------

  static final class Not extends Base {
    Not() {
      super("Not", LayoutRule.ELEMENTWISE);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(new Sig(DType.BOOL, in.get(0).shape()));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      return List.of(map(in.get(0), DType.BOOL, x -> x != 0 ? 0 : 1, x -> x != 0 ? 0 : 1));
    }
  }

  static final class IsInf extends Base {
    IsInf() {
      super("IsInf", LayoutRule.ELEMENTWISE);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(new Sig(DType.BOOL, in.get(0).shape()));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      boolean pos = a.getInt("detect_positive", 1) != 0;
      boolean neg = a.getInt("detect_negative", 1) != 0;
      return List.of(map(in.get(0), DType.BOOL,
          x -> (x == Double.POSITIVE_INFINITY && pos) || (x == Double.NEGATIVE_INFINITY && neg) ? 1 : 0, null));
    }
  }

  /** Inference-mode Dropout is the identity; its optional mask output is not supported. */
  static final class Dropout extends Base {
    Dropout() {
      super("Dropout", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Tensor training = constInput(in, 2, "training_mode", node);
      if (training != null && training.getLong(0) != 0) {
        throw nodeError(node, "training_mode is set; meshc compiles inference graphs only");
      }
      return new Normalized(Attrs.EMPTY, List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      return List.of(in.get(0));
    }
  }

  /** ONNX Gelu (opset 20): approximate = "none" (erf) or "tanh". */
  static final class Gelu extends Base {
    Gelu() {
      super("Gelu", LayoutRule.ELEMENTWISE);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      boolean tanh = a.getString("approximate", "none").equals("tanh");
      return List.of(map(in.get(0), in.get(0).dtype(),
          tanh ? MathFns::geluTanh : MathFns::geluErf, null).rounded());
    }
  }

  static final class Where extends Base {
    Where() {
      super("Where", LayoutRule.ELEMENTWISE);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 3, 3);
      if (in.get(1).dtype() != in.get(2).dtype()) {
        throw error("branches differ in type: %s and %s", in.get(1).dtype().irName(), in.get(2).dtype().irName());
      }
      return List.of(new Sig(in.get(1).dtype(),
          Broadcast.shape("Where", List.of(in.get(0).shape(), in.get(1).shape(), in.get(2).shape()))));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      Tensor c = in.get(0);
      Tensor x = in.get(1);
      Tensor y = in.get(2);
      Shape s = Broadcast.shape("Where", List.of(c.shape(), x.shape(), y.shape()));
      int[] ic = Broadcast.offsets(c.shape(), s);
      int[] ix = Broadcast.offsets(x.shape(), s);
      int[] iy = Broadcast.offsets(y.shape(), s);
      int n = ic.length;
      if (x.isFloating()) {
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
          r[i] = c.getLong(ic[i]) != 0 ? x.floats()[ix[i]] : y.floats()[iy[i]];
        }
        return List.of(Tensor.ofFloats(x.dtype(), s, r));
      }
      long[] r = new long[n];
      for (int i = 0; i < n; i++) {
        r[i] = c.getLong(ic[i]) != 0 ? x.longs()[ix[i]] : y.longs()[iy[i]];
      }
      return List.of(Tensor.ofLongs(x.dtype(), s, r));
    }
  }

  static final class Cast extends Base {
    Cast() {
      super("Cast", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      DType.fromOnnx((int) a.requireInt("to")); // fails early on a type meshc lacks
      return new Normalized(Attrs.builder().put("to", a.requireInt("to")).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(new Sig(DType.fromOnnx((int) a.requireInt("to")), in.get(0).shape()));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      DType to = DType.fromOnnx((int) a.requireInt("to"));
      Tensor x = in.get(0);
      if (to == DType.BOOL) {
        return List.of(map(x, to, v -> v != 0 ? 1 : 0, v -> v != 0 ? 1 : 0));
      }
      if (to.isFloating()) {
        return List.of(Tensor.ofFloats(to, x.shape(), x.toFloatArray()).rounded());
      }
      if (!x.isFloating()) {
        return List.of(Tensor.ofLongs(to, x.shape(), x.longs().clone()));
      }
      return List.of(map(x, to, v -> v, null)); // truncation toward zero, as C casts
    }
  }

  /** Clip; its min and max inputs (opset 11+) must be compile-time constants. */
  static final class Clip extends Base {
    Clip() {
      super("Clip", LayoutRule.ELEMENTWISE);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      float lo = a.getFloat("min", Float.NEGATIVE_INFINITY);
      float hi = a.getFloat("max", Float.POSITIVE_INFINITY);
      Tensor min = constInput(in, 1, "min", node);
      Tensor max = constInput(in, 2, "max", node);
      if (min != null) {
        lo = (float) min.getDouble(0);
      }
      if (max != null) {
        hi = (float) max.getDouble(0);
      }
      return new Normalized(Attrs.builder().put("min", lo).put("max", hi).build(), List.of(0));
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 1, 1);
      return List.of(in.get(0));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs a) {
      double lo = a.getFloat("min", Float.NEGATIVE_INFINITY);
      double hi = a.getFloat("max", Float.POSITIVE_INFINITY);
      return List.of(map(in.get(0), in.get(0).dtype(), x -> Math.min(Math.max(x, lo), hi),
          x -> (long) Math.min(Math.max(x, lo), hi)));
    }
  }
}
