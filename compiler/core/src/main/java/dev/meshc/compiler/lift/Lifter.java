package dev.meshc.compiler.lift;

import dev.meshc.compiler.onnx.OnnxGraph;
import dev.meshc.ir.Const;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.onnx.Sig;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.OpDef;
import dev.meshc.ir.op.Ops;
import dev.meshc.ir.verify.Verifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lifting: imported ONNX graph → tile IR. Runs the block rewrites in a fixed order (each to a
 * fixed point), drops what they made dead, groups the layers, and builds the module with every
 * tensor's layout inferred from its operands by the op definitions.
 */
public final class Lifter {
  private Lifter() {}

  /** The rewrites, in the order they run: later ones match what earlier ones built. */
  private static final List<Rewrites.Rule> RULES = List.of(
      Rewrites::identity,
      Rewrites::linear,
      Rewrites::unflattenLinear,
      Rewrites::embedding,
      Rewrites::norm,
      Rewrites::geluErf,
      Rewrites::geluTanh,
      Rewrites::silu,
      Rewrites::relu,
      Rewrites::relu2,
      Rewrites::gated,
      Rewrites::splitHeads,
      Rewrites::mergeHeads,
      Rewrites::rope,
      Rewrites::partialRope,
      AttentionRewrite::apply,
      Rewrites::mergeHeads);

  public static Module lift(OnnxGraph graph) {
    LiftGraph g = new LiftGraph(graph);
    g.removeDead();
    for (Rewrites.Rule rule : RULES) {
      boolean changed = true;
      while (changed) {
        changed = false;
        for (LNode n : g.nodes()) {
          if (g.contains(n) && rule.apply(g, n)) {
            changed = true;
          }
        }
      }
    }
    Module m = build(graph.name(), g, Layers.group(g));
    try {
      Verifier.verify(m);
    } catch (MeshcException e) {
      throw new IllegalStateException("lifting produced an invalid module: " + e.getMessage(), e);
    }
    return m;
  }

  /** Inputs and constants of integer type are token ids and positions: sequence along Y. */
  static Layout layoutFor(Sig s) {
    if (s.dtype().isFloating() || s.rank() == 0) {
      return Layout.standard(s.rank());
    }
    return new Layout(Layout.standard(s.rank() + 1).dims().subList(0, s.rank()));
  }

  private static Module build(String name, LiftGraph g, Layers.Plan plan) {
    Map<String, Value> values = new HashMap<>();
    List<Value> inputs = new ArrayList<>();
    for (String in : g.inputs()) {
      Sig s = g.sig(in);
      Value v = new Value(in, new TensorType(s.dtype(), s.shape(), layoutFor(s)));
      values.put(in, v);
      inputs.add(v);
    }
    Map<String, Weight> weights = new LinkedHashMap<>();
    Map<String, Const> consts = new LinkedHashMap<>();
    List<Op> ops = new ArrayList<>();
    int counter = 0;
    for (LNode n : plan.order()) {
      List<Value> operands = new ArrayList<>();
      for (String in : n.inputs()) {
        operands.add(values.computeIfAbsent(in, k -> leaf(g, k, weights, consts)));
      }
      OpDef def = Ops.find(n.op()).orElseThrow(() -> unsupported(n));
      List<TensorType> types = def.infer(operands.stream().map(Value::type).toList(), n.attrs());
      List<Value> results = new ArrayList<>();
      for (int i = 0; i < types.size(); i++) {
        String onnxName = n.outputs().get(i);
        String irName = g.outputs().contains(onnxName) ? onnxName : Integer.toString(counter++);
        while (values.containsKey(irName)) {
          irName = "v" + irName;
        }
        Value v = new Value(irName, types.get(i));
        values.put(onnxName, v);
        results.add(v);
      }
      ops.add(def.build(operands, n.attrs(), results, n.loc()));
    }
    List<Value> outputs = new ArrayList<>();
    for (String o : g.outputs()) {
      outputs.add(values.computeIfAbsent(o, k -> leaf(g, k, weights, consts)));
    }
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < plan.layers().size(); i++) {
      Layers.Found f = plan.layers().get(i);
      int[] r = plan.ranges().get(i);
      layers.add(new Layer(i, f.kind(), f.info(), r[0], r[1]));
    }
    return new Module(name, inputs, List.copyOf(weights.values()), List.copyOf(consts.values()), ops, layers,
        outputs);
  }

  /** A value no node produces: a weight (by initializer) or a constant. */
  private static Value leaf(LiftGraph g, String name, Map<String, Weight> weights, Map<String, Const> consts) {
    Sig s = g.sig(name);
    if (g.isWeight(name)) {
      LiftGraph.WeightView view = g.view(name);
      Value v = new Value(name, TensorType.standard(s.dtype(), s.shape()));
      weights.put(name, new Weight(v, view.source(), view.perm()));
      return v;
    }
    Tensor t = g.constant(name);
    if (t == null) {
      throw new IllegalStateException("value " + name + " has no producer and no value");
    }
    Value v = new Value("c" + consts.size(), new TensorType(s.dtype(), s.shape(), layoutFor(s)));
    consts.put(name, new Const(v, t));
    return v;
  }

  private static MeshcException unsupported(LNode n) {
    return MeshcException.input("op %s (node %s) has no tile-IR definition", n.op(), n.loc().nodes());
  }
}
