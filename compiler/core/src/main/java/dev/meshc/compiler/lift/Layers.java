package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
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

  private static Found layer(LiftGraph g, LNode attn) {
    Set<String> fromAttn = descendants(g, Set.of(attn.out()));
    LNode r1 = residual(g, fromAttn, null);
    if (r1 == null) {
      return null;
    }
    String h = fromAttn.contains(r1.in(0)) ? r1.in(1) : r1.in(0);
    boolean post = false;
    String x1 = r1.out();
    LNode n1 = Rewrites.soleUser(g, x1, "layer_norm");
    n1 = n1 != null ? n1 : Rewrites.soleUser(g, x1, "rms_norm");
    if (n1 != null) {
      post = true;
      x1 = n1.out();
    }
    Set<String> fromX1 = descendants(g, Set.of(x1));
    LNode r2 = residual(g, fromX1, x1);
    String end = x1;
    if (r2 != null) {
      end = r2.out();
      LNode n2 = Rewrites.soleUser(g, end, post ? n1.op() : "-");
      if (n2 != null) {
        end = n2.out();
      }
    }
    Set<String> fromH = descendants(g, Set.of(h));
    Set<LNode> body = new HashSet<>();
    collectAncestors(g, end, fromH, body);
    return new Found(body, attn.attrs().getInt("causal", 0) != 0 ? "decoder" : "encoder",
        info(g, attn, body, h, post));
  }

  /**
   * The first Add (in node order) with one operand in {@code inside} and one outside it; with
   * {@code stream} set, the outside operand must be that value.
   */
  private static LNode residual(LiftGraph g, Set<String> inside, String stream) {
    for (LNode n : g.nodes()) {
      if (!n.is("Add") || !inside.contains(n.out())) {
        continue;
      }
      boolean a = inside.contains(n.in(0));
      boolean b = inside.contains(n.in(1));
      String outside = a ? n.in(1) : n.in(0);
      if (a != b && (stream == null || outside.equals(stream))) {
        return n;
      }
    }
    return null;
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

  private static Attrs info(LiftGraph g, LNode attn, Set<LNode> body, String h, boolean post) {
    long[] q = g.dims(attn.in(0));
    long[] k = g.dims(attn.in(1));
    Attrs.Builder b = Attrs.builder()
        .put("heads", q[1]).put("kv_heads", k[1]).put("head_dim", q[3])
        .put("width", g.dims(h)[g.rank(h) - 1])
        .put("norm_position", post ? "post" : "pre");
    for (LNode n : body) {
      switch (n.op()) {
        case "layer_norm", "rms_norm" -> b.put("norm", n.op());
        case "gelu_erf", "gelu_tanh", "silu", "swiglu", "geglu_erf", "geglu_tanh" -> {
          b.put("activation", n.op());
          LNode lin = g.producer(n.in(0), "linear");
          if (lin != null) {
            b.put("ffn", g.dims(lin.out())[g.rank(lin.out()) - 1]);
          }
        }
        default -> { }
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
