package dev.meshc.ir.text;

import dev.meshc.grammar.TirLexer;
import dev.meshc.grammar.TirParser.AttrContext;
import dev.meshc.grammar.TirParser.AttrDictContext;
import dev.meshc.grammar.TirParser.AttrValueContext;
import dev.meshc.grammar.TirParser.AxisContext;
import dev.meshc.grammar.TirParser.ConstantContext;
import dev.meshc.grammar.TirParser.InputContext;
import dev.meshc.grammar.TirParser.ItemContext;
import dev.meshc.grammar.TirParser.KernelContext;
import dev.meshc.grammar.TirParser.KeyContext;
import dev.meshc.grammar.TirParser.LayerContext;
import dev.meshc.grammar.TirParser.LiteralContext;
import dev.meshc.grammar.TirParser.Module_Context;
import dev.meshc.grammar.TirParser.NumberContext;
import dev.meshc.grammar.TirParser.OpContext;
import dev.meshc.grammar.TirParser.OperandContext;
import dev.meshc.grammar.TirParser.PlacementContext;
import dev.meshc.grammar.TirParser.RegionContext;
import dev.meshc.grammar.TirParser.TypeContext;
import dev.meshc.grammar.TirParser.WeightContext;
import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.Const;
import dev.meshc.ir.DType;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.onnx.OnnxOps;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.OpDef;
import dev.meshc.ir.op.Ops;
import dev.meshc.ir.verify.Verifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.tree.TerminalNode;

/**
 * Builds a {@link Module} from a parse tree, checking as it goes what the grammar cannot: names
 * are defined once and before use, {@code @} marks exactly the weights, ops exist and take what
 * they are given, declared result types are what the op gives. Every error points at the token
 * that is wrong. Ops are built through their {@link OpDef}, the same definition the printer and
 * the verifier read.
 */
final class ModuleReader {
  private final String file;
  private final Map<String, Defined> scope = new HashMap<>();
  private final List<Value> inputs = new ArrayList<>();
  private final List<Weight> weights = new ArrayList<>();
  private final List<Const> consts = new ArrayList<>();
  private final List<Op> ops = new ArrayList<>();
  private final List<Layer> layers = new ArrayList<>();
  private final List<Value> outputs = new ArrayList<>();
  private final List<Placement> placements = new ArrayList<>();

  /** A defined name: its value, whether it is a weight, and the token that defined it. */
  private record Defined(Value value, boolean weight, Token at) {}

  ModuleReader(String file) {
    this.file = file;
  }

  Module read(Module_Context tree) {
    if (tree.header() != null) {
      Token v = tree.header().INT().getSymbol();
      if (!v.getText().equals("1")) {
        throw error(v, "this is tile IR version %s; meshc reads version 1", v.getText());
      }
    }
    for (ItemContext item : tree.item()) {
      if (item.input() != null) {
        input(item.input());
      } else if (item.weight() != null) {
        weight(item.weight());
      } else if (item.constant() != null) {
        constant(item.constant());
      } else if (item.op() != null) {
        op(item.op());
      } else if (item.layer() != null) {
        layer(item.layer());
      } else if (item.placement() != null) {
        placement(item.placement());
      } else {
        outputs.add(operand(item.output().operand()));
      }
    }
    Module m = new Module(TirSyntax.unquote(tree.STRING().getText()), inputs, weights, consts, ops, layers,
        outputs, placements);
    try {
      Verifier.verify(m); // everything it checks was checked above with a position; this is the backstop
    } catch (MeshcException e) {
      throw new MeshcException(MeshcException.Kind.INPUT, file + ": " + e.getMessage(), e);
    }
    return m;
  }

  private void input(InputContext c) {
    Token t = c.VALUE().getSymbol();
    fresh(t);
    Value v = value(t, type(c.type()));
    define(v, false, t);
    inputs.add(v);
  }

  private void weight(WeightContext c) {
    Token t = c.WEIGHT().getSymbol();
    fresh(t);
    Value v = value(t, type(c.type()));
    List<Integer> perm = new ArrayList<>();
    Token permAt = t;
    if (c.intList() != null) {
      permAt = c.intList().getStart();
      for (TerminalNode n : c.intList().INT()) {
        perm.add(toInt(n.getSymbol()));
      }
    }
    String source = TirSyntax.unquote(c.STRING().getText());
    Weight w = at(permAt, () -> new Weight(v, source, perm));
    define(v, true, t);
    weights.add(w);
  }

  private void constant(ConstantContext c) {
    Token t = c.VALUE().getSymbol();
    fresh(t);
    Value v = value(t, type(c.type()));
    Tensor data = literal(c.literal(), v);
    define(v, false, t);
    consts.add(at(t, () -> new Const(v, data)));
  }

  /** One number fills the shape; a list gives every element in row-major order. */
  private Tensor literal(LiteralContext c, Value v) {
    DType dt = v.dtype();
    Shape s = v.shape();
    if (c.number() != null) {
      int n = at(c.getStart(), s::elementsAsInt);
      if (dt.isFloating()) {
        float[] f = new float[n];
        Arrays.fill(f, toFloat(c.number()));
        return Tensor.ofFloats(dt, s, f);
      }
      long[] l = new long[n];
      Arrays.fill(l, integerElement(c.number(), v));
      return Tensor.ofLongs(dt, s, l);
    }
    List<NumberContext> xs = c.numberList().number();
    long want = at(c.getStart(), s::elements);
    if (xs.size() != want) {
      throw error(c.getStart(), "constant %s has %d element%s but its type %s holds %d", ref(v.name(), false),
          xs.size(), xs.size() == 1 ? "" : "s", TirPrinter.type(v.type()), want);
    }
    if (dt.isFloating()) {
      float[] f = new float[xs.size()];
      for (int i = 0; i < f.length; i++) {
        f[i] = toFloat(xs.get(i));
      }
      return Tensor.ofFloats(dt, s, f);
    }
    long[] l = new long[xs.size()];
    for (int i = 0; i < l.length; i++) {
      l[i] = integerElement(xs.get(i), v);
    }
    return Tensor.ofLongs(dt, s, l);
  }

  private long integerElement(NumberContext n, Value v) {
    Token t = n.getStart();
    if (t.getType() != TirLexer.INT) {
      throw error(t, "constant %s is %s: its elements are integers, not %s", ref(v.name(), false),
          v.dtype().irName(), t.getText());
    }
    return toLong(t);
  }

  private void layer(LayerContext c) {
    Token t = c.INT().getSymbol();
    int index = toInt(t);
    if (index != layers.size()) {
      throw error(t, "layer %d should be layer %d: layers are numbered 0, 1, 2 ... in order", index, layers.size());
    }
    String kind = key(c.key());
    Attrs info = attrs(c.attrDict());
    int start = ops.size();
    c.op().forEach(this::op);
    layers.add(new Layer(index, kind, info, start, ops.size()));
  }

  private void op(OpContext c) {
    List<TerminalNode> resultNames = c.VALUE();
    for (int i = 0; i < resultNames.size(); i++) {
      Token t = resultNames.get(i).getSymbol();
      fresh(t);
      String result = TirSyntax.refName(t.getText());
      for (TerminalNode earlier : resultNames.subList(0, i)) {
        if (TirSyntax.refName(earlier.getText()).equals(result)) {
          throw error(t, "%s is defined twice (first on line %d)", ref(result, false), earlier.getSymbol().getLine());
        }
      }
    }
    Token nameAt = c.name().getStart();
    String name = c.name().getText();
    OpDef def = Ops.find(name).orElseThrow(() -> unknownOp(nameAt, name));
    List<Value> operands = c.operand().stream().map(this::operand).toList();
    Attrs attrs = attrs(c.attrDict());
    List<TypeContext> typeAt = c.type();
    if (resultNames.size() != typeAt.size()) {
      throw error(typeAt.get(0).getStart(), "%s names %d result%s but declares %d type%s", name,
          resultNames.size(), resultNames.size() == 1 ? "" : "s", typeAt.size(), typeAt.size() == 1 ? "" : "s");
    }
    List<Value> results = new ArrayList<>();
    for (int i = 0; i < resultNames.size(); i++) {
      results.add(value(resultNames.get(i).getSymbol(), type(typeAt.get(i))));
    }
    Provenance loc = c.loc() == null ? Provenance.NONE
        : new Provenance(c.loc().STRING().stream().map(s -> TirSyntax.unquote(s.getText())).toList());

    List<TensorType> operandTypes = operands.stream().map(Value::type).toList();
    List<TensorType> inferred = call(nameAt, name, () -> def.infer(operandTypes, attrs));
    if (inferred.size() != results.size()) {
      throw error(nameAt, "%s gives %d result%s here, but %d %s declared", name, inferred.size(),
          inferred.size() == 1 ? "" : "s", results.size(), results.size() == 1 ? "is" : "are");
    }
    for (int i = 0; i < results.size(); i++) {
      String why = Verifier.typeMismatch(results.get(i).type(), inferred.get(i));
      if (why != null) {
        throw error(typeAt.get(i).getStart(), "%s: result %s %s", name, ref(results.get(i).name(), false), why);
      }
    }
    Op op = call(nameAt, name, () -> def.build(operands, attrs, results, loc));
    if (!(op instanceof Generic)) {
      unusedAttrs(c.attrDict(), name, op.attrs().asMap().keySet());
    }
    for (int i = 0; i < results.size(); i++) {
      define(results.get(i), false, resultNames.get(i).getSymbol());
    }
    ops.add(op);
  }

  /**
   * A block op keeps the attributes it understands in typed fields; one it does not take would be
   * dropped silently, so it is an error instead.
   */
  private void unusedAttrs(AttrDictContext c, String op, Set<String> used) {
    if (c == null) {
      return;
    }
    for (AttrContext a : c.attr()) {
      String k = key(a.key());
      if (!used.contains(k)) {
        throw error(a.getStart(), "%s does not take attribute '%s' here (%s)", op, k,
            used.isEmpty() ? "it takes none" : "it takes " + String.join(", ", used));
      }
    }
  }

  private MeshcException unknownOp(Token at, String name) {
    if (OnnxOps.find(name).isPresent()) {
      return error(at, "%s is folded to a constant at import; it cannot appear in the tile IR", name);
    }
    List<String> all = new ArrayList<>(Ops.blockNames());
    all.addAll(OnnxOps.supported());
    String like = all.stream().filter(n -> n.equalsIgnoreCase(name) && !n.equals(name)).map(n -> "'" + n + "'")
        .collect(Collectors.joining(" or "));
    return error(at, "unknown op '%s': neither a block op (%s) nor a supported ONNX op%s", name,
        String.join(", ", Ops.blockNames()), like.isEmpty() ? "" : "; did you mean " + like + "?");
  }

  /** The value an operand names, which must be defined already and written with the right sigil. */
  private Value operand(OperandContext c) {
    Token t = c.getStart();
    boolean weight = c.WEIGHT() != null;
    String name = TirSyntax.refName(t.getText());
    Defined d = scope.get(name);
    if (d == null) {
      throw error(t, "undefined value %s", ref(name, weight));
    }
    if (d.weight() != weight) {
      throw error(t, d.weight() ? "%s is a weight: write %s" : "%s is not a weight: write %s", ref(name, weight),
          ref(name, d.weight()));
    }
    return d.value();
  }

  /** A placed plan: its regions numbered 0, 1, 2 … in order; the verifier checks what they hold. */
  private void placement(PlacementContext c) {
    List<Placement.Region> regions = new ArrayList<>();
    for (RegionContext r : c.region()) {
      Token t = r.INT().getSymbol();
      if (toInt(t) != regions.size()) {
        throw error(t, "region %s should be region %d: regions are numbered 0, 1, 2 ... in order", t.getText(),
            regions.size());
      }
      List<Placement.Kernel> kernels = new ArrayList<>();
      for (KernelContext k : r.kernel()) {
        kernels.add(new Placement.Kernel(key(k.key()), attrs(k.attrDict())));
      }
      regions.add(new Placement.Region(regions.size(), attrs(r.attrDict()), kernels));
    }
    placements.add(new Placement(key(c.key()), attrs(c.attrDict()), regions));
  }

  private Attrs attrs(AttrDictContext c) {
    if (c == null) {
      return Attrs.EMPTY;
    }
    Map<String, Attr> m = new TreeMap<>();
    for (AttrContext a : c.attr()) {
      String k = key(a.key());
      if (m.put(k, attr(a.attrValue())) != null) {
        throw error(a.getStart(), "attribute '%s' is given twice", k);
      }
    }
    return Attrs.of(m);
  }

  /** A list with any float in it is a float list; {@code []} is an empty integer list. */
  private Attr attr(AttrValueContext c) {
    if (c.number() != null) {
      Token t = c.number().getStart();
      return t.getType() == TirLexer.INT ? new Attr.Int(toLong(t)) : new Attr.Float(toFloat(c.number()));
    }
    if (c.STRING() != null) {
      return new Attr.Str(TirSyntax.unquote(c.STRING().getText()));
    }
    List<NumberContext> xs = c.numberList().number();
    if (xs.stream().anyMatch(n -> n.getStart().getType() == TirLexer.FLOAT)) {
      return new Attr.Floats(xs.stream().map(ModuleReader::toFloat).toList());
    }
    return new Attr.Ints(xs.stream().map(n -> toLong(n.getStart())).toList());
  }

  private String key(KeyContext c) {
    return c.STRING() != null ? TirSyntax.unquote(c.STRING().getText()) : c.getText();
  }

  private TensorType type(TypeContext c) {
    Token dtAt = c.name().getStart();
    DType dt = Arrays.stream(DType.values()).filter(d -> d.irName().equals(dtAt.getText())).findFirst()
        .orElseThrow(() -> error(dtAt, "unknown element type '%s' (meshc knows %s)", dtAt.getText(),
            Arrays.stream(DType.values()).map(DType::irName).collect(Collectors.joining(", "))));
    long[] dims = new long[c.INT().size()];
    for (int i = 0; i < dims.length; i++) {
      Token t = c.INT(i).getSymbol();
      dims[i] = toLong(t);
      if (dims[i] < 0) {
        throw error(t, "negative dimension %d", dims[i]);
      }
    }
    List<Layout.Axis> axes = new ArrayList<>();
    for (AxisContext a : c.axis()) {
      axes.add(at(a.getStart(), () -> Layout.Axis.fromSymbol(a.getText())));
    }
    Token layoutAt = c.axis().isEmpty() ? c.getStart() : c.axis(0).getStart();
    Layout layout = at(layoutAt, () -> new Layout(axes));
    return at(c.getStart(), () -> new TensorType(dt, Shape.of(dims), layout));
  }

  private Value value(Token t, TensorType type) {
    String name = TirSyntax.refName(t.getText());
    if (name.isEmpty()) {
      throw error(t, "a value needs a name");
    }
    return new Value(name, type);
  }

  /**
   * Fails when the name that {@code t} defines is taken; checked before the rest of the definition
   * is read, so that errors come in the order of the text.
   */
  private void fresh(Token t) {
    String name = TirSyntax.refName(t.getText());
    Defined first = scope.get(name);
    if (first != null) {
      throw twice(t, ref(name, t.getType() == TirLexer.WEIGHT), first);
    }
  }

  /** Records a definition; {@link #fresh} has checked the name. */
  private void define(Value v, boolean weight, Token t) {
    scope.put(v.name(), new Defined(v, weight, t));
  }

  private MeshcException twice(Token t, String ref, Defined first) {
    String firstRef = ref(first.value().name(), first.weight());
    return error(t, "%s is defined twice (first%s on line %d)", ref, firstRef.equals(ref) ? "" : " as " + firstRef,
        first.at().getLine());
  }

  private static String ref(String name, boolean weight) {
    return TirSyntax.ref(name, weight);
  }

  private static float toFloat(NumberContext n) {
    return Float.parseFloat(n.getText());
  }

  private long toLong(Token t) {
    try {
      return Long.parseLong(t.getText());
    } catch (NumberFormatException e) {
      throw error(t, "%s does not fit in 64 bits", t.getText());
    }
  }

  private int toInt(Token t) {
    long v = toLong(t);
    if (v != (int) v) {
      throw error(t, "%d is out of range", v);
    }
    return (int) v;
  }

  /** Runs a constructor that checks its arguments; its complaint gets {@code t}'s position. */
  private <T> T at(Token t, Supplier<T> s) {
    try {
      return s.get();
    } catch (MeshcException | IllegalArgumentException e) {
      throw error(t, "%s", e.getMessage());
    }
  }

  /**
   * Runs an op definition. A type rule may trip over a malformed attribute (an axis past the rank)
   * before it can name the problem, so any failure becomes a positioned error.
   */
  private <T> T call(Token t, String op, Supplier<T> s) {
    try {
      return s.get();
    } catch (MeshcException e) {
      String why = e.getMessage();
      throw error(t, "%s", why.startsWith(op) ? why : op + ": " + why);
    } catch (RuntimeException e) {
      throw error(t, "%s cannot take these operands and attributes (%s)", op, e);
    }
  }

  private MeshcException error(Token t, String format, Object... args) {
    return new MeshcException(MeshcException.Kind.INPUT, String.format(Locale.ROOT, "%s:%d:%d: %s", file,
        t.getLine(), t.getCharPositionInLine() + 1, String.format(Locale.ROOT, format, args)));
  }
}
