package dev.meshc.ir;

import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.OpDef;
import dev.meshc.ir.op.Ops;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds well-typed modules for tests: every op's result types come from its definition's
 * {@link OpDef#infer}, as lifting would type them, so a test states only what it is about.
 */
public final class ModuleBuilder {
  private final String name;
  private final List<Value> inputs = new ArrayList<>();
  private final List<Weight> weights = new ArrayList<>();
  private final List<Const> consts = new ArrayList<>();
  private final List<Op> ops = new ArrayList<>();
  private final List<Layer> layers = new ArrayList<>();
  private final List<Value> outputs = new ArrayList<>();
  private Layer open;

  public ModuleBuilder(String name) {
    this.name = name;
  }

  /** {@code f32[1,16,64]} in the standard layout ({@code <*,y,x>}). */
  public static TensorType std(DType dt, long... dims) {
    return TensorType.standard(dt, Shape.of(dims));
  }

  /** A type with an explicit layout, e.g. {@code type(F32, "*yx", 1, 16, 64)}. */
  public static TensorType type(DType dt, String axes, long... dims) {
    List<Layout.Axis> a = new ArrayList<>();
    for (char c : axes.toCharArray()) {
      a.add(Layout.Axis.fromSymbol(String.valueOf(c)));
    }
    return new TensorType(dt, Shape.of(dims), new Layout(a));
  }

  public Value input(String n, TensorType t) {
    Value v = new Value(n, t);
    inputs.add(v);
    return v;
  }

  public Value weight(String n, TensorType t, String source, Integer... perm) {
    Value v = new Value(n, t);
    weights.add(new Weight(v, source, Arrays.asList(perm)));
    return v;
  }

  public Value constant(String n, Tensor data, Layout layout) {
    Value v = new Value(n, new TensorType(data.dtype(), data.shape(), layout));
    consts.add(new Const(v, data));
    return v;
  }

  /** A one-result op named as the text form names it ({@code linear}, {@code Add} …). */
  public Value op(String op, String result, List<Value> operands, Attrs attrs, String... loc) {
    return ops(op, List.of(result), operands, attrs, loc).get(0);
  }

  public List<Value> ops(String op, List<String> results, List<Value> operands, Attrs attrs, String... loc) {
    OpDef def = Ops.find(op).orElseThrow(() -> new IllegalArgumentException("no op " + op));
    List<TensorType> types = def.infer(operands.stream().map(Value::type).toList(), attrs);
    List<Value> r = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      r.add(new Value(results.get(i), types.get(i)));
    }
    ops.add(def.build(operands, attrs, r, Provenance.of(loc)));
    return r;
  }

  public ModuleBuilder beginLayer(String kind, Attrs info) {
    open = new Layer(layers.size(), kind, info, ops.size(), ops.size());
    return this;
  }

  public ModuleBuilder endLayer() {
    layers.add(new Layer(open.index(), open.kind(), open.info(), open.start(), ops.size()));
    open = null;
    return this;
  }

  public ModuleBuilder output(Value v) {
    outputs.add(v);
    return this;
  }

  public Module build() {
    return new Module(name, inputs, weights, consts, ops, layers, outputs);
  }
}
