package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The block patterns, each a rewrite at one root node that returns whether it fired. They match
 * the decomposed forms exporters write (see the class comments of each) and replace the root by
 * a tile block op over the pattern's inputs; the nodes they made unused die later. Every rewrite
 * keeps the root's result types, which {@link LiftGraph#replace} checks.
 */
final class Rewrites {
  private Rewrites() {}

  /** A rewrite rule tried at every node. */
  interface Rule {
    boolean apply(LiftGraph g, LNode n);
  }

  static Provenance loc(List<LNode> nodes) {
    return Provenance.merge(nodes.stream().map(LNode::loc).toList());
  }

  static LNode node(String op, List<String> in, String out, Attrs a, List<LNode> from) {
    return new LNode(op, in, out, a, loc(from));
  }

  /** The other operand of a binary node, or null if {@code v} is not one of them. */
  static String other(LNode n, String v) {
    if (n.inputs().size() != 2) {
      return null;
    }
    if (n.in(0).equals(v)) {
      return n.in(1);
    }
    return n.in(1).equals(v) ? n.in(0) : null;
  }

  /** The single reader of {@code v} (not a model output) if it is an op of {@code type} (any, when null). */
  static LNode soleUser(LiftGraph g, String v, String type) {
    if (g.uses(v) != 1 || g.users(v).size() != 1) {
      return null;
    }
    LNode u = g.users(v).get(0);
    return type == null || u.is(type) ? u : null;
  }

  // ---- cleanup --------------------------------------------------------------------------------

  /**
   * Identity, inference Dropout, casts to the type a value already has, views that keep the
   * shape, and transposes that move only axes of size 1 (the order of the elements stays: at one
   * token, [1, 1, 1, d] → [1, 1, 1, d] of a single kv head): readers read through them.
   */
  static boolean identity(LiftGraph g, LNode n) {
    boolean sameShape = Views.VIEW_OPS.contains(n.op()) && g.sig(n.in(0)).equals(g.sig(n.out()));
    boolean noop = n.is("Identity") || n.is("Dropout")
        || (n.is("Cast") && DType.fromOnnx((int) n.attrs().requireInt("to")) == g.sig(n.in(0)).dtype())
        || (sameShape && (!n.is("Transpose") || movesOnlyUnitAxes(n.attrs().getInts("perm"), g.dims(n.in(0)))));
    if (!noop || g.outputs().contains(n.out())) {
      return false;
    }
    g.rewire(n.out(), n.in(0));
    return true;
  }

  /** Whether permutation {@code perm} of {@code shape} keeps the axes longer than 1 in their order. */
  private static boolean movesOnlyUnitAxes(long[] perm, long[] shape) {
    if (perm == null || perm.length != shape.length) {
      return false;
    }
    long last = -1;
    for (long p : perm) {
      if (shape[(int) p] != 1) {
        if (p < last) {
          return false;
        }
        last = p;
      }
    }
    return true;
  }

  // ---- Linear -----------------------------------------------------------------------------------

  /** The weight behind {@code v}: itself, or a Transpose of a weight (read through a permutation). */
  static String weightOperand(LiftGraph g, String v) {
    if (g.isWeight(v)) {
      return v;
    }
    LNode t = g.producer(v, "Transpose");
    if (t != null && g.isWeight(t.in(0))) {
      List<Integer> perm = new ArrayList<>();
      for (long p : t.attrs().getInts("perm")) {
        perm.add((int) p);
      }
      return g.weightView(t.in(0), perm);
    }
    return null;
  }

  /**
   * MatMul(x, W) [+ b], Gemm(x, W, b) with transB, and MatMul(x, Transpose(W)): x·W + b with W a
   * weight [K, N] (read through a permutation when the model stores it [N, K]) and b a vector [N].
   */
  static boolean linear(LiftGraph g, LNode n) {
    String x;
    String w;
    String b = null;
    LNode root = n;
    if (n.is("MatMul")) {
      x = n.in(0);
      w = weightOperand(g, n.in(1));
      if (w == null || g.rank(w) != 2 || g.isWeight(x) || !g.floating(x)) {
        return false;
      }
      LNode add = soleUser(g, n.out(), "Add");
      if (add != null) {
        String bias = other(add, n.out());
        if (bias != null && g.isWeight(bias) && g.rank(bias) == 1) {
          b = bias;
          root = add;
        }
      }
    } else if (n.is("Gemm")) {
      Attrs a = n.attrs();
      if (a.getFloat("alpha", 1) != 1 || a.getInt("transA", 0) != 0 || g.isWeight(n.in(0))) {
        return false;
      }
      x = n.in(0);
      w = a.getInt("transB", 0) != 0 ? (g.isWeight(n.in(1)) ? g.weightView(n.in(1), List.of(1, 0)) : null)
          : weightOperand(g, n.in(1));
      if (w == null) {
        return false;
      }
      if (n.inputs().size() == 3) {
        if (a.getFloat("beta", 1) != 1 || !g.isWeight(n.in(2)) || g.rank(n.in(2)) != 1) {
          return false;
        }
        b = n.in(2);
      }
    } else {
      return false;
    }
    List<String> in = b == null ? List.of(x, w) : List.of(x, w, b);
    List<LNode> from = root == n ? List.of(n) : List.of(n, root);
    g.replace(root, List.of(node("linear", in, root.out(), Attrs.EMPTY, from)));
    return true;
  }

  /**
   * Reshape(linear(Reshape(x))) where the first reshape folds rows into one dim and the last
   * unfolds them again (what Gemm-based exports do): the linear on the unfolded rows, so the
   * rows keep their layout. When x is not already [rows…, K] it is reshaped to that first, which
   * lets a head merge before it be recognised.
   */
  static boolean unflattenLinear(LiftGraph g, LNode n) {
    if (!n.is("Reshape")) {
      return false;
    }
    LNode lin = g.producer(n.in(0), "linear");
    if (lin == null || g.uses(lin.out()) != 1) {
      return false;
    }
    LNode flat = g.producer(lin.in(0), "Reshape");
    if (flat == null || g.rank(lin.in(0)) != 2) {
      return false;
    }
    long k = g.dims(lin.in(0))[1];
    long[] out = g.dims(n.out());
    if (out.length < 2) {
      return false;
    }
    long[] rows = java.util.Arrays.copyOf(out, out.length);
    rows[rows.length - 1] = k;
    List<LNode> replacement = new ArrayList<>();
    String x = flat.in(0);
    if (!java.util.Arrays.equals(g.dims(x), rows)) {
      String shaped = g.freshName("rows");
      LNode reshape = node("Reshape", List.of(x), shaped, Attrs.builder().put("shape", rows).build(), List.of(flat));
      g.type(reshape);
      replacement.add(reshape);
      x = shaped;
    }
    List<String> in = new ArrayList<>(lin.inputs());
    in.set(0, x);
    replacement.add(node("linear", in, n.out(), Attrs.EMPTY, List.of(flat, lin, n)));
    g.replace(n, replacement);
    return true;
  }

  /** Gather(W, ids) on axis 0 of a weight [V, E]: an embedding lookup. */
  static boolean embedding(LiftGraph g, LNode n) {
    if (!n.is("Gather") || n.attrs().getInt("axis", 0) != 0 || !g.isWeight(n.in(0)) || g.rank(n.in(0)) != 2
        || g.sig(n.in(1)).dtype().isFloating()) {
      return false;
    }
    g.replace(n, List.of(node("embedding", List.of(n.in(1), n.in(0)), n.out(), Attrs.EMPTY, List.of(n))));
    return true;
  }

  // ---- norms ------------------------------------------------------------------------------------

  /** ReduceMean over the last axis, keeping it. */
  static boolean meanLast(LiftGraph g, LNode n) {
    if (n == null || !n.is("ReduceMean") || n.attrs().getInt("keepdims", 1) == 0) {
      return false;
    }
    long[] axes = n.attrs().getInts("axes");
    return axes.length == 1 && axes[0] == g.rank(n.in(0)) - 1;
  }

  /** c² as Pow(c, 2) or Mul(c, c); returns c or null. */
  static String squared(LiftGraph g, String v) {
    LNode p = g.producer(v);
    if (p != null && p.is("Pow") && g.isScalar(p.in(1), 2, 0)) {
      return p.in(0);
    }
    if (p != null && p.is("Mul") && p.in(0).equals(p.in(1))) {
      return p.in(0);
    }
    return null;
  }

  /**
   * LayerNorm and RMSNorm from their decomposed forms, anchored at the Sqrt:
   * {@code c / Sqrt(ReduceMean(c²) + eps)} (or {@code c · Reciprocal(Sqrt(…))}), then optional
   * {@code · gamma} and {@code + beta}; c = x − ReduceMean(x) makes it a LayerNorm, c = x an RMSNorm.
   */
  static boolean norm(LiftGraph g, LNode n) {
    if (n.is("LayerNormalization")) {
      if (n.attrs().getInt("axis", -1) != g.rank(n.in(0)) - 1 || !n.inputs().stream().skip(1).allMatch(
          v -> g.isWeight(v) && g.rank(v) == 1)) {
        return false;
      }
      Attrs a = Attrs.builder().put("eps", n.attrs().getFloat("epsilon", 1e-5f)).build();
      g.replace(n, List.of(node("layer_norm", n.inputs(), n.out(), a, List.of(n))));
      return true;
    }
    if (!n.is("Sqrt")) {
      return false;
    }
    LNode add = g.producer(n.in(0), "Add");
    if (add == null) {
      return false;
    }
    LNode mean = g.producer(add.in(0));
    String epsV = add.in(1);
    if (!meanLast(g, mean)) {
      mean = g.producer(add.in(1));
      epsV = add.in(0);
    }
    Double eps = g.scalar(epsV);
    if (!meanLast(g, mean) || eps == null) {
      return false;
    }
    String c = squared(g, mean.in(0));
    LNode square = g.producer(mean.in(0));
    LNode u = c == null ? null : soleUser(g, n.out(), null);
    if (u == null) {
      return false;
    }
    List<LNode> from = new ArrayList<>(List.of(square, mean, add, n));
    LNode top;
    LNode scale = u.is("Reciprocal") ? soleUser(g, u.out(), "Mul") : null;
    if (u.is("Div") && u.in(0).equals(c) && u.in(1).equals(n.out())) {
      top = u;
    } else if (scale != null && c.equals(other(scale, u.out()))) {
      from.add(u);
      top = scale;
    } else {
      return false;
    }
    from.add(top);
    LNode sub = g.producer(c, "Sub");
    String x = c;
    boolean centered = false;
    if (sub != null && meanLast(g, g.producer(sub.in(1))) && g.producer(sub.in(1)).in(0).equals(sub.in(0))) {
      x = sub.in(0);
      centered = true;
      from.add(0, g.producer(sub.in(1)));
      from.add(1, sub);
    }
    long width = g.dims(x)[g.rank(x) - 1];
    // fp16 models normalise in fp32: x16 → Cast(f32) → norm → Cast(f16). The op takes x16 and
    // computes in fp32 itself, as the mesh does.
    LNode up = g.producer(x, "Cast");
    LNode down = soleUser(g, top.out(), "Cast");
    if (up != null && down != null && g.sig(up.in(0)).dtype() == g.sig(down.out()).dtype()
        && g.sig(up.in(0)).dtype().isFloating()) {
      x = up.in(0);
      from.add(0, up);
      from.add(down);
      top = down;
    }
    String gamma = null;
    String beta = null;
    LNode mul = soleUser(g, top.out(), "Mul");
    if (mul != null && vector(g, other(mul, top.out()), width)) {
      gamma = other(mul, top.out());
      top = mul;
      from.add(mul);
      LNode badd = centered ? soleUser(g, top.out(), "Add") : null;
      if (badd != null && vector(g, other(badd, top.out()), width)) {
        beta = other(badd, top.out());
        top = badd;
        from.add(badd);
      }
    }
    List<String> in = new ArrayList<>(List.of(x));
    if (gamma != null) {
      in.add(gamma);
    }
    if (beta != null) {
      in.add(beta);
    }
    Attrs a = Attrs.builder().put("eps", (float) (double) eps).build();
    g.replace(top, List.of(node(centered ? "layer_norm" : "rms_norm", in, top.out(), a, from)));
    return true;
  }

  private static boolean vector(LiftGraph g, String v, long n) {
    return v != null && g.isWeight(v) && g.rank(v) == 1 && g.dims(v)[0] == n;
  }

  // ---- activations ------------------------------------------------------------------------------

  /**
   * The leaves of the product tree rooted at {@code v}: Mul nodes whose results only feed this
   * tree are opened up; everything else is a factor. Fills {@code nodes} with the Muls opened.
   */
  static List<String> factors(LiftGraph g, String v, List<LNode> nodes, boolean root) {
    LNode p = g.producer(v, "Mul");
    if (p == null || (!root && g.uses(v) != 1)) {
      return new ArrayList<>(List.of(v));
    }
    nodes.add(p);
    List<String> r = factors(g, p.in(0), nodes, false);
    r.addAll(factors(g, p.in(1), nodes, false));
    return r;
  }

  /** Splits factors into the constant product and the rest. */
  record Product(double scale, List<String> rest) {}

  static Product product(LiftGraph g, List<String> fs) {
    double s = 1;
    List<String> rest = new ArrayList<>();
    for (String f : fs) {
      Double c = g.scalar(f);
      if (c != null && g.sig(f).rank() <= 1) {
        s *= c;
      } else {
        rest.add(f);
      }
    }
    return new Product(s, rest);
  }

  /** 1 + f where f is produced by an op of {@code type}; returns f's producer or null. */
  static LNode onePlus(LiftGraph g, String v, String type) {
    LNode add = g.producer(v, "Add");
    if (add == null) {
      return null;
    }
    for (int i = 0; i < 2; i++) {
      LNode f = g.producer(add.in(i), type);
      if (f != null && g.isScalar(add.in(1 - i), 1, 1e-6)) {
        return f;
      }
    }
    return null;
  }

  /**
   * GELU, erf form {@code 0.5·x·(1 + erf(x/√2))}, anchored at the Erf; the factors may come in
   * any order and grouping. Also the ONNX Gelu op.
   */
  static boolean geluErf(LiftGraph g, LNode n) {
    if (n.is("Gelu")) {
      String fn = n.attrs().getString("approximate", "none").equals("tanh") ? "gelu_tanh" : "gelu_erf";
      g.replace(n, List.of(node(fn, n.inputs(), n.out(), Attrs.EMPTY, List.of(n))));
      return true;
    }
    if (!n.is("Erf")) {
      return false;
    }
    LNode scaled = g.producer(n.in(0));
    String x = scaledInput(g, scaled, 1 / Math.sqrt(2));
    LNode add = soleUser(g, n.out(), "Add");
    if (x == null || add == null || !g.isScalar(other(add, n.out()), 1, 1e-6)) {
      return false;
    }
    return gatedProduct(g, add, x, "gelu_erf", List.of(scaled, n));
  }

  /** x when {@code n} computes x·c (or x/(1/c)) with c ≈ {@code want}; else null. */
  static String scaledInput(LiftGraph g, LNode n, double want) {
    if (n == null) {
      return null;
    }
    if (n.is("Div") && g.isScalar(n.in(1), 1 / want, 1e-4 / want)) {
      return n.in(0);
    }
    if (n.is("Mul")) {
      for (int i = 0; i < 2; i++) {
        if (g.isScalar(n.in(i), want, 1e-4 * want)) {
          return n.in(1 - i);
        }
      }
    }
    return null;
  }

  /**
   * The product 0.5 · x · (1 + …) above {@code onePlus}, replaced by {@code fn}(x): the lowest Mul
   * on the chain of single-use Mul readers whose factors are exactly those. Not the topmost: in
   * GeGLU the chain goes on into the gate's product with up, which is not GELU's.
   */
  private static boolean gatedProduct(LiftGraph g, LNode onePlus, String x, String fn, List<LNode> inner) {
    for (LNode top = soleUser(g, onePlus.out(), "Mul"); top != null; top = soleUser(g, top.out(), "Mul")) {
      List<LNode> muls = new ArrayList<>();
      Product p = product(g, factors(g, top.out(), muls, true));
      if (Math.abs(p.scale() - 0.5) > 1e-6 || p.rest().size() != 2 || !p.rest().contains(x)
          || !p.rest().contains(onePlus.out())) {
        continue;
      }
      List<LNode> from = new ArrayList<>(inner);
      from.add(onePlus);
      from.addAll(muls);
      g.replace(top, List.of(node(fn, List.of(x), top.out(), Attrs.EMPTY, from)));
      return true;
    }
    return false;
  }

  /**
   * GELU, tanh form {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))} (GPT-2's gelu_new), anchored
   * at the Tanh.
   */
  static boolean geluTanh(LiftGraph g, LNode n) {
    if (!n.is("Tanh")) {
      return false;
    }
    List<LNode> muls = new ArrayList<>();
    Product arg = product(g, factors(g, n.in(0), muls, true));
    if (Math.abs(arg.scale() - Math.sqrt(2 / Math.PI)) > 1e-4 || arg.rest().size() != 1) {
      return false;
    }
    LNode sum = g.producer(arg.rest().get(0), "Add");
    if (sum == null) {
      return false;
    }
    for (int i = 0; i < 2; i++) {
      String x = sum.in(i);
      List<LNode> cube = new ArrayList<>();
      Product c = product(g, factors(g, sum.in(1 - i), cube, true));
      if (Math.abs(c.scale() - 0.044715) > 1e-6 || !isCube(g, c.rest(), x, cube)) {
        continue;
      }
      LNode add = soleUser(g, n.out(), "Add");
      if (add == null || !g.isScalar(other(add, n.out()), 1, 1e-6)) {
        return false;
      }
      List<LNode> inner = new ArrayList<>(cube);
      inner.addAll(muls);
      inner.add(sum);
      inner.add(n);
      return gatedProduct(g, add, x, "gelu_tanh", inner);
    }
    return false;
  }

  private static boolean isCube(LiftGraph g, List<String> rest, String x, List<LNode> nodes) {
    if (rest.size() == 3) {
      return rest.stream().allMatch(x::equals);
    }
    if (rest.size() == 1) {
      LNode pow = g.producer(rest.get(0), "Pow");
      if (pow != null && pow.in(0).equals(x) && g.isScalar(pow.in(1), 3, 0)) {
        nodes.add(pow);
        return true;
      }
    }
    return false;
  }

  /** SiLU: x · Sigmoid(x). */
  static boolean silu(LiftGraph g, LNode n) {
    if (!n.is("Mul")) {
      return false;
    }
    for (int i = 0; i < 2; i++) {
      LNode s = g.producer(n.in(i), "Sigmoid");
      if (s != null && s.in(0).equals(n.in(1 - i)) && g.uses(s.out()) == 1) {
        g.replace(n, List.of(node("silu", List.of(s.in(0)), n.out(), Attrs.EMPTY, List.of(s, n))));
        return true;
      }
    }
    return false;
  }

  /** ReLU, the ONNX op: the relu activation (OPT's FFN). */
  static boolean relu(LiftGraph g, LNode n) {
    if (!n.is("Relu") || !g.floating(n.in(0))) {
      return false;
    }
    g.replace(n, List.of(node("relu", n.inputs(), n.out(), Attrs.EMPTY, List.of(n))));
    return true;
  }

  /** Squared ReLU: Pow(relu(x), 2) or relu(x)·relu(x), the relu read by nothing else. */
  static boolean relu2(LiftGraph g, LNode n) {
    if (!n.is("Pow") && !n.is("Mul")) {
      return false;
    }
    String r = squared(g, n.out());
    LNode relu = r == null ? null : g.producer(r, "relu");
    if (relu == null || g.uses(r) != n.inputs().stream().filter(r::equals).count()) {
      return false;
    }
    g.replace(n, List.of(node("relu2", relu.inputs(), n.out(), Attrs.EMPTY, List.of(relu, n))));
    return true;
  }

  /** Gated FFN activation: act(gate) · up, with act a lifted SiLU or GELU (SwiGLU, GeGLU). */
  static boolean gated(LiftGraph g, LNode n) {
    if (!n.is("Mul")) {
      return false;
    }
    for (int i = 0; i < 2; i++) {
      LNode act = g.producer(n.in(i));
      String up = n.in(1 - i);
      if (act == null || g.uses(act.out()) != 1 || g.isWeight(up) || g.constant(up) != null
          || !g.sig(up).shape().equals(g.sig(act.out()).shape())) {
        continue;
      }
      String fn = switch (act.op()) {
        case "silu" -> "swiglu";
        case "gelu_erf" -> "geglu_erf";
        case "gelu_tanh" -> "geglu_tanh";
        case "relu" -> "reglu";
        case "relu2" -> "reglu2";
        default -> null;
      };
      if (fn != null) {
        g.replace(n, List.of(node(fn, List.of(act.in(0), up), n.out(), Attrs.EMPTY, List.of(act, n))));
        return true;
      }
    }
    return false;
  }

  // ---- heads ------------------------------------------------------------------------------------

  /**
   * A view chain from x [B, S, H·D] to [B, H, S, D] (Reshape + Transpose in some order): split_heads.
   */
  static boolean splitHeads(LiftGraph g, LNode n) {
    if (!Views.VIEW_OPS.contains(n.op()) || g.rank(n.out()) != 4) {
      return false;
    }
    for (Views.View v : Views.back(g, n.out())) {
      // the flat source must be computed (a projection), not itself a view of heads: Falcon's
      // MQA key goes [B, 1, S, D] → [B, S, D] → Transpose → [B, 1, D, S], one view chain for kᵀ
      LNode p = g.producer(v.source());
      if (v.chain().isEmpty() || g.rank(v.source()) != 3 || !g.floating(v.source())
          || (p != null && Views.VIEW_OPS.contains(p.op())) || g.value(v.source()) != null) {
        continue; // nor a table known at compile time (a static export's RoPE angles, unsqueezed)
      }
      long heads = headsOfFlat(v, false);
      if (heads > 0) {
        Attrs a = Attrs.builder().put("heads", heads).build();
        g.replace(n, List.of(node("split_heads", List.of(v.source()), n.out(), a, v.chain())));
        return true;
      }
    }
    return false;
  }

  /**
   * For a view of a flat [B, S, E] source: the head count when it is [B, H, S, D] (or
   * [B, H, D, S] when {@code transposed}), else -1.
   */
  static long headsOfFlat(Views.View v, boolean transposed) {
    if (v.rank() != 4 || !v.full(0, 0) || !v.full(transposed ? 3 : 2, 1)) {
      return -1;
    }
    return v.split(1, transposed ? 2 : 3, 2);
  }

  /** A view chain from x [B, H, S, D] to [B, S, H·D]: merge_heads. */
  static boolean mergeHeads(LiftGraph g, LNode n) {
    if (!Views.VIEW_OPS.contains(n.op()) || g.rank(n.out()) != 3
        || (!g.users(n.out()).isEmpty() && g.users(n.out()).stream().allMatch(u -> Views.VIEW_OPS.contains(u.op())))) {
      return false; // merged heads feed a projection (or are an output); a view of a view is still a view
    }
    for (Views.View v : Views.back(g, n.out())) {
      if (v.chain().isEmpty() || g.rank(v.source()) != 4 || !g.floating(v.source())) {
        continue;
      }
      List<Views.Atom> merged = new ArrayList<>(v.srcAtoms().get(1));
      merged.addAll(v.srcAtoms().get(3));
      if (v.full(0, 0) && v.full(1, 2) && v.axes().get(2).equals(merged)) {
        g.replace(n, List.of(node("merge_heads", List.of(v.source()), n.out(), Attrs.EMPTY, v.chain())));
        return true;
      }
    }
    return false;
  }

  // ---- RoPE -------------------------------------------------------------------------------------

  /**
   * Rotary embedding, half-split form: {@code x·cos + rotate_half(x)·sin} with
   * rotate_half(x) = Concat(−x[…, D/2:], x[…, :D/2]) and constant cos/sin tables [S, D]. When the
   * tables follow θ (as LLaMA's do) the op keeps θ alone; otherwise it keeps the tables.
   */
  static boolean rope(LiftGraph g, LNode n) {
    if (!n.is("Add")) {
      return false;
    }
    for (int i = 0; i < 2; i++) {
      LNode m1 = g.producer(n.in(i), "Mul");
      LNode m2 = g.producer(n.in(1 - i), "Mul");
      if (m1 == null || m2 == null) {
        continue;
      }
      for (int j = 0; j < 2; j++) {
        for (int k = 0; k < 2; k++) {
          String x = m1.in(j);
          String cos = m1.in(1 - j);
          LNode cat = g.producer(m2.in(k), "Concat");
          String sin = m2.in(1 - k);
          if (cat != null && isRotateHalf(g, cat, x)) {
            return emitRope(g, n, x, cos, sin, false, List.of(m1, m2, cat));
          }
          if (isRotateEveryTwo(g, m2.in(k), x) && emitRope(g, n, x, cos, sin, true, List.of(m1, m2))) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * GPT-J's rotate_every_two(x): the pairs (2i, 2i+1) become (−x_{2i+1}, x_{2i}), written as
   * Reshape(Concat(Unsqueeze(Neg(x[…, 1::2])), Unsqueeze(x[…, ::2])) on a new last axis).
   */
  private static boolean isRotateEveryTwo(LiftGraph g, String v, String x) {
    int r = g.rank(x);
    LNode reshape = g.producer(v, "Reshape");
    LNode cat = reshape == null ? null : g.producer(reshape.in(0), "Concat");
    if (cat == null || cat.inputs().size() != 2 || cat.attrs().getInt("axis", 0) != r
        || !java.util.Arrays.equals(g.dims(v), g.dims(x))) {
      return false;
    }
    LNode a = g.producer(cat.in(0), "Unsqueeze");
    LNode b = g.producer(cat.in(1), "Unsqueeze");
    if (a == null || b == null || !java.util.Arrays.equals(a.attrs().getInts("axes"), new long[] {r})
        || !java.util.Arrays.equals(b.attrs().getInts("axes"), new long[] {r})) {
      return false;
    }
    LNode neg = g.producer(a.in(0), "Neg");
    long d = g.dims(x)[r - 1];
    return neg != null && d % 2 == 0 && isSlice(g, g.producer(neg.in(0), "Slice"), x, 1, d / 2, 2)
        && isSlice(g, g.producer(b.in(0), "Slice"), x, 0, d / 2, 2);
  }

  private static boolean isRotateHalf(LiftGraph g, LNode cat, String x) {
    int r = g.rank(x);
    if (r < 2 || cat.inputs().size() != 2 || cat.attrs().getInt("axis", 0) != r - 1) {
      return false;
    }
    long d = g.dims(x)[r - 1];
    LNode neg = g.producer(cat.in(0), "Neg");
    LNode hi = neg == null ? null : g.producer(neg.in(0), "Slice");
    LNode lo = g.producer(cat.in(1), "Slice");
    return d % 2 == 0 && isHalf(g, hi, x, d / 2) && isHalf(g, lo, x, 0);
  }

  private static boolean isHalf(LiftGraph g, LNode slice, String x, long start) {
    return isSlice(g, slice, x, start, g.dims(x)[g.rank(x) - 1] / 2, 1);
  }

  /**
   * rope(x) for the rotation found at {@code root}, in the pair layout its pattern showed. The op
   * keeps θ alone when the tables follow it in that layout, else the tables themselves.
   */
  private static boolean emitRope(LiftGraph g, LNode root, String x, String cos, String sin, boolean interleaved,
      List<LNode> inner) {
    long[] xd = g.dims(x);
    int r = xd.length;
    // positions along dim r−2 ([B, H, S, D], tables [S, D]), or along dim 1 when the rotation runs
    // before the heads move ([B, S, H, D], tables [1, S, 1, D]: GPT-J)
    boolean bshd = r == 4 && isTable(g, cos, new long[] {1, xd[1], 1, xd[3]})
        && isTable(g, sin, new long[] {1, xd[1], 1, xd[3]}) && xd[2] > 1;
    long s = bshd ? xd[1] : xd[r - 2];
    long d = xd[r - 1];
    float[] c = bshd ? g.value(cos).floats() : table(g, cos, s, d);
    float[] sn = bshd ? g.value(sin).floats() : table(g, sin, s, d);
    if (c == null || sn == null) {
      return false;
    }
    List<LNode> from = new ArrayList<>(inner);
    from.add(root);
    RopeTables.Fit fit = g.ropeFit(cos, sin, () -> RopeTables.fit(c, sn, (int) s, (int) d, g.sig(cos).dtype()));
    Attrs.Builder a = Attrs.builder().put("rotary_dim", d).put("interleaved", interleaved ? 1 : 0);
    List<String> tables = new ArrayList<>();
    if (fit != null && fit.interleaved() == interleaved) {
      a.put("theta", fit.theta());
    } else {
      tables.add(g.constant(Tensor.ofFloats(Shape.of(s, d), c), "rope.cos"));
      tables.add(g.constant(Tensor.ofFloats(Shape.of(s, d), sn), "rope.sin"));
    }
    replaceByRope(g, root, x, tables, a.build(), bshd ? Attrs.builder().put("perm", new long[] {0, 2, 1, 3}).build() : null,
        from);
    return true;
  }

  /**
   * Replaces {@code root} by rope(x, tables…); with {@code swap} set, the rope runs on
   * Transpose(x, swap) and its result is transposed back (a rotation written on [B, S, H, D]).
   */
  private static void replaceByRope(LiftGraph g, LNode root, String x, List<String> tables, Attrs a, Attrs swap,
      List<LNode> from) {
    List<String> in = new ArrayList<>(tables);
    if (swap == null) {
      in.add(0, x);
      g.replace(root, List.of(node("rope", in, root.out(), a, from)));
      return;
    }
    LNode toHeads = node("Transpose", List.of(x), g.freshName("rope.heads"), swap, from);
    g.type(toHeads);
    in.add(0, toHeads.out());
    LNode rope = node("rope", in, g.freshName("rope"), a, from);
    g.type(rope);
    g.replace(root, List.of(toHeads, rope, node("Transpose", List.of(rope.out()), root.out(), swap, from)));
  }

  /** Whether {@code v} has a value of exactly these dims. */
  private static boolean isTable(LiftGraph g, String v, long[] dims) {
    return java.util.Arrays.equals(g.dims(v), dims) && g.floating(v) && g.value(v) != null;
  }

  /**
   * Partial rotary (GPT-NeoX, StableLM, Phi): Concat(rope(x[…, :r]), x[…, r:]) on the last axis is
   * rope(x) with rotary_dim r, which leaves channels r… as they are.
   */
  static boolean partialRope(LiftGraph g, LNode n) {
    if (!n.is("Concat") || n.inputs().size() != 2) {
      return false;
    }
    int r = g.rank(n.out());
    if (n.attrs().getInt("axis", 0) != r - 1) {
      return false;
    }
    // the rotated part as it reaches the Concat: rope(x[…, :r]), or a transposed rope when the
    // rotation ran with the heads moved ahead of the positions (see emitRope)
    LNode back = g.producer(n.in(0), "Transpose");
    LNode rope = g.producer(back != null ? back.in(0) : n.in(0), "rope");
    LNode ahead = rope == null || back == null ? null : g.producer(rope.in(0), "Transpose");
    if (rope == null || g.uses(rope.out()) != 1 || (back != null && (ahead == null || g.uses(ahead.out()) != 1
        || !back.attrs().equals(ahead.attrs())))) {
      return false;
    }
    LNode rot = g.producer(ahead != null ? ahead.in(0) : rope.in(0), "Slice");
    LNode pass = g.producer(n.in(1), "Slice");
    if (rot == null || pass == null || !rot.in(0).equals(pass.in(0)) || g.uses(rot.out()) != 1) {
      return false;
    }
    String x = rot.in(0);
    long d = g.dims(x)[r - 1];
    long rd = rope.attrs().requireInt("rotary_dim");
    if (rd != g.dims(rope.in(0))[r - 1] || !isSlice(g, rot, x, 0, rd, 1) || !isSlice(g, pass, x, rd, d - rd, 1)) {
      return false;
    }
    replaceByRope(g, n, x, rope.inputs().subList(1, rope.inputs().size()), rope.attrs(),
        ahead == null ? null : ahead.attrs(), List.of(rot, rope, pass, n));
    return true;
  }

  /** Whether {@code slice} takes {@code size} channels of x's last axis from {@code start}, every {@code step}th. */
  private static boolean isSlice(LiftGraph g, LNode slice, String x, long start, long size, long step) {
    if (slice == null || !slice.in(0).equals(x)) {
      return false;
    }
    long[] ax = slice.attrs().getInts("axes");
    return ax.length == 1 && ax[0] == g.rank(x) - 1 && slice.attrs().getInts("starts")[0] == start
        && slice.attrs().getInts("sizes")[0] == size && slice.attrs().getInts("steps")[0] == step;
  }

  /** A constant that broadcasts to [.., S, D] from [S, D] (leading dims 1): its [S, D] values. */
  private static float[] table(LiftGraph g, String v, long s, long d) {
    Tensor t = g.value(v);
    if (t == null || !t.isFloating()) {
      return null;
    }
    long[] td = t.shape().toArray();
    int r = td.length;
    if (r < 2 || td[r - 2] != s || td[r - 1] != d) {
      return null;
    }
    for (int i = 0; i < r - 2; i++) {
      if (td[i] != 1) {
        return null;
      }
    }
    return t.floats();
  }
}
