package dev.meshc.compiler.lift;

import dev.meshc.compiler.onnx.Initializer;
import dev.meshc.compiler.onnx.OnnxGraph;
import dev.meshc.ir.DType;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.onnx.Sig;
import dev.meshc.ir.op.OpDef;
import dev.meshc.ir.op.Ops;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The mutable graph lifting rewrites: nodes in topological order over named values, with the
 * imported graph's types, constants and initializers. A rewrite replaces one root node by new
 * nodes that compute the same outputs from values defined earlier, so the order stays
 * topological; nodes left unused are removed by {@link #removeDead}.
 */
final class LiftGraph {
  private final List<LNode> nodes;
  private final Map<String, Sig> sigs;
  private final Map<String, Tensor> consts;
  private final Map<String, Initializer> initializers;
  private final List<String> inputs;
  private final List<String> outputs;
  private final Set<String> outputSet;
  /** Weight views: a name for an initializer read through a permutation (a transposed weight). */
  private final Map<String, WeightView> views = new LinkedHashMap<>();
  private final Map<String, LNode> producer = new HashMap<>();
  /** Floating initializers read by {@link #value}, once each. */
  private final Map<String, Tensor> read = new HashMap<>();
  private final Map<String, List<LNode>> users = new HashMap<>();
  private final Set<LNode> present = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private int fresh;

  LiftGraph(OnnxGraph g) {
    this.nodes = new ArrayList<>();
    for (OnnxGraph.Node n : g.nodes()) {
      nodes.add(new LNode(n.type(), n.operands(), n.outputs(), n.attrs(), Provenance.of(n.label())));
    }
    this.sigs = new HashMap<>(g.sigs());
    this.consts = new LinkedHashMap<>(g.consts());
    this.initializers = g.initializers();
    this.inputs = g.inputs();
    this.outputs = g.outputs();
    this.outputSet = new HashSet<>(outputs);
    reindex();
  }

  private void reindex() {
    producer.clear();
    users.clear();
    present.clear();
    nodes.forEach(this::index);
  }

  private void index(LNode n) {
    present.add(n);
    for (String o : n.outputs()) {
      producer.put(o, n);
    }
    for (String i : n.inputs()) {
      users.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
    }
  }

  private void unindex(LNode n) {
    present.remove(n);
    for (String o : n.outputs()) {
      producer.remove(o, n);
    }
    for (String i : n.inputs()) {
      List<LNode> us = users.get(i);
      if (us != null) {
        us.removeIf(u -> u == n);
      }
    }
  }

  List<LNode> nodes() {
    return List.copyOf(nodes);
  }

  boolean contains(LNode n) {
    return present.contains(n);
  }

  List<String> inputs() {
    return inputs;
  }

  List<String> outputs() {
    return outputs;
  }

  Map<String, Initializer> initializers() {
    return initializers;
  }

  LNode producer(String v) {
    return producer.get(v);
  }

  /** The producer of {@code v} if it is an op of {@code type}. */
  LNode producer(String v, String type) {
    LNode n = producer.get(v);
    return n != null && n.is(type) ? n : null;
  }

  List<LNode> users(String v) {
    return users.getOrDefault(v, List.of());
  }

  /** Readers of {@code v}, counting a model output as one. */
  int uses(String v) {
    return users(v).size() + (outputSet.contains(v) ? 1 : 0);
  }

  Sig sig(String v) {
    Sig s = sigs.get(v);
    if (s == null) {
      throw new IllegalStateException("no type for value " + v);
    }
    return s;
  }

  long[] dims(String v) {
    return sig(v).shape().toArray();
  }

  int rank(String v) {
    return sig(v).rank();
  }

  /** An initializer seen through a permutation of its axes. */
  record WeightView(String source, List<Integer> perm) {}

  /** A weight: a floating initializer with more than one element (or a view of one), never read while compiling. */
  boolean isWeight(String v) {
    if (views.containsKey(v)) {
      return true;
    }
    Initializer i = initializers.get(v);
    return i != null && i.isWeight();
  }

  /** The weight {@code v} seen through {@code perm}, as a value name (one per source and perm). */
  String weightView(String v, List<Integer> perm) {
    WeightView base = views.get(v);
    String source = base != null ? base.source() : v;
    List<Integer> p = perm;
    if (base != null) { // compose: view of a view
      p = new ArrayList<>();
      for (int i : perm) {
        p.add(base.perm().get(i));
      }
    }
    boolean identity = true;
    for (int i = 0; i < p.size(); i++) {
      identity &= p.get(i) == i;
    }
    if (identity) {
      return source;
    }
    String name = source + (p.equals(List.of(1, 0)) ? ".T" : ".perm" + p.toString().replaceAll("[\\[\\] ]", ""));
    if (!views.containsKey(name)) {
      views.put(name, new WeightView(source, List.copyOf(p)));
      long[] d = dims(source);
      long[] t = new long[d.length];
      for (int i = 0; i < t.length; i++) {
        t[i] = d[p.get(i)];
      }
      sigs.put(name, new Sig(sig(source).dtype(), dev.meshc.ir.Shape.of(t)));
    }
    return name;
  }

  /** The view behind a weight name, or the identity view of an initializer. */
  WeightView view(String v) {
    WeightView w = views.get(v);
    return w != null ? w : new WeightView(v, List.of());
  }

  /** Makes every reader of {@code from} read {@code to} instead (not for model outputs). */
  void rewire(String from, String to) {
    for (LNode n : List.copyOf(users(from))) {
      List<String> in = n.inputs().stream().map(v -> v.equals(from) ? to : v).toList();
      LNode m = new LNode(n.op(), in, n.outputs(), n.attrs(), n.loc());
      nodes.set(nodes.indexOf(n), m);
      unindex(n);
      index(m);
    }
    removeDeadFrom(List.of(from));
  }

  /** The compile-time value of {@code v}, or null. */
  Tensor constant(String v) {
    return isWeight(v) ? null : consts.get(v);
  }

  /** RoPE fits by table pair: every layer reads the same tables, fitted once. */
  private final Map<String, java.util.Optional<RopeTables.Fit>> ropeFits = new HashMap<>();

  RopeTables.Fit ropeFit(String cos, String sin, java.util.function.Supplier<RopeTables.Fit> fit) {
    return ropeFits.computeIfAbsent(cos + "\u0000" + sin, k -> java.util.Optional.ofNullable(fit.get())).orElse(null);
  }

  /** The most elements a semantic constant may have for {@link #value} to read it (a 4096² mask is 2^24). */
  static final long READABLE_SEMANTIC = 1L << 24;

  /**
   * The value of {@code v} where a pattern needs it to know what the model computes: a constant,
   * or a floating initializer read now, on demand. Static exports fold the causal mask and the RoPE
   * tables into initializers, which look like weights; only a rewrite that has found one where a
   * mask or a table belongs reads it, so true weights stay unread. Null when the bytes are not
   * here (external data absent) or too many.
   */
  Tensor value(String v) {
    return value(v, 64);
  }

  /**
   * As {@link #value(String)}, and when {@code v} is computed from such values alone by ONNX ops
   * (GPT-J gathers its sin/cos rows from a table by constant positions, splits and repeats them),
   * the result of evaluating them, at most {@code depth} ops deep.
   */
  private Tensor value(String v, int depth) {
    Tensor t = constant(v);
    if (t != null || views.containsKey(v)) {
      return t;
    }
    if (read.containsKey(v)) {
      return read.get(v);
    }
    LNode p = producer.get(v);
    if (p != null) {
      if (depth == 0 || dev.meshc.ir.onnx.OnnxOps.find(p.op()).isEmpty()) {
        return null;
      }
      List<Tensor> in = new ArrayList<>();
      for (String i : p.inputs()) {
        Tensor x = value(i, depth - 1);
        if (x == null) {
          return null;
        }
        in.add(x);
      }
      List<Tensor> out;
      try {
        out = dev.meshc.ir.onnx.OnnxOps.get(p.op()).eval(in, p.attrs());
      } catch (RuntimeException e) {
        return null; // not evaluable here: the pattern cannot be confirmed
      }
      for (int k = 0; k < out.size(); k++) {
        if (out.get(k).size() <= READABLE_SEMANTIC) {
          read.put(p.outputs().get(k), out.get(k));
        }
      }
      return read.get(v);
    }
    Initializer init = initializers.get(v);
    if (init == null || init.shape().elements() > READABLE_SEMANTIC) {
      return null;
    }
    if (init.storage() instanceof Initializer.External e && !java.nio.file.Files.isRegularFile(e.file())) {
      return null;
    }
    try {
      return read.computeIfAbsent(v, k -> dev.meshc.compiler.onnx.TensorData.read(init));
    } catch (dev.meshc.ir.MeshcException e) {
      return null; // unreadable (short external file): not a pattern this rewrite can confirm
    }
  }

  /** The value of a constant whose elements are all equal (a scalar in any shape), or null. */
  Double scalar(String v) {
    Tensor t = constant(v);
    if (t == null || t.size() == 0 || !t.isSplat()) {
      return null;
    }
    return t.getDouble(0);
  }

  boolean isScalar(String v, double want, double tol) {
    Double s = scalar(v);
    return s != null && Math.abs(s - want) <= tol;
  }

  Map<String, Tensor> constants() {
    return consts;
  }

  /** Registers a new constant and returns its name. */
  String constant(Tensor t, String hint) {
    String name = freshName(hint);
    consts.put(name, t);
    sigs.put(name, new Sig(t.dtype(), t.shape()));
    return name;
  }

  String freshName(String hint) {
    String n;
    do {
      n = "lift." + hint + "." + fresh++;
    } while (sigs.containsKey(n));
    return n;
  }

  /**
   * Replaces {@code root} by {@code replacement}, which must produce all of root's outputs with
   * the same types; new intermediate values are typed by their op definitions.
   */
  void replace(LNode root, List<LNode> replacement) {
    int at = nodes.indexOf(root);
    if (at < 0) {
      throw new IllegalStateException("not in graph: " + root);
    }
    Map<String, Sig> before = new HashMap<>();
    root.outputs().forEach(o -> before.put(o, sigs.get(o)));
    for (LNode n : replacement) {
      List<Sig> out = infer(n);
      for (int i = 0; i < n.outputs().size(); i++) {
        String o = n.outputs().get(i);
        Sig want = before.get(o);
        if (want != null && !want.equals(out.get(i))) {
          throw new IllegalStateException("rewrite of " + root + " changes " + o + " from " + want + " to "
              + out.get(i) + " via " + n);
        }
        sigs.put(o, out.get(i));
      }
    }
    nodes.remove(at);
    unindex(root);
    nodes.addAll(at, replacement);
    replacement.forEach(this::index);
    removeDeadFrom(root.inputs());
  }

  /**
   * Removes the producers of {@code values} that nobody reads any more, and theirs in turn: after
   * a rewrite only the nodes that lost a reader can have died.
   */
  private void removeDeadFrom(List<String> values) {
    java.util.ArrayDeque<String> work = new java.util.ArrayDeque<>(values);
    while (!work.isEmpty()) {
      LNode p = producer.get(work.pop());
      if (p != null && p.outputs().stream().allMatch(o -> uses(o) == 0)) {
        nodes.remove(nodes.indexOf(p));
        unindex(p);
        work.addAll(p.inputs());
      }
    }
  }

  /** Records the result types of a node that is about to be part of a replacement. */
  void type(LNode n) {
    List<Sig> out = infer(n);
    for (int i = 0; i < out.size(); i++) {
      sigs.put(n.outputs().get(i), out.get(i));
    }
  }

  /** Result types of a node, from its op definition. */
  List<Sig> infer(LNode n) {
    OpDef def = Ops.find(n.op()).orElseThrow(() -> new IllegalStateException("no op " + n.op()));
    List<TensorType> in = new ArrayList<>();
    for (String v : n.inputs()) {
      Sig s = sig(v);
      in.add(TensorType.standard(s.dtype(), s.shape()));
    }
    return def.infer(in, n.attrs()).stream().map(t -> new Sig(t.dtype(), t.shape())).toList();
  }

  /** Removes nodes whose results nobody reads. */
  void removeDead() {
    Set<String> live = new HashSet<>(outputs);
    List<LNode> keep = new ArrayList<>();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      LNode n = nodes.get(i);
      if (n.outputs().stream().anyMatch(live::contains)) {
        keep.add(0, n);
        live.addAll(n.inputs());
      }
    }
    nodes.clear();
    nodes.addAll(keep);
    reindex();
  }

  /** Whether {@code v} is a floating tensor. */
  boolean floating(String v) {
    DType d = sig(v).dtype();
    return d.isFloating();
  }
}
