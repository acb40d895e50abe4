package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.op.Activation;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Finds the transformer layers in a lifted graph and orders the nodes so each layer is one
 * contiguous run. A layer is read off its attention: h (the residual stream entering it), the
 * residual Add after attention, the FFN and its residual Add, and a norm after either Add when the
 * model is post-norm (BERT). Its nodes are those that depend on h and that the layer's output
 * depends on.
 */
final class Layers {
  private Layers() {}

  /** One recognised layer: its nodes and what inspect reports about it. */
  record Found(Set<LNode> nodes, String kind, Attrs info) {}

  /** The new node order and the layers, each a range [start, end) of it. */
  record Plan(List<LNode> order, List<Found> layers, List<int[]> ranges) {}

  static Plan group(LiftGraph g) {
    List<LNode> nodes = g.nodes();
    List<Found> layers = new ArrayList<>();
    for (LNode n : nodes) {
      if (n.is("attention")) {
        Found f = layer(g, n);
        if (f != null) {
          layers.add(f);
        }
      }
    }
    List<LNode> order = order(nodes, layers);
    List<int[]> ranges = new ArrayList<>();
    for (Found f : layers) {
      int lo = Integer.MAX_VALUE;
      int hi = -1;
      for (int i = 0; i < order.size(); i++) {
        if (f.nodes().contains(order.get(i))) {
          lo = Math.min(lo, i);
          hi = Math.max(hi, i);
        }
      }
      ranges.add(new int[] {lo, hi + 1});
    }
    return new Plan(order, layers, ranges);
  }

  /**
   * The layer around one attention, read off the dataflow: the residual stream h is the operand of
   * an Add that the attention depends on (h feeds it, through a norm when pre-norm) while the other
   * operand depends on the attention. When the FFN also sits inside that sum the layer is parallel
   * (h + attn(ln₁ h) + mlp(ln₂ h): GPT-NeoX, GPT-J, Falcon) and ends there; otherwise a second
   * residual Add over the attention's sum (or a reshape of it) closes the FFN. A norm right after
   * an Add makes the layer post-norm (BERT).
   */
  private static Found layer(LiftGraph g, LNode attn) {
    Set<String> feeding = ancestors(g, attn.inputs());
    Set<String> fromAttn = descendants(g, Set.of(attn.out()));
    // the stream is computed (or a graph input), never a weight or constant that also feeds the attention
    LNode r1 = residual(g, fromAttn, v -> feeding.contains(v) && (g.producer(v) != null || g.inputs().contains(v)));
    if (r1 == null) {
      return null;
    }
    String h = fromAttn.contains(r1.in(0)) ? r1.in(1) : r1.in(0);
    Set<String> fromH = descendants(g, Set.of(h));
    boolean parallel = ancestors(g, List.of(r1.out())).stream()
        .map(g::producer)
        .anyMatch(p -> p != null && Activation.named(p.op()) && fromH.contains(p.out())
            && !fromAttn.contains(p.out()));
    // pre-norm when the attention reads h through a norm; otherwise (BERT) the norm follows the Add
    boolean pre = feeding.stream().filter(fromH::contains).map(g::producer)
        .anyMatch(p -> p != null && (p.is("layer_norm") || p.is("rms_norm")));
    boolean post = false;
    String x1 = r1.out();
    LNode n1 = null;
    if (!pre) {
      n1 = Rewrites.soleUser(g, x1, "layer_norm");
      n1 = n1 != null ? n1 : Rewrites.soleUser(g, x1, "rms_norm");
    }
    if (n1 != null) {
      post = true;
      x1 = n1.out();
    }
    String end = x1;
    if (!parallel && !post) { // (h + attn) + mlp, the other grouping of a parallel layer (Cohere)
      for (LNode u : g.users(r1.out())) {
        String m = u.is("Add") ? Rewrites.other(u, r1.out()) : null;
        if (m != null && fromH.contains(m) && !fromAttn.contains(m) && ancestors(g, List.of(m)).stream()
            .map(g::producer).anyMatch(p -> p != null && Activation.named(p.op()) && fromH.contains(p.out()))) {
          parallel = true;
          end = u.out();
          break;
        }
      }
    }
    if (!parallel) {
      Set<String> stream = reshapes(g, x1);
      Set<String> fromX1 = descendants(g, stream);
      fromX1.removeAll(stream);
      LNode r2 = residual(g, fromX1, stream::contains);
      if (r2 != null && !throughAttention(g, r2, fromX1)) {
        end = r2.out();
        LNode n2 = Rewrites.soleUser(g, end, post ? n1.op() : "-");
        if (n2 != null) {
          end = n2.out();
        }
      }
    }
    Set<LNode> body = new HashSet<>();
    collectAncestors(g, end, fromH, body);
    return new Found(body, attn.attrs().getInt("causal", 0) != 0 ? "decoder" : "encoder",
        info(g, attn, body, h, post, parallel));
  }

  /** {@code v} and its reshapes (OPT flattens the stream to [B·S, E] around its FFN). */
  private static Set<String> reshapes(LiftGraph g, String v) {
    Set<String> r = new HashSet<>(Set.of(v));
    List<String> work = new ArrayList<>(List.of(v));
    while (!work.isEmpty()) {
      for (LNode u : g.users(work.remove(work.size() - 1))) {
        if ((u.is("Reshape") || u.is("Flatten") || u.is("Squeeze") || u.is("Unsqueeze")) && r.add(u.out())) {
          work.add(u.out());
        }
      }
    }
    return r;
  }

  /** Whether the inside operand of residual {@code r} goes through another attention (the next layer's). */
  private static boolean throughAttention(LiftGraph g, LNode r, Set<String> inside) {
    String in = inside.contains(r.in(0)) ? r.in(0) : r.in(1);
    return ancestors(g, List.of(in)).stream().filter(inside::contains).map(g::producer)
        .anyMatch(p -> p != null && p.is("attention"));
  }

  /**
   * The first Add (in node order) with one operand in {@code inside} and one outside it that
   * {@code outside} accepts.
   */
  private static LNode residual(LiftGraph g, Set<String> inside, java.util.function.Predicate<String> outside) {
    for (LNode n : g.nodes()) {
      if (!n.is("Add") || !inside.contains(n.out())) {
        continue;
      }
      boolean a = inside.contains(n.in(0));
      boolean b = inside.contains(n.in(1));
      if (a != b && outside.test(a ? n.in(1) : n.in(0))) {
        return n;
      }
    }
    return null;
  }

  /** Values that {@code roots} depend on, the roots included. */
  private static Set<String> ancestors(LiftGraph g, List<String> roots) {
    Set<String> r = new HashSet<>();
    List<String> work = new ArrayList<>(roots);
    while (!work.isEmpty()) {
      String v = work.remove(work.size() - 1);
      if (r.add(v)) {
        LNode p = g.producer(v);
        if (p != null) {
          work.addAll(p.inputs());
        }
      }
    }
    return r;
  }

  /** Values that depend on any of {@code roots} (not the roots themselves). */
  private static Set<String> descendants(LiftGraph g, Set<String> roots) {
    Set<String> r = new HashSet<>();
    List<String> work = new ArrayList<>(roots);
    while (!work.isEmpty()) {
      String v = work.remove(work.size() - 1);
      for (LNode u : g.users(v)) {
        for (String o : u.outputs()) {
          if (r.add(o)) {
            work.add(o);
          }
        }
      }
    }
    return r;
  }

  private static void collectAncestors(LiftGraph g, String v, Set<String> within, Set<LNode> out) {
    List<String> work = new ArrayList<>(List.of(v));
    while (!work.isEmpty()) {
      String cur = work.remove(work.size() - 1);
      LNode p = g.producer(cur);
      if (p == null || !within.contains(cur) || !out.add(p)) {
        continue;
      }
      work.addAll(p.inputs());
    }
  }

  private static Attrs info(LiftGraph g, LNode attn, Set<LNode> body, String h, boolean post, boolean parallel) {
    long[] q = g.dims(attn.in(0));
    long[] k = g.dims(attn.in(1));
    Attrs.Builder b = Attrs.builder()
        .put("heads", q[1]).put("kv_heads", k[1]).put("head_dim", q[3])
        .put("width", g.dims(h)[g.rank(h) - 1])
        .put("norm_position", post ? "post" : "pre")
        .put("residual", parallel ? "parallel" : "sequential");
    for (LNode n : g.nodes()) { // in graph order, so the facts do not depend on hashing
      if (!body.contains(n)) {
        continue;
      }
      if (n.is("rope")) {
        b.put("rotary_dim", n.attrs().requireInt("rotary_dim"));
        b.put("rope_interleaved", n.attrs().getInt("interleaved", 0));
        b.put("rope_theta", n.attrs().getFloat("theta", 0f));
      } else if ((n.is("layer_norm") || n.is("rms_norm")) && g.rank(n.out()) == g.rank(h)) { // not a q/k norm
        b.put("norm", n.op());
      } else if (Activation.named(n.op())) {
        // the FFN's hidden width is what the activation sees (the gate's, when gated), whether its
        // input comes from a linear of its own or from a Split of a fused gate_up projection
        b.put("activation", n.op());
        b.put("ffn", g.dims(n.in(0))[g.rank(n.in(0)) - 1]);
      }
    }
    return b.build();
  }

  /**
   * A topological order in which every layer is contiguous: Kahn's algorithm, preferring (1) the
   * lowest rank, where layer i's nodes rank 2i+1 and other nodes rank just after the last layer
   * they depend on, then (2) the original position.
   */
  private static List<LNode> order(List<LNode> nodes, List<Found> layers) {
    Map<LNode, Integer> pos = new IdentityHashMap<>();
    Map<String, LNode> producer = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      pos.put(nodes.get(i), i);
      for (String o : nodes.get(i).outputs()) {
        producer.put(o, nodes.get(i));
      }
    }
    Map<LNode, Integer> rank = new IdentityHashMap<>();
    Map<LNode, Integer> after = new IdentityHashMap<>(); // highest layer a node depends on, or -1
    for (LNode n : nodes) {
      int dep = -1;
      for (String in : n.inputs()) {
        LNode p = producer.get(in);
        if (p != null) {
          dep = Math.max(dep, Math.max(after.get(p), layerOf(layers, p)));
        }
      }
      after.put(n, dep);
      int l = layerOf(layers, n);
      rank.put(n, l >= 0 ? 2 * l + 1 : 2 * (dep + 1));
    }
    Map<LNode, Integer> missing = new IdentityHashMap<>();
    Map<LNode, List<LNode>> readers = new IdentityHashMap<>();
    PriorityQueue<LNode> ready = new PriorityQueue<>(
        Comparator.<LNode>comparingInt(rank::get).thenComparingInt(pos::get));
    for (LNode n : nodes) {
      int m = 0;
      for (String in : n.inputs()) {
        LNode p = producer.get(in);
        if (p != null) {
          m++;
          readers.computeIfAbsent(p, x -> new ArrayList<>()).add(n);
        }
      }
      missing.put(n, m);
      if (m == 0) {
        ready.add(n);
      }
    }
    List<LNode> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      LNode n = ready.poll();
      order.add(n);
      for (LNode r : readers.getOrDefault(n, List.of())) {
        if (missing.merge(r, -1, Integer::sum) == 0) {
          ready.add(r);
        }
      }
    }
    return order;
  }

  private static int layerOf(List<Found> layers, LNode n) {
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i).nodes().contains(n)) {
        return i;
      }
    }
    return -1;
  }
}
