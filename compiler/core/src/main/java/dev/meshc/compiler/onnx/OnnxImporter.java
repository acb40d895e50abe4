package dev.meshc.compiler.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.onnx.NodeInput;
import dev.meshc.ir.onnx.Normalized;
import dev.meshc.ir.onnx.OnnxOp;
import dev.meshc.ir.onnx.OnnxOps;
import dev.meshc.ir.onnx.Sig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.jgrapht.Graph;
import org.jgrapht.alg.cycle.CycleDetector;
import org.jgrapht.graph.DefaultDirectedGraph;
import org.jgrapht.graph.DefaultEdge;
import org.jgrapht.traverse.TopologicalOrderIterator;

/**
 * ONNX import: reads a ModelProto, binds dynamic input dims, infers every shape, folds the shape
 * plumbing, and returns an {@link OnnxGraph}. Reads dims, never weight bytes: an initializer's
 * values are read only when folding needs them and they are small and inline.
 */
public final class OnnxImporter {
  /** IR versions meshc reads. */
  public static final int MIN_IR = 6;
  public static final int MAX_IR = 10;
  /** Default-domain opsets meshc reads. */
  public static final int MIN_OPSET = 11;
  public static final int MAX_OPSET = 21;
  /**
   * Inline floating vectors up to this many elements are read when a node whose inputs are all
   * known reads them (RoPE frequencies, scalars); a weight read by a runtime op never is, and a
   * matrix never is: folding Transpose(W) of a tiny model's W would turn the weight into a constant.
   */
  static final long READABLE_FLOATS = 1024;
  /** Inline integer initializers up to this many elements may be read to fold (shapes, indices). */
  static final long READABLE_INTS = 1 << 20;
  /** Folded results larger than this stay runtime ops rather than constants in the plan. */
  static final long FOLD_LIMIT = 1 << 22;

  private final Path file;
  private final Path dir;
  private final List<InputBinding> bindings;

  private final Map<String, Sig> sigs = new HashMap<>();
  private final Map<String, Tensor> consts = new HashMap<>();
  private final Map<String, Initializer> inits = new LinkedHashMap<>();
  /** Optional outputs meshc does not compute (LayerNormalization's Mean, Dropout's mask), by value. */
  private final Map<String, String> unsupportedOutputs = new HashMap<>();

  private final Limits limits;

  private OnnxImporter(Path file, List<InputBinding> bindings, Limits limits) {
    this.file = file;
    this.limits = limits;
    this.dir = file.toAbsolutePath().getParent();
    this.bindings = List.copyOf(bindings);
  }

  /** Imports {@code file} with the given input shape bindings. */
  public static OnnxGraph importModel(Path file, List<InputBinding> bindings) {
    return importModel(file, bindings, Limits.DEFAULTS);
  }

  /** As above, refusing a file that crosses {@code limits}. */
  public static OnnxGraph importModel(Path file, List<InputBinding> bindings, Limits limits) {
    return new OnnxImporter(file, bindings, limits).run(readModel(file, limits));
  }

  /** A graph's inputs (initializers excluded) and outputs, by name, in the file's order. */
  public record Interface(List<String> inputs, List<String> outputs) {}

  /** The names a model is fed and answers with, before any shape is bound. */
  public static Interface graphInterface(Path file, Limits limits) {
    GraphProto g = readModel(file, limits).getGraph();
    java.util.Set<String> initialized = new java.util.HashSet<>();
    g.getInitializerList().forEach(t -> initialized.add(t.getName()));
    return new Interface(g.getInputList().stream().map(ValueInfoProto::getName).filter(n -> !initialized.contains(n))
        .toList(), g.getOutputList().stream().map(ValueInfoProto::getName).toList());
  }

  /** Parses the file as a ModelProto, or fails with one line saying why it is not a model. */
  public static ModelProto readModel(Path file) {
    return readModel(file, Limits.DEFAULTS);
  }

  /** How protobuf says a message crossed the recursion limit. */
  private static final String NESTING = "Protocol message had too many levels of nesting";

  /** As above, with {@code limits} on the file's size and nesting. */
  public static ModelProto readModel(Path file, Limits limits) {
    if (!Files.exists(file)) {
      throw MeshcException.input("%s: no such file", file);
    }
    if (!Files.isRegularFile(file)) {
      throw MeshcException.input("%s: not a regular file", file);
    }
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot read: %s", file, e.getMessage());
    }
    if (size == 0) {
      throw MeshcException.input("%s: empty file, not an ONNX model", file);
    }
    if (size >= Integer.MAX_VALUE) {
      throw MeshcException.input("%s: %d bytes is beyond protobuf's 2 GiB limit; store weights as external data",
          file, size);
    }
    if (size > limits.modelBytes()) {
      throw Limits.exceeded(file, "the file's size in bytes", size, "model-bytes", limits.modelBytes());
    }
    ModelProto model;
    try (InputStream in = Files.newInputStream(file)) {
      CodedInputStream cin = CodedInputStream.newInstance(in);
      cin.setSizeLimit(Integer.MAX_VALUE);
      cin.setRecursionLimit((int) limits.protoDepth());
      model = ModelProto.parseFrom(cin);
    } catch (InvalidProtocolBufferException e) {
      if (String.valueOf(e.getMessage()).startsWith(NESTING)) {
        throw Limits.exceeded(file, "the protobuf nesting depth", "more than " + limits.protoDepth(), "proto-depth",
            limits.protoDepth());
      }
      throw MeshcException.input("%s: not a readable ONNX model (truncated or corrupt protobuf: %s)", file,
          firstLine(e.getMessage()));
    } catch (StackOverflowError e) { // a raised proto-depth the thread's stack cannot hold
      throw MeshcException.input("%s: protobuf messages nest too deeply to parse with this stack", file);
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot read: %s", file, e.getMessage());
    }
    if (!model.hasGraph() || model.getIrVersion() == 0) {
      throw MeshcException.input("%s: not an ONNX model (no graph or IR version in it)", file);
    }
    return model;
  }

  /** Names and string attributes longer than the limit are refused before anything prints them. */
  private void checkNames(GraphProto g) {
    long max = limits.nameBytes();
    for (NodeProto n : g.getNodeList()) {
      checkName(n.getName(), "a node name", max);
      checkName(n.getOpType(), "an op type", max);
      for (String v : n.getInputList()) {
        checkName(v, "a value name", max);
      }
      for (String v : n.getOutputList()) {
        checkName(v, "a value name", max);
      }
      for (var a : n.getAttributeList()) {
        checkName(a.getName(), "an attribute name", max);
        checkName(a.getS().size(), "a string attribute", max);
        for (var bs : a.getStringsList()) {
          checkName(bs.size(), "a string attribute", max);
        }
      }
    }
    for (TensorProto t : g.getInitializerList()) {
      checkName(t.getName(), "an initializer name", max);
    }
    for (var v : g.getInputList()) {
      checkName(v.getName(), "an input name", max);
    }
  }

  private void checkName(String s, String what, long max) {
    checkName(s.length(), what, max);
  }

  private void checkName(long length, String what, long max) {
    if (length > max) {
      throw Limits.exceeded(file, what + "'s length", length, "name-bytes", max);
    }
  }

  private static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private OnnxGraph run(ModelProto model) {
    long ir = model.getIrVersion();
    if (ir < MIN_IR || ir > MAX_IR) {
      throw MeshcException.input("%s: ONNX IR version %d is not supported (meshc reads IR %d to %d)", file, ir, MIN_IR,
          MAX_IR);
    }
    int opset = defaultOpset(model);
    GraphProto g = model.getGraph();

    if (g.getNodeCount() > limits.nodes()) {
      throw Limits.exceeded(file, "the graph's node count", g.getNodeCount(), "nodes", limits.nodes());
    }
    checkNames(g);
    for (TensorProto t : g.getInitializerList()) {
      long elements = 1;
      for (long d : t.getDimsList()) {
        elements = d < 0 || (d > 0 && elements > Long.MAX_VALUE / d) ? Long.MAX_VALUE : elements * d;
      }
      if (elements > limits.elements()) {
        throw Limits.exceeded(file, "initializer '" + clip(t.getName()) + "' element count", elements, "elements",
            limits.elements());
      }
      if (inits.containsKey(t.getName())) {
        throw MeshcException.input("%s: initializer '%s' is defined twice", file, t.getName());
      }
      Initializer init = TensorData.describe(t, dir, "initializer");
      inits.put(t.getName(), init);
      sigs.put(t.getName(), new Sig(init.dtype(), init.shape()));
    }
    List<String> inputs = bindInputs(g);
    List<NodeProto> protos = g.getNodeList();
    List<Integer> order = topologicalOrder(protos, inputs);

    Map<String, Integer> histogram = new TreeMap<>();
    protos.forEach(n -> histogram.merge(n.getOpType(), 1, Integer::sum));

    List<OnnxGraph.Node> kept = new ArrayList<>();
    for (int i : order) {
      OnnxGraph.Node n = importNode(i, protos.get(i), opset);
      if (n != null) {
        kept.add(n);
      }
    }
    List<String> outputs = new ArrayList<>();
    for (ValueInfoProto o : g.getOutputList()) {
      requireComputed(o.getName(), "graph output");
      if (!sigs.containsKey(o.getName())) {
        throw MeshcException.input("%s: output '%s' is produced by no node", file, o.getName());
      }
      outputs.add(o.getName());
    }
    if (outputs.isEmpty()) {
      throw MeshcException.input("%s: the graph has no outputs, so there is nothing to compute", file);
    }
    kept = liveNodes(kept, outputs);
    Set<String> read = new HashSet<>(outputs);
    read.addAll(inputs); // an input nothing reads is still an input, with its type
    kept.forEach(n -> read.addAll(n.operands()));
    Map<String, Sig> liveSigs = new LinkedHashMap<>();
    Map<String, Tensor> liveConsts = new LinkedHashMap<>();
    Map<String, Initializer> liveInits = new LinkedHashMap<>();
    for (String v : sortedUnion(read, kept)) {
      liveSigs.put(v, sigs.get(v));
      Initializer init = inits.get(v);
      if (init != null) {
        liveInits.put(v, init);
        if (!init.isWeight()) {
          liveConsts.put(v, constantInitializer(init));
        }
      } else if (consts.containsKey(v)) {
        liveConsts.put(v, consts.get(v));
      }
    }
    String name = file.getFileName().toString().replaceFirst("\\.onnx$", "");
    return new OnnxGraph(name, ir, opset, model.getProducerName() + " " + model.getProducerVersion(), inputs,
        outputs, liveSigs, liveConsts, liveInits, kept, new TreeMap<>(histogram), protos.size());
  }

  /** The value of an initializer that acts as a constant (integers, scalars); read now, it is small. */
  private Tensor constantInitializer(Initializer init) {
    Tensor t = consts.get(init.name());
    if (t != null) {
      return t;
    }
    if (init.isExternal() || init.shape().elements() > READABLE_INTS) {
      throw MeshcException.input("initializer '%s' (%s%s) is used as a constant but is %s; meshc reads such "
          + "constants while compiling, so they must be inline and at most %d elements", init.name(),
          init.dtype().irName(), init.shape(), init.isExternal() ? "stored externally" : "too large", READABLE_INTS);
    }
    t = TensorData.read(init);
    consts.put(init.name(), t);
    return t;
  }

  private static List<String> sortedUnion(Set<String> read, List<OnnxGraph.Node> nodes) {
    Set<String> all = new java.util.TreeSet<>(read);
    nodes.forEach(n -> all.addAll(n.outputs()));
    return new ArrayList<>(all);
  }

  private int defaultOpset(ModelProto model) {
    int opset = -1;
    for (OperatorSetIdProto o : model.getOpsetImportList()) {
      if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
        opset = (int) o.getVersion();
      }
    }
    if (opset < 0) {
      throw MeshcException.input("%s: the model imports no default-domain opset", file);
    }
    if (opset < MIN_OPSET || opset > MAX_OPSET) {
      throw MeshcException.input("%s: opset %d is not supported (meshc reads default-domain opsets %d to %d)", file,
          opset, MIN_OPSET, MAX_OPSET);
    }
    return opset;
  }

  // ---- inputs -----------------------------------------------------------------------------

  private List<String> bindInputs(GraphProto g) {
    Map<String, ValueInfoProto> declared = new LinkedHashMap<>();
    for (ValueInfoProto v : g.getInputList()) {
      if (!inits.containsKey(v.getName())) { // IR < 4 lists initializers among the inputs
        declared.put(v.getName(), v);
      }
    }
    Map<String, Long> params = new HashMap<>();
    Map<String, long[]> explicit = new HashMap<>();
    for (InputBinding b : bindings) {
      ValueInfoProto v = declared.get(b.name());
      if (v == null) {
        throw MeshcException.input("--input %s: the model has no input '%s'; its inputs are %s", b, b.name(),
            String.join(", ", declared.keySet()));
      }
      if (explicit.put(b.name(), b.dims()) != null) {
        throw MeshcException.input("--input %s: input '%s' is bound twice", b, b.name());
      }
      List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
      boolean hasShape = v.getType().getTensorType().hasShape();
      if (hasShape && dims.size() != b.dims().length) {
        throw MeshcException.input("--input %s: input '%s' has rank %d, the binding gives %d dims", b, b.name(),
            dims.size(), b.dims().length);
      }
      for (int i = 0; hasShape && i < dims.size(); i++) {
        TensorShapeProto.Dimension d = dims.get(i);
        long want = b.dims()[i];
        if (d.hasDimValue() && d.getDimValue() != want) {
          throw MeshcException.input("--input %s: dimension %d of input '%s' is fixed at %d", b, i, b.name(),
              d.getDimValue());
        }
        if (!d.hasDimValue() && !d.getDimParam().isEmpty()) {
          Long prev = params.put(d.getDimParam(), want);
          if (prev != null && prev != want) {
            throw MeshcException.input("--input %s: dynamic dimension '%s' is bound to both %d and %d", b,
                d.getDimParam(), prev, want);
          }
        }
      }
    }
    List<String> names = new ArrayList<>();
    for (ValueInfoProto v : declared.values()) {
      if (!v.getType().hasTensorType()) {
        throw MeshcException.input("%s: input '%s' is not a tensor", file, v.getName());
      }
      DType dt;
      try {
        dt = DType.fromOnnx(v.getType().getTensorType().getElemType());
      } catch (MeshcException e) {
        throw MeshcException.input("%s: input '%s' has unsupported element type %d", file, v.getName(),
            v.getType().getTensorType().getElemType());
      }
      long[] dims = explicit.get(v.getName());
      if (dims == null) {
        if (!v.getType().getTensorType().hasShape()) {
          throw MeshcException.input("%s: input '%s' has no declared shape; bind it with --input %s=DIMS", file,
              v.getName(), v.getName());
        }
        List<TensorShapeProto.Dimension> ds = v.getType().getTensorType().getShape().getDimList();
        dims = new long[ds.size()];
        for (int i = 0; i < dims.length; i++) {
          TensorShapeProto.Dimension d = ds.get(i);
          if (d.hasDimValue() && d.getDimValue() < 0) {
            throw MeshcException.input("%s: input '%s' declares a negative dimension %d (axis %d)", file, v.getName(),
                d.getDimValue(), i);
          }
          if (d.hasDimValue() && d.getDimValue() > 0) {
            dims[i] = d.getDimValue();
          } else if (params.containsKey(d.getDimParam())) {
            dims[i] = params.get(d.getDimParam());
          } else {
            String what = d.getDimParam().isEmpty() ? "an unnamed dynamic dimension" : "dynamic dimension '"
                + d.getDimParam() + "'";
            throw MeshcException.input("input '%s' has %s (axis %d); bind it with --input %s=%s", v.getName(), what,
                i, v.getName(), example(ds));
          }
        }
      }
      long elements = 1;
      for (long d : dims) {
        elements = d > 0 && elements > Long.MAX_VALUE / d ? Long.MAX_VALUE : elements * Math.max(d, 0);
      }
      if (elements > limits.elements()) {
        throw Limits.exceeded(file, "input '" + clip(v.getName()) + "' element count", elements, "elements",
            limits.elements());
      }
      sigs.put(v.getName(), new Sig(dt, Shape.of(dims)));
      names.add(v.getName());
    }
    return names;
  }

  private static String example(List<TensorShapeProto.Dimension> ds) {
    return ds.stream().map(d -> d.hasDimValue() && d.getDimValue() > 0 ? Long.toString(d.getDimValue())
        : d.getDimParam().toLowerCase(java.util.Locale.ROOT).contains("batch") ? "1" : "128")
        .collect(Collectors.joining("x"));
  }

  // ---- graph structure ----------------------------------------------------------------------

  /**
   * The node order: a JGraphT DAG from producers to consumers, topologically sorted with ties
   * broken by position in the file, so the order is deterministic. Fails naming a cycle's nodes
   * or a value nobody produces.
   */
  private List<Integer> topologicalOrder(List<NodeProto> nodes, List<String> inputs) {
    Map<String, Integer> producer = new HashMap<>();
    Set<String> sources = new HashSet<>(inputs);
    sources.addAll(inits.keySet());
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).getOutputList()) {
        if (o.isEmpty()) {
          continue;
        }
        Integer prev = producer.put(o, i);
        if (prev != null) {
          throw MeshcException.input("%s: value '%s' is produced twice, by nodes '%s' and '%s'", file, o,
              label(nodes, prev), label(nodes, i));
        }
        if (sources.contains(o)) {
          throw MeshcException.input("%s: node '%s' writes '%s', which is already a model input or initializer",
              file, label(nodes, i), o);
        }
      }
    }
    Graph<Integer, DefaultEdge> dag = new DefaultDirectedGraph<>(DefaultEdge.class);
    for (int i = 0; i < nodes.size(); i++) {
      dag.addVertex(i);
    }
    for (int i = 0; i < nodes.size(); i++) {
      for (String in : nodes.get(i).getInputList()) {
        if (in.isEmpty() || sources.contains(in)) {
          continue;
        }
        Integer p = producer.get(in);
        if (p == null) {
          throw MeshcException.input("%s: node '%s' (%s) reads '%s', which no node, input or initializer produces",
              file, label(nodes, i), nodes.get(i).getOpType(), in);
        }
        dag.addEdge(p, i);
      }
    }
    CycleDetector<Integer, DefaultEdge> cycles = new CycleDetector<>(dag);
    if (cycles.detectCycles()) {
      String names = cycles.findCycles().stream().sorted().limit(8).map(i -> "'" + label(nodes, i) + "'")
          .collect(Collectors.joining(", "));
      throw MeshcException.input("%s: the graph has a cycle through nodes %s", file, names);
    }
    List<Integer> order = new ArrayList<>();
    new TopologicalOrderIterator<>(dag, Comparator.<Integer>naturalOrder()).forEachRemaining(order::add);
    return order;
  }

  private static String label(List<NodeProto> nodes, int i) {
    String n = nodes.get(i).getName();
    return n.isEmpty() ? nodes.get(i).getOpType() + "#" + i : n;
  }

  // ---- nodes --------------------------------------------------------------------------------

  /** Types, normalises and (when it can) folds one node; returns it when it stays. */
  private OnnxGraph.Node importNode(int index, NodeProto p, int opset) {
    String label = p.getName().isEmpty() ? p.getOpType() + "#" + index : p.getName();
    if (!p.getDomain().isEmpty() && !p.getDomain().equals("ai.onnx")) {
      throw MeshcException.input("node '%s' uses op %s from domain '%s'; meshc supports the default ONNX domain "
          + "only: %s", label, p.getOpType(), p.getDomain(), String.join(", ", OnnxOps.supported()));
    }
    if (p.getOutputCount() == 0 || p.getOutput(0).isEmpty()) { // Jazzer found this one: nothing to name the result
      throw MeshcException.input("%s node '%s' declares no output", p.getOpType(), label);
    }
    Attrs attrs = attributes(p, label);
    if (p.getOpType().equals("Constant")) {
      define(p.getOutput(0), constantValue(p, label));
      return null;
    }
    OnnxOp op = OnnxOps.find(p.getOpType()).orElseThrow(() -> MeshcException.input(
        "unsupported op %s (node '%s'); meshc supports %s", p.getOpType(), label,
        String.join(", ", OnnxOps.supported())));
    List<NodeInput> in = new ArrayList<>();
    for (String name : p.getInputList()) {
      requireComputed(name, label);
      in.add(name.isEmpty() ? NodeInput.ABSENT : new NodeInput(sigs.get(name), known(name)));
    }
    Normalized norm;
    List<Sig> out;
    List<Sig> operandSigs = new ArrayList<>();
    try {
      norm = op.normalize(opset, attrs, in, p.getOutputCount(), label);
      for (int i : norm.operands()) {
        if (i >= in.size() || !in.get(i).present()) { // a node may list fewer inputs than its op reads
          throw MeshcException.input("%s node '%s': input %d is required", p.getOpType(), label, i);
        }
        operandSigs.add(in.get(i).sig());
      }
      out = op.infer(operandSigs, norm.attrs());
    } catch (MeshcException e) {
      throw e.getMessage().contains(label) ? e
          : MeshcException.input("%s node '%s': %s", p.getOpType(), label, e.getMessage());
    }
    if (p.getOutputCount() < out.size() && !p.getOpType().equals("Split")) {
      out = out.subList(0, Math.max(p.getOutputCount(), 1));
    }
    for (int i = out.size(); i < p.getOutputCount(); i++) {
      unsupportedOutputs.put(p.getOutput(i), String.format("output %d of %s node '%s'", i, p.getOpType(), label));
    }
    for (int i = 0; i < out.size(); i++) {
      sigs.put(p.getOutput(i), out.get(i));
    }
    List<String> operands = norm.operands().stream().map(p::getInput).toList();
    boolean allKnown = operands.stream().allMatch(this::foldable);
    long elements = out.stream().mapToLong(s -> s.shape().elements()).sum();
    if (allKnown && elements <= FOLD_LIMIT) {
      List<Tensor> args = operands.stream().map(this::foldValue).toList();
      List<Tensor> vals = op.eval(args, norm.attrs());
      for (int i = 0; i < out.size(); i++) {
        define(p.getOutput(i), vals.get(i));
      }
      return null;
    }
    if (op.foldOnly()) {
      throw MeshcException.input("%s node '%s' needs inputs known at compile time; bind dynamic dimensions with "
          + "--input NAME=DIMS", p.getOpType(), label);
    }
    List<String> outs = p.getOutputList().subList(0, out.size());
    return new OnnxGraph.Node(index, p.getName(), p.getOpType(), operands, outs, norm.attrs());
  }

  private void requireComputed(String value, String reader) {
    String what = unsupportedOutputs.get(value);
    if (what != null) {
      throw MeshcException.input("%s reads '%s', %s, which meshc does not compute", reader, value, what);
    }
  }

  private void define(String name, Tensor t) {
    consts.put(name, t);
    sigs.put(name, new Sig(t.dtype(), t.shape()));
  }

  /**
   * The value of {@code name} if known at compile time: a folded constant or a small inline
   * integer initializer (shapes, indices; read once). Floating initializers are weights and are
   * not read here.
   */
  private Tensor known(String name) {
    Tensor t = consts.get(name);
    if (t != null) {
      return t;
    }
    Initializer init = inits.get(name);
    if (init == null || init.isExternal() || init.dtype().isFloating() || init.shape().elements() > READABLE_INTS) {
      return null;
    }
    t = TensorData.read(init);
    consts.put(name, t);
    return t;
  }

  /** Whether folding may read {@code name}: known, or a small inline floating initializer (RoPE frequencies). */
  private boolean foldable(String name) {
    if (known(name) != null) {
      return true;
    }
    Initializer init = inits.get(name);
    return init != null && !init.isExternal() && vector(init.shape()) && init.shape().elements() <= READABLE_FLOATS;
  }

  /** At most one dimension above 1: a vector in any rank (RoPE's [1, d/2, 1] frequencies), never a matrix. */
  private static boolean vector(Shape s) {
    return java.util.Arrays.stream(s.toArray()).filter(d -> d > 1).count() <= 1;
  }

  /** The value folding uses: known, or the small floating initializer read now. */
  private Tensor foldValue(String name) {
    Tensor t = known(name);
    return t != null ? t : TensorData.read(inits.get(name));
  }

  private Tensor constantValue(NodeProto p, String label) {
    for (AttributeProto a : p.getAttributeList()) {
      switch (a.getName()) {
        case "value":
          return TensorData.read(TensorData.describe(a.getT(), dir, "Constant node '" + label + "' value"));
        case "value_float":
          return Tensor.ofFloats(Shape.SCALAR, a.getF());
        case "value_floats": {
          float[] f = new float[a.getFloatsCount()];
          for (int i = 0; i < f.length; i++) {
            f[i] = a.getFloats(i);
          }
          return Tensor.ofFloats(Shape.of(f.length), f);
        }
        case "value_int":
          return Tensor.ofLongs(Shape.SCALAR, a.getI());
        case "value_ints":
          return Tensor.ofLongs(Shape.of(a.getIntsCount()), a.getIntsList().stream().mapToLong(Long::longValue)
              .toArray());
        default:
          throw MeshcException.input("Constant node '%s': attribute '%s' is not supported", label, a.getName());
      }
    }
    throw MeshcException.input("Constant node '%s' has no value", label);
  }

  private Attrs attributes(NodeProto p, String label) {
    Attrs.Builder b = Attrs.builder();
    for (AttributeProto a : p.getAttributeList()) {
      if (!a.getRefAttrName().isEmpty()) {
        throw MeshcException.input("node '%s': attribute '%s' refers to a function attribute, which is not supported",
            label, a.getName());
      }
      Attr v = switch (a.getType()) {
        case INT -> new Attr.Int(a.getI());
        case FLOAT -> new Attr.Float(a.getF());
        case STRING -> new Attr.Str(a.getS().toStringUtf8());
        case INTS -> new Attr.Ints(a.getIntsList());
        case FLOATS -> new Attr.Floats(a.getFloatsList());
        case TENSOR -> p.getOpType().equals("Constant") ? null
            : new Attr.TensorValue(TensorData.read(TensorData.describe(a.getT(), dir, "attribute")));
        case GRAPH, GRAPHS -> throw MeshcException.input("node '%s' (%s) carries a subgraph in attribute '%s'; "
            + "control flow is not supported", label, p.getOpType(), a.getName());
        default -> p.getOpType().equals("Constant") ? null
            : unsupportedAttr(label, a);
      };
      if (v != null) {
        b.put(a.getName(), v);
      }
    }
    return b.build();
  }

  private static Attr unsupportedAttr(String label, AttributeProto a) {
    throw MeshcException.input("node '%s': attribute '%s' of type %s is not supported", label, a.getName(),
        a.getType());
  }

  /** Nodes that some output depends on, in the same order. */
  private static List<OnnxGraph.Node> liveNodes(List<OnnxGraph.Node> nodes, List<String> outputs) {
    Map<String, OnnxGraph.Node> producer = new HashMap<>();
    nodes.forEach(n -> n.outputs().forEach(o -> producer.put(o, n)));
    Set<OnnxGraph.Node> live = new HashSet<>();
    Deque<String> work = new ArrayDeque<>(outputs);
    while (!work.isEmpty()) {
      OnnxGraph.Node n = producer.get(work.pop());
      if (n != null && live.add(n)) {
        work.addAll(n.operands());
      }
    }
    return nodes.stream().filter(live::contains).toList();
  }

}
