package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.onnx.OnnxOps;
import java.util.ArrayList;
import java.util.List;

/**
 * Scaled dot-product attention, anchored at the ·V MatMul, matched backwards through what
 * exporters write between heads and output: an optional IsNaN guard, Softmax over the keys,
 * additive masks (Add) and fill masks (Where), scalar scales (on the scores or as √scale on q
 * and k), and the q·kᵀ MatMul, with q, k and v reached through any view chain from split heads
 * (or straight from [B, S, H·D] projections), GQA repeats included. A constant causal mask becomes
 * the {@code causal} flag; any other mask stays an operand.
 */
final class AttentionRewrite {
  private AttentionRewrite() {}

  /** Below this, an additive mask entry hides its key (exp underflows to 0 in fp32). */
  static final double HIDDEN = -1e4;

  /** An operand reached through a view chain: its heads source, how many heads, the GQA repeat. */
  private record Heads(String source, long heads, long group, List<LNode> from) {}

  static boolean apply(LiftGraph g, LNode n) {
    if (!n.is("MatMul") || g.rank(n.out()) != 4) {
      return false;
    }
    List<LNode> from = new ArrayList<>(List.of(n));
    String p = n.in(0);
    LNode guard = g.producer(p, "Where");
    if (guard != null) { // Where(IsNaN(p), 0, p): fully masked rows give 0 rather than NaN
      LNode isNan = g.producer(guard.in(0), "IsNaN");
      if (isNan == null || !guard.in(2).equals(isNan.in(0)) || !g.isScalar(guard.in(1), 0, 0)) {
        return false;
      }
      from.add(guard);
      from.add(isNan);
      p = guard.in(2);
    }
    LNode softmax = g.producer(p, "Softmax");
    if (softmax == null || softmax.attrs().getInt("axis", -1) != 3 || softmax.attrs().getInt("flatten", 0) != 0) {
      return false;
    }
    from.add(softmax);
    double scale = 1;
    List<String> maskTerms = new ArrayList<>();
    List<LNode> newNodes = new ArrayList<>();
    String s = softmax.in(0);
    LNode qk;
    while (true) {
      LNode sp = g.producer(s);
      if (sp == null) {
        return false;
      }
      if (sp.is("MatMul")) {
        qk = sp;
        from.add(sp);
        break;
      }
      String next = null;
      if (sp.is("Add")) {
        int i = scorePath(g, sp.in(0), 6) ? 0 : scorePath(g, sp.in(1), 6) ? 1 : -1;
        if (i >= 0) {
          maskTerms.add(sp.in(1 - i));
          next = sp.in(i);
        }
      } else if (sp.is("Mul") || sp.is("Div")) {
        for (int i = 0; i < 2 && next == null; i++) {
          Double c = g.scalar(sp.in(1 - i));
          if (c != null && (sp.is("Mul") || i == 0)) {
            scale *= sp.is("Mul") ? c : 1 / c;
            next = sp.in(i);
          }
        }
      } else if (sp.is("Where")) {
        String mask = fillMask(g, sp, newNodes);
        if (mask != null) {
          maskTerms.add(mask);
          next = scorePath(g, sp.in(1), 6) ? sp.in(1) : sp.in(2);
        }
      }
      if (next == null) {
        return false;
      }
      from.add(sp);
      s = next;
    }
    double[] qs = {1};
    double[] ks = {1};
    Heads q = heads(g, qk.in(0), false, qs);
    Heads k = heads(g, qk.in(1), true, ks);
    Heads v = heads(g, n.in(1), false, new double[] {1});
    if (q != null && k != null && v != null && k.heads() == 1 && v.heads() == 1 && k.group() == 1
        && v.group() == 1) { // MQA by broadcast: one K/V head that the MatMuls broadcast over q's (Falcon)
      k = new Heads(k.source(), 1, q.heads(), k.from());
      v = new Heads(v.source(), 1, q.heads(), v.from());
    }
    if (q == null || k == null || v == null || q.group() != 1 || k.group() != v.group()
        || k.heads() != v.heads() || q.heads() != k.heads() * k.group()) {
      return false;
    }
    scale *= qs[0] * ks[0];
    from.addAll(q.from());
    from.addAll(k.from());
    from.addAll(v.from());
    String q4 = source(g, q, newNodes);
    String k4 = source(g, k, newNodes);
    String v4 = source(g, v, newNodes);
    long sq = g.dims(q4)[2];
    long sk = g.dims(k4)[2];
    String mask = sum(g, maskTerms, newNodes);
    boolean causal = false;
    if (mask != null && g.value(mask) != null) {
      Tensor m = g.value(mask);
      if (isCausal(m, sq, sk)) {
        causal = true;
        mask = null;
      } else if (allZero(m)) {
        mask = null;
      } else if (hidesCausally(m, sq, sk)) { // causal plus a finite position bias (MPT's ALiBi)
        causal = true;
        mask = g.constant(causalPart(m, sq, sk), "bias");
      }
    }
    List<String> in = new ArrayList<>(List.of(q4, k4, v4));
    if (mask != null) {
      in.add(mask);
    }
    Attrs a = Attrs.builder().put("scale", (float) scale).put("causal", causal ? 1 : 0).build();
    newNodes.add(Rewrites.node("attention", in, n.out(), a, from));
    g.replace(n, newNodes);
    return true;
  }

  /** Whether {@code v} leads (through element-wise ops) to a q·kᵀ MatMul within {@code depth} steps. */
  private static boolean scorePath(LiftGraph g, String v, int depth) {
    LNode p = g.producer(v);
    if (p == null || depth == 0 || g.constant(v) != null) {
      return false;
    }
    if (p.is("MatMul")) {
      return g.rank(v) == 4 && !g.isWeight(p.in(1));
    }
    if (p.is("Add") || p.is("Mul") || p.is("Div") || p.is("Where")) {
      for (String i : p.inputs()) {
        if (scorePath(g, i, depth - 1)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Where(cond, scores, fill) or Where(cond, fill, scores) with a scalar fill: the equivalent
   * additive mask (0 where the scores stay, fill elsewhere), folded when cond is constant.
   */
  private static String fillMask(LiftGraph g, LNode w, List<LNode> newNodes) {
    boolean scoresWhenTrue = scorePath(g, w.in(1), 6);
    String fill = scoresWhenTrue ? w.in(2) : w.in(1);
    Double f = g.scalar(fill);
    if (f == null || (!scoresWhenTrue && !scorePath(g, w.in(2), 6))) {
      return null;
    }
    String zero = g.constant(Tensor.scalar(DType.F32, 0), "zero");
    String fillC = g.constant(Tensor.scalar(DType.F32, f), "fill");
    List<String> in = scoresWhenTrue ? List.of(w.in(0), zero, fillC) : List.of(w.in(0), fillC, zero);
    Tensor cond = g.value(w.in(0));
    if (cond != null) {
      Tensor m = OnnxOps.get("Where").eval(List.of(cond, g.constant(in.get(1)), g.constant(in.get(2))),
          Attrs.EMPTY).get(0);
      return g.constant(m, "mask");
    }
    String out = g.freshName("mask");
    newNodes.add(Rewrites.node("Where", in, out, Attrs.EMPTY, List.of(w)));
    g.type(newNodes.get(newNodes.size() - 1));
    return out;
  }

  /** The sum of additive mask terms (constants folded together), or null when there are none. */
  private static String sum(LiftGraph g, List<String> terms, List<LNode> newNodes) {
    String acc = null;
    for (String t : terms) {
      if (acc == null) {
        acc = t;
      } else if (g.value(acc) != null && g.value(t) != null) {
        Tensor m = OnnxOps.get("Add").eval(List.of(g.value(acc), g.value(t)), Attrs.EMPTY).get(0);
        acc = g.constant(m, "mask");
      } else {
        String out = g.freshName("mask");
        newNodes.add(Rewrites.node("Add", List.of(acc, t), out, Attrs.EMPTY, List.of()));
        g.type(newNodes.get(newNodes.size() - 1));
        acc = out;
      }
    }
    return acc;
  }

  /**
   * Whether mask hides exactly the keys after each query (keys j &gt; i + sk − sq), in every
   * batch and head slice. With one query and one key this holds for a zero mask: such a mask is causal
   * and empty at once, and causal keeps a decoder a decoder when traced with one token.
   */
  static boolean isCausal(Tensor m, long sq, long sk) {
    return hidesCausally(m, sq, sk) && allZero(causalPart(m, sq, sk));
  }

  /** Whether mask hides exactly the keys after each query, whatever finite values it adds to the others. */
  static boolean hidesCausally(Tensor m, long sq, long sk) {
    long[] d = m.shape().toArray();
    int r = d.length;
    if (r < 2 || d[r - 1] != sk || d[r - 2] != sq) {
      return false;
    }
    long off = sk - sq;
    for (int e = 0; e < m.size(); e++) {
      long i = (e / sk) % sq;
      long j = e % sk;
      double v = m.getDouble(e);
      if ((j > i + off) != (v <= HIDDEN) || Double.isNaN(v)) {
        return false;
      }
    }
    return true;
  }

  /** The mask with its causally hidden entries zeroed: what is left once {@code causal} hides them. */
  private static Tensor causalPart(Tensor m, long sq, long sk) {
    float[] b = new float[m.size()];
    long off = sk - sq;
    for (int e = 0; e < b.length; e++) {
      b[e] = (e % sk) > (e / sk) % sq + off ? 0f : (float) m.getDouble(e);
    }
    return Tensor.ofFloats(m.shape(), b);
  }

  private static boolean allZero(Tensor m) {
    for (int i = 0; i < m.size(); i++) {
      if (m.getDouble(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * How {@code v} is made of heads: peels scalar factors (into {@code scale}), then finds the
   * farthest view chain from a [B, H, S, D] source (identity, kᵀ when {@code transposed}, or a GQA
   * repeat) or from a flat [B, S, H·D] projection.
   */
  private static Heads heads(LiftGraph g, String v, boolean transposed, double[] scale) {
    List<LNode> from = new ArrayList<>();
    v = peelScalars(g, v, scale, from);
    List<Views.View> views = new ArrayList<>(Views.back(g, v));
    java.util.Collections.reverse(views); // farthest source first: absorb GQA repeats and head splits
    for (Views.View view : views) {
      String src = view.source();
      List<LNode> chainFrom = new ArrayList<>(from);
      chainFrom.addAll(view.chain());
      double[] s2 = {1};
      String base = peelScalars(g, src, s2, chainFrom);
      if (g.rank(base) == 4 && view.rank() == 4 && view.full(0, 0) && view.full(transposed ? 2 : 3, 3)
          && view.full(transposed ? 3 : 2, 2)) {
        long group = view.full(1, 1) ? 1 : view.repeated(1, 1);
        if (group > 0) {
          scale[0] *= s2[0];
          return new Heads(base, g.dims(base)[1], group, chainFrom);
        }
      }
      if (g.rank(base) == 3 && g.floating(base)) {
        long h = Rewrites.headsOfFlat(view, transposed);
        if (h > 0) {
          scale[0] *= s2[0];
          return new Heads(base, h, 1, chainFrom);
        }
      }
    }
    return null;
  }

  private static String peelScalars(LiftGraph g, String v, double[] scale, List<LNode> from) {
    while (true) {
      LNode p = g.producer(v);
      if (p == null || !(p.is("Mul") || p.is("Div"))) {
        return v;
      }
      String next = null;
      for (int i = 0; i < 2 && next == null; i++) {
        Double c = g.scalar(p.in(1 - i));
        if (c != null && (p.is("Mul") || i == 0) && g.sig(p.in(1 - i)).rank() <= 1) {
          scale[0] *= p.is("Mul") ? c : 1 / c;
          next = p.in(i);
        }
      }
      if (next == null) {
        return v;
      }
      from.add(p);
      v = next;
    }
  }

  /** The [B, H, S, D] value for an operand: its source, or a new split_heads of a flat projection. */
  private static String source(LiftGraph g, Heads h, List<LNode> newNodes) {
    if (g.rank(h.source()) == 4) {
      return h.source();
    }
    String out = g.freshName("heads");
    LNode split = Rewrites.node("split_heads", List.of(h.source()), out,
        Attrs.builder().put("heads", h.heads()).build(), h.from());
    newNodes.add(split);
    g.type(split);
    return out;
  }
}
