package dev.meshc.ir.text;

import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Layout;
import dev.meshc.ir.Module;
import dev.meshc.ir.ModuleBuilder;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Random well-typed modules for the round-trip property: chains of generic elementwise, shape and
 * reduction ops and of block ops on consistent shapes, random layouts, names that need quotes,
 * float attributes and constants with NaN, infinities and negative zero, layers over random ranges.
 * Types come from the op definitions (see {@link ModuleBuilder}), so every module verifies.
 */
final class RandomModules {
  private static final String ODD_CHARS = "ab:. \"\\\n\t\r%@{}[]é-/$_,=#<>*";
  private static final String[] UNARY = {"Neg", "Abs", "Exp", "Tanh", "Sigmoid", "Relu", "Sqrt", "Erf", "Identity",
      "Softplus", "Gelu"};
  private static final String[] BINARY = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};

  private final Random r;
  private final ModuleBuilder b;
  private final Set<String> names = new HashSet<>();
  /** Floating values an op may take, in definition order. */
  private final List<Value> pool = new ArrayList<>();
  private int counter;
  private boolean inLayer;

  private RandomModules(long seed) {
    this.r = new Random(seed);
    this.b = new ModuleBuilder(r.nextInt(4) == 0 ? oddString() : "random-" + seed);
  }

  static Module generate(long seed) {
    return new RandomModules(seed).module();
  }

  private Module module() {
    int inputs = 1 + r.nextInt(3);
    for (int i = 0; i < inputs; i++) {
      pool.add(b.input(name(), randomType(DType.F32, 1 + r.nextInt(4))));
    }
    for (int i = r.nextInt(3); i > 0; i--) {
      constant(randomShape(r.nextInt(3)), randomDType());
    }
    int ops = 1 + r.nextInt(20);
    for (int i = 0; i < ops; i++) {
      if (r.nextInt(5) == 0) {
        toggleLayer();
      }
      step();
    }
    if (inLayer) {
      b.endLayer();
    }
    for (int i = r.nextInt(4); i > 0; i--) {
      b.output(pick());
    }
    return b.build();
  }

  private void toggleLayer() {
    if (inLayer) {
      b.endLayer();
    } else {
      b.beginLayer(r.nextBoolean() ? "decoder" : oddString(), randomAttrs());
    }
    inLayer = !inLayer;
  }

  /** One op on values from the pool; kinds whose operands do not fit fall back to a unary op. */
  private void step() {
    Value x = pick();
    int rank = x.rank();
    long last = rank == 0 ? 0 : x.shape().dim(-1);
    switch (r.nextInt(20)) {
      case 0 -> binary(x);
      case 1 -> one("Transpose", x, Attrs.builder().put("perm", permutation(rank)).build());
      case 2 -> reshape(x);
      case 3 -> {
        if (rank > 0) {
          one("Concat", x, Attrs.builder().put("axis", r.nextInt(rank)).build(), x, x);
        }
      }
      case 4 -> one("Clip", x, Attrs.builder().put("min", randomFloat()).put("max", randomFloat()).build());
      case 5 -> {
        if (rank > 0) {
          one("Softmax", x, Attrs.builder().put("axis", r.nextInt(rank)).build());
        }
      }
      case 6 -> one(r.nextBoolean() ? "ReduceMean" : "ReduceSum", x,
          Attrs.builder().put("axes", subset(rank)).put("keepdims", r.nextInt(2)).build());
      case 7 -> {
        if (rank > 0) {
          linear(x, last);
        }
      }
      case 8 -> {
        if (rank > 0) {
          norm(x, last);
        }
      }
      case 9 -> {
        if (rank >= 3) {
          attention(x);
        }
      }
      case 10 -> split(x);
      case 11 -> {
        if (rank >= 2) {
          one("split_heads", x, Attrs.builder().put("heads", divisor(last)).build());
        }
      }
      case 12 -> {
        if (rank >= 3) {
          one("merge_heads", x, Attrs.EMPTY);
        }
      }
      case 13 -> one(List.of("silu", "gelu_erf", "gelu_tanh").get(r.nextInt(3)), x, Attrs.EMPTY);
      case 14 -> one(List.of("swiglu", "geglu_erf", "geglu_tanh").get(r.nextInt(3)), x, Attrs.EMPTY, x, sameShape(x));
      case 15 -> {
        if (rank >= 2 && last >= 2) {
          rope(x, last);
        }
      }
      case 16 -> embedding();
      case 17 -> one("Cast", x, Attrs.builder().put("to", r.nextBoolean() ? 10 : 1).build());
      case 18 -> {
        if (rank >= 2 && x.dtype() == DType.F32) {
          Value w = constant(Shape.of(last, 1 + r.nextInt(4)), DType.F32);
          one("MatMul", x, Attrs.EMPTY, x, w);
        }
      }
      default -> one(UNARY[r.nextInt(UNARY.length)], x, r.nextInt(4) == 0 ? randomAttrs() : Attrs.EMPTY);
    }
  }

  /** An op of one result on {@code operands} (x alone when none are given). */
  private void one(String op, Value x, Attrs attrs, Value... operands) {
    List<Value> in = operands.length == 0 ? List.of(x) : List.of(operands);
    pool.add(b.op(op, name(), in, attrs, loc()));
  }

  private void binary(Value x) {
    Value y;
    if (r.nextBoolean()) {
      y = sameShape(x);
    } else {
      int keep = r.nextInt(x.rank() + 1); // broadcast a trailing part of x's shape
      long[] d = x.shape().toArray();
      y = constant(Shape.of(Arrays.copyOfRange(d, d.length - keep, d.length)), x.dtype());
    }
    List<Value> in = r.nextBoolean() ? List.of(x, y) : List.of(y, x);
    pool.add(b.op(BINARY[r.nextInt(BINARY.length)], name(), in, Attrs.EMPTY, loc()));
  }

  private void reshape(Value x) {
    long[] d = x.shape().toArray();
    long[] to = switch (r.nextInt(3)) {
      case 0 -> new long[] {x.shape().elements()};
      case 1 -> {
        long[] rev = new long[d.length];
        for (int i = 0; i < d.length; i++) {
          rev[i] = d[d.length - 1 - i];
        }
        yield rev;
      }
      default -> {
        long[] withOne = Arrays.copyOf(d, d.length + 1);
        withOne[d.length] = 1;
        yield withOne;
      }
    };
    one("Reshape", x, Attrs.builder().put("shape", to).build());
  }

  private void linear(Value x, long k) {
    long n = 1 + r.nextInt(5);
    boolean transposed = r.nextBoolean();
    Value w = b.weight(name(), ModuleBuilder.std(DType.F32, k, n), "src." + r.nextInt(5),
        transposed ? new Integer[] {1, 0} : new Integer[0]);
    List<Value> in = new ArrayList<>(List.of(x, w));
    if (r.nextBoolean()) {
      in.add(b.weight(name(), ModuleBuilder.std(DType.F32, n), oddString()));
    }
    pool.add(b.op("linear", name(), in, Attrs.EMPTY, loc()));
  }

  private void norm(Value x, long e) {
    boolean layer = r.nextBoolean();
    List<Value> in = new ArrayList<>(List.of(x));
    for (int i = r.nextInt(layer ? 3 : 2); i > 0; i--) {
      in.add(b.weight(name(), ModuleBuilder.std(DType.F32, e), "norm." + i));
    }
    pool.add(b.op(layer ? "layer_norm" : "rms_norm", name(), in,
        Attrs.builder().put("eps", randomFloat()).build(), loc()));
  }

  private void attention(Value x) {
    List<Value> in = new ArrayList<>(List.of(x, sameShape(x), sameShape(x)));
    if (r.nextBoolean()) {
      long s = x.shape().dim(-2);
      in.add(constant(Shape.of(s, s), x.dtype()));
    }
    pool.add(b.op("attention", name(), in,
        Attrs.builder().put("scale", randomFloat()).put("causal", r.nextInt(2)).build(), loc()));
  }

  private void split(Value x) {
    List<Integer> axes = new ArrayList<>();
    for (int i = 0; i < x.rank(); i++) {
      if (x.shape().dim(i) >= 2) {
        axes.add(i);
      }
    }
    if (axes.isEmpty()) {
      return;
    }
    int axis = axes.get(r.nextInt(axes.size()));
    long left = x.shape().dim(axis);
    List<Long> parts = new ArrayList<>();
    while (left > 0) {
      long p = parts.size() == 3 ? left : 1 + r.nextInt((int) left);
      parts.add(p);
      left -= p;
    }
    List<String> results = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      results.add(name());
    }
    long[] split = parts.stream().mapToLong(Long::longValue).toArray();
    pool.addAll(b.ops("Split", results, List.of(x), Attrs.builder().put("axis", axis).put("split", split).build(),
        loc()));
  }

  private void rope(Value x, long d) {
    long rd = 2 * (1 + r.nextInt((int) (d / 2)));
    Attrs.Builder a = Attrs.builder().put("rotary_dim", rd).put("interleaved", r.nextInt(2));
    if (r.nextBoolean()) {
      long s = x.shape().dim(-2);
      Value cos = constant(Shape.of(s, rd), x.dtype());
      Value sin = constant(Shape.of(s, rd), x.dtype());
      pool.add(b.op("rope", name(), List.of(x, cos, sin), a.build(), loc()));
    } else {
      float theta = r.nextBoolean() ? 10000f : Float.MIN_VALUE + Math.abs(randomFloat());
      pool.add(b.op("rope", name(), List.of(x), a.put("theta", Float.isNaN(theta) ? 1f : theta).build(), loc()));
    }
  }

  private void embedding() {
    Value ids = b.input(name(), randomType(DType.I64, 1 + r.nextInt(2)));
    Value table = b.weight(name(), ModuleBuilder.std(DType.F32, 1 + r.nextInt(9), 1 + r.nextInt(6)), oddString());
    pool.add(b.op("embedding", name(), List.of(ids, table), Attrs.EMPTY, loc()));
  }

  /** A value of x's type from the pool, or a new constant of it. */
  private Value sameShape(Value x) {
    List<Value> same = pool.stream().filter(v -> v.type().equals(x.type())).toList();
    if (r.nextBoolean() && same.size() > 1) {
      return same.get(r.nextInt(same.size()));
    }
    Value c = constant(x.shape(), x.dtype());
    return c.layout().equals(x.layout()) ? c : x;
  }

  private Value constant(Shape s, DType dt) {
    int n = s.elementsAsInt();
    Tensor t;
    if (dt.isFloating()) {
      float[] f = new float[n];
      float splat = randomFloat();
      for (int i = 0; i < n; i++) {
        f[i] = r.nextInt(3) == 0 ? splat : randomFloat();
      }
      t = Tensor.ofFloats(dt, s, f);
    } else {
      long[] l = new long[n];
      for (int i = 0; i < n; i++) {
        l[i] = dt == DType.BOOL ? r.nextInt(2) : r.nextInt(3) == 0 ? r.nextLong() : r.nextInt(100) - 50;
      }
      t = Tensor.ofLongs(dt, s, l);
    }
    Value v = b.constant(name(), t, randomLayout(s.rank()));
    if (dt.isFloating()) {
      pool.add(v);
    }
    return v;
  }

  private Value pick() {
    return pool.get(pool.size() - 1 - Math.min(pool.size() - 1, r.nextInt(4) == 0 ? r.nextInt(pool.size()) : 0));
  }

  private TensorType randomType(DType dt, int rank) {
    return new TensorType(dt, randomShape(rank), randomLayout(rank));
  }

  private Shape randomShape(int rank) {
    long[] d = new long[rank];
    for (int i = 0; i < rank; i++) {
      d[i] = 1 + r.nextInt(4);
    }
    return Shape.of(d);
  }

  private Layout randomLayout(int rank) {
    List<Layout.Axis> a = new ArrayList<>(Collections.nCopies(rank, Layout.Axis.REPLICATED));
    if (rank > 0 && r.nextInt(4) > 0) {
      a.set(r.nextInt(rank), Layout.Axis.X);
    }
    if (rank > 0 && r.nextInt(4) > 0) {
      int i = r.nextInt(rank);
      if (a.get(i) == Layout.Axis.REPLICATED) {
        a.set(i, Layout.Axis.Y);
      }
    }
    return new Layout(a);
  }

  private DType randomDType() {
    DType[] all = {DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32, DType.BOOL, DType.U8};
    return all[r.nextInt(all.length)];
  }

  private long[] permutation(int rank) {
    List<Long> p = new ArrayList<>();
    for (long i = 0; i < rank; i++) {
      p.add(i);
    }
    Collections.shuffle(p, r);
    return p.stream().mapToLong(Long::longValue).toArray();
  }

  private long[] subset(int rank) {
    List<Long> s = new ArrayList<>();
    for (long i = 0; i < rank; i++) {
      if (r.nextBoolean()) {
        s.add(i);
      }
    }
    return s.stream().mapToLong(Long::longValue).toArray();
  }

  private long divisor(long n) {
    List<Long> ds = new ArrayList<>();
    for (long d = 1; d <= n; d++) {
      if (n % d == 0) {
        ds.add(d);
      }
    }
    return ds.get(r.nextInt(ds.size()));
  }

  /** Attributes of every printable kind, with keys that are identifiers, keywords or need quotes. */
  private Attrs randomAttrs() {
    Attrs.Builder a = Attrs.builder();
    String[] keys = {"alpha", "heads", "perm", "output", "k" + r.nextInt(9), oddString()};
    for (int i = r.nextInt(4); i > 0; i--) {
      String k = keys[r.nextInt(keys.length)];
      switch (r.nextInt(5)) {
        case 0 -> a.put(k, r.nextLong());
        case 1 -> a.put(k, randomFloat());
        case 2 -> a.put(k, oddString());
        case 3 -> a.put(k, new long[] {r.nextInt(), -r.nextInt(5)});
        default -> a.put(k, new Attr.Floats(List.of(randomFloat(), randomFloat())));
      }
    }
    return a.build();
  }

  private float randomFloat() {
    return switch (r.nextInt(6)) {
      case 0 -> new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f, Float.MIN_VALUE,
          -Float.MAX_VALUE, 1e-5f}[r.nextInt(8)];
      case 1 -> Float.intBitsToFloat(r.nextInt());
      case 2 -> r.nextInt(21) - 10;
      default -> (r.nextFloat() - 0.5f) * 8;
    };
  }

  /** A fresh name: mostly plain, sometimes digits only, sometimes one that must be quoted. */
  private String name() {
    String n = switch (r.nextInt(5)) {
      case 0 -> oddString();
      case 1 -> Integer.toString(counter);
      default -> "v" + counter;
    };
    counter++;
    while (!names.add(n)) {
      n = n + "'";
    }
    return n;
  }

  private String oddString() {
    StringBuilder s = new StringBuilder();
    for (int i = 1 + r.nextInt(6); i > 0; i--) {
      s.append(ODD_CHARS.charAt(r.nextInt(ODD_CHARS.length())));
    }
    return s.toString();
  }

  /** ONNX node names for an op's provenance: none, or a few, some with characters to escape. */
  private String[] loc() {
    String[] l = new String[r.nextInt(3)];
    for (int i = 0; i < l.length; i++) {
      l[i] = r.nextBoolean() ? "node_" + r.nextInt(100) : oddString();
    }
    return l;
  }
}
