package dev.meshc.ir;

import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.OpDef;
import dev.meshc.ir.op.Ops;
import dev.meshc.ir.verify.Verifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A lifted module at another sequence length: what a static export (its graph fixed at [1, T])
 * computes for [1, n]. Lifting has already read what the trace froze into constants (a causal mask
 * is the {@code causal} flag, RoPE tables are θ), so what is left to move is the sequence dim of
 * each value, which its layout names (the dim split along Y); a Reshape's target follows it. A
 * weight or constant that is a per-position table (GPT-2's learned positions folded to
 * [1, T, E]) is read through a Slice of its first n rows: the decoder moves that slice to the
 * step's position, as it does with a constant index the trace froze.
 */
public final class Resequence {
  private Resequence() {}

  /** The name prefix of the slices this pass inserts. */
  private static final String PREFIX = "resequence.";

  /** The sequence length of the token-id input (an integer input's last dim), or -1 when none. */
  public static long traced(Module m) {
    for (Value v : m.inputs()) {
      if (!v.dtype().isFloating() && v.shape().rank() >= 2) {
        return v.shape().dim(-1);
      }
    }
    return -1;
  }

  /** {@code m} at sequence length {@code n}; a one-line error names the op that does not follow. */
  public static Module at(Module m, long n) {
    long t = traced(m);
    if (t < 0) {
      throw MeshcException.input("%s has no token-id input whose length could change", m.name());
    }
    if (t == n) {
      return m;
    }
    Map<String, Value> values = new HashMap<>();
    List<Value> inputs = new ArrayList<>();
    for (Value v : m.inputs()) {
      Value r = new Value(v.name(), retype(v.type(), t, n));
      values.put(v.name(), r);
      inputs.add(r);
    }
    Map<String, Value> leaves = new HashMap<>();
    m.weights().forEach(w -> leaves.put(w.name(), w.value()));
    List<Const> consts = new ArrayList<>();
    for (Const c : m.consts()) {
      TensorType ty = retype(c.value().type(), t, n);
      Const r = ty.equals(c.value().type()) || c.value().dtype().isFloating() ? c
          : new Const(new Value(c.value().name(), ty), firstRows(c.data(), c.value().type(), t, n));
      consts.add(r);
      values.put(r.value().name(), r.value()); // position ids: the first n, moved by the decoder
      leaves.put(c.value().name(), r.value());
    }
    List<Op> ops = new ArrayList<>();
    int[] start = new int[m.ops().size() + 1]; // where old op i's replacement begins
    int fresh = 0;
    for (int i = 0; i < m.ops().size(); i++) {
      Op op = m.ops().get(i);
      start[i] = ops.size();
      List<Value> operands = new ArrayList<>();
      for (Value v : op.operands()) {
        Value r = values.get(v.name());
        if (r == null && leaves.containsKey(v.name()) && op instanceof Generic && positional(v, t)) {
          r = firstRows(v, t, n, "seq" + fresh++, op.loc(), ops);
        }
        operands.add(r != null ? r : v);
      }
      Attrs attrs = op.attrs();
      if (op instanceof Generic g && g.type().equals("Reshape")) {
        attrs = reshapeTarget(g, t, n);
      }
      List<TensorType> types;
      try {
        types = op.def().infer(operands.stream().map(Value::type).toList(), attrs);
      } catch (MeshcException e) {
        throw MeshcException.input("%s: op %d (%s, ONNX %s) does not follow the sequence from %d to %d: %s", m.name(),
            i, op.name(), String.join(", ", op.loc().nodes()), t, n, e.getMessage());
      }
      List<Value> results = new ArrayList<>();
      for (int k = 0; k < types.size(); k++) {
        Value r = new Value(op.results().get(k).name(), types.get(k));
        values.put(r.name(), r);
        results.add(r);
      }
      ops.add(op.def().build(operands, attrs, results, op.loc()));
    }
    start[m.ops().size()] = ops.size();
    List<Layer> layers = m.layers().stream()
        .map(l -> new Layer(l.index(), l.kind(), l.info(), start[l.start()], start[l.end()])).toList();
    List<Value> outputs = m.outputs().stream().map(v -> values.getOrDefault(v.name(), v)).toList();
    Module r = new Module(m.name(), inputs, m.weights(), consts, ops, layers, outputs, m.placements());
    Verifier.verify(r);
    return r;
  }

  /**
   * How many positions a resequenced module can step through: the rows of the per-position tables
   * it reads through slices (the export fixed them), or {@link Long#MAX_VALUE} when it reads none.
   */
  public static long positions(Module m) {
    java.util.Set<String> weights = m.weightNames();
    long rows = Long.MAX_VALUE;
    for (Op op : m.ops()) {
      if (op instanceof Generic g && g.type().equals("Slice") && g.results().get(0).name().startsWith(PREFIX)
          && weights.contains(g.operands().get(0).name())) {
        rows = Math.min(rows, g.operands().get(0).shape().dim((int) g.attrs().getInts("axes")[0]));
      }
    }
    return rows;
  }

  /** The type with its sequence dim (the one along Y, of length t) at n. */
  private static TensorType retype(TensorType ty, long t, long n) {
    int y = ty.layout().dims().indexOf(Layout.Axis.Y);
    if (y < 0 || ty.shape().dim(y) != t) {
      return ty;
    }
    long[] d = ty.shape().toArray();
    d[y] = n;
    return ty.withShape(Shape.of(d));
  }

  /** The first n entries along the sequence dim (Y, length t) of an integer constant (position ids). */
  private static Tensor firstRows(Tensor data, TensorType ty, long t, long n) {
    int y = ty.layout().dims().indexOf(Layout.Axis.Y);
    Attrs a = Attrs.builder().put("axes", new long[] {y}).put("starts", new long[] {0})
        .put("sizes", new long[] {n}).put("steps", new long[] {1}).build();
    return dev.meshc.ir.onnx.OnnxOps.get("Slice").eval(List.of(data), a).get(0);
  }

  /** A leaf read by an elementwise op as a table over positions: rank ≥ 2, its second-to-last dim t. */
  private static boolean positional(Value v, long t) {
    return v.shape().rank() >= 2 && v.shape().dim(-2) == t && v.dtype().isFloating() && t > 1;
  }

  /** Slice(v)[…, 0:n, :]: the first n positions of a table; the decoder moves it to the step. */
  private static Value firstRows(Value v, long t, long n, String name, Provenance loc, List<Op> ops) {
    int axis = v.shape().rank() - 2;
    Attrs a = Attrs.builder().put("axes", new long[] {axis}).put("starts", new long[] {0})
        .put("sizes", new long[] {n}).put("steps", new long[] {1}).build();
    OpDef slice = Ops.find("Slice").orElseThrow();
    Value out = new Value(PREFIX + name, slice.infer(List.of(v.type()), a).get(0));
    ops.add(slice.build(List.of(v), a, List.of(out), loc));
    return out;
  }

  /** A Reshape's target with the sequence dim of its result (along Y, length t) at n. */
  private static Attrs reshapeTarget(Generic g, long t, long n) {
    long[] shape = g.attrs().getInts("shape").clone();
    int y = g.results().get(0).layout().dims().indexOf(Layout.Axis.Y);
    if (y >= 0 && y < shape.length && shape[y] == t) {
      shape[y] = n;
    }
    return g.attrs().toBuilder().put("shape", shape).build();
  }
}
