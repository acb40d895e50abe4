package dev.meshc.ir.verify;

import dev.meshc.ir.Const;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.text.TirSyntax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks what every pass relies on and no constructor can check alone, because it spans the
 * module: names are unique, every operand is defined before its use, every op's result types are
 * exactly what its {@link dev.meshc.ir.op.OpDef#infer} gives (element type, shape and layout),
 * layers are numbered in order and cover disjoint op ranges, outputs exist. Constants and weights
 * check their own data and permutation when built. The first problem is a one-line
 * {@link MeshcException} that names the op ({@code op #12 'linear' (from ONNX node X)}).
 */
public final class Verifier {
  private final Module module;
  private final Set<String> weights;
  /** Values defined so far, by name: the walk goes in op order, so this is what an op may use. */
  private final Map<String, Value> defined = new HashMap<>();
  /** What defined each name (input, weight, constant or an op), for the message about a repeat. */
  private final Map<String, String> definedBy = new HashMap<>();

  private Verifier(Module module) {
    this.module = module;
    this.weights = module.weightNames();
  }

  /** Returns normally when {@code m} is well formed; throws naming the first problem otherwise. */
  public static void verify(Module m) {
    new Verifier(m).run();
  }

  /**
   * Why a value of type {@code actual} is not of type {@code expected}, as the end of a sentence
   * about it ({@code "is f32[4] <x> but should be f32[4] <*> (the layout differs)"}), or null
   * when they are equal. The parser says it the same way.
   */
  public static String typeMismatch(TensorType actual, TensorType expected) {
    if (actual.equals(expected)) {
      return null;
    }
    List<String> parts = new ArrayList<>();
    if (actual.dtype() != expected.dtype()) {
      parts.add("element type");
    }
    if (!actual.shape().equals(expected.shape())) {
      parts.add("shape");
    }
    if (!actual.layout().equals(expected.layout())) {
      parts.add("layout");
    }
    return "is " + actual + " but should be " + expected + " (the " + String.join(" and ", parts)
        + (parts.size() == 1 ? " differs)" : " differ)");
  }

  private void run() {
    for (Value v : module.inputs()) {
      define(v, "input", null);
    }
    for (Weight w : module.weights()) {
      define(w.value(), "weight", null);
    }
    for (Const c : module.consts()) {
      define(c.value(), "constant", null);
    }
    Map<String, Integer> resultOf = new HashMap<>();
    for (int i = module.ops().size() - 1; i >= 0; i--) {
      for (Value v : module.ops().get(i).results()) {
        resultOf.put(v.name(), i);
      }
    }
    for (int i = 0; i < module.ops().size(); i++) {
      op(i, resultOf);
    }
    layers();
    placements();
    for (Value v : module.outputs()) {
      Value d = defined.get(v.name());
      if (d == null) {
        throw fail(null, "output %s is not defined", ref(v));
      }
      String why = typeMismatch(v.type(), d.type());
      if (why != null) {
        throw fail(null, "output %s %s, as it is defined", ref(v), why);
      }
    }
  }

  /** Defines {@code v} as {@code what} (input, weight, constant, op …); {@code who} is where a message points. */
  private void define(Value v, String what, String who) {
    String first = definedBy.putIfAbsent(v.name(), what);
    if (first != null) {
      throw fail(who, "%s is defined twice (by %s, then by %s)", ref(v), first, what);
    }
    defined.put(v.name(), v);
  }

  private void op(int i, Map<String, Integer> resultOf) {
    Op op = module.ops().get(i);
    String who = describe(i, op);
    List<TensorType> operandTypes = new ArrayList<>();
    for (Value v : op.operands()) {
      Value d = defined.get(v.name());
      if (d == null) {
        Integer later = resultOf.get(v.name());
        if (later != null) {
          throw fail(who, "uses %s before it is defined (by op #%d)", ref(v), later);
        }
        throw fail(who, "uses %s, which is not defined", ref(v));
      }
      String why = typeMismatch(v.type(), d.type());
      if (why != null) {
        throw fail(who, "operand %s %s, as it is defined", ref(v), why);
      }
      operandTypes.add(v.type());
    }
    List<TensorType> inferred;
    try {
      inferred = op.def().infer(operandTypes, op.attrs());
    } catch (MeshcException e) {
      throw fail(who, "%s", e.getMessage());
    } catch (RuntimeException e) {
      // a malformed attribute can trip a type rule before it names the problem (an axis past the rank)
      throw fail(who, "its operands and attributes cannot be typed (%s)", e);
    }
    List<Value> results = op.results();
    if (inferred.size() != results.size()) {
      throw fail(who, "it has %d result%s but its operands give %d", results.size(), results.size() == 1 ? "" : "s",
          inferred.size());
    }
    for (int j = 0; j < results.size(); j++) {
      String why = typeMismatch(results.get(j).type(), inferred.get(j));
      if (why != null) {
        throw fail(who, "result %s %s", ref(results.get(j)), why);
      }
    }
    for (Value v : results) {
      define(v, "op #" + i, who);
    }
  }

  /**
   * Each placed plan, once per phase, covers the layers in order: region r holds [first, end) with
   * first = the previous region's end, the first starts at 0 and the last ends at the layer count;
   * every region has a grid and a place.
   */
  private void placements() {
    Set<String> phases = new HashSet<>();
    for (Placement p : module.placements()) {
      String who = "placement " + p.phase();
      if (!phases.add(p.phase())) {
        throw MeshcException.input("%s: the module places phase '%s' twice", who, p.phase());
      }
      long next = 0;
      for (Placement.Region r : p.regions()) {
        String at = who + " region " + r.index();
        for (String k : List.of("wafer", "x", "y", "grid", "layers")) {
          if (!r.info().has(k)) {
            throw MeshcException.input("%s: lacks '%s'", at, k);
          }
        }
        long[] range = r.info().getInts("layers");
        if (range.length != 2 || range[0] != next || range[1] < range[0]) {
          throw MeshcException.input("%s: holds layers %s; it should start at layer %d", at,
              Arrays.toString(range), next);
        }
        if (r.info().requireInt("grid") < 1) {
          throw MeshcException.input("%s: grid %d is not a positive number of PEs", at, r.info().requireInt("grid"));
        }
        next = range[1];
      }
      if (next != module.layers().size()) {
        throw MeshcException.input("%s: its regions hold layers up to %d, but the module has %d", who, next,
            module.layers().size());
      }
    }
  }

  private void layers() {
    List<Layer> layers = module.layers();
    int ops = module.ops().size();
    for (int k = 0; k < layers.size(); k++) {
      Layer l = layers.get(k);
      String who = "layer " + l.index() + " " + range(l);
      if (l.index() != k) {
        throw fail(who, "it comes number %d in the module's list; layers are numbered 0, 1, 2 ... in order", k);
      }
      if (l.end() > ops) {
        throw fail(who, "it ends past the last op (the module has %d ops)", ops);
      }
      if (k > 0) {
        Layer p = layers.get(k - 1);
        int shared = Math.max(l.start(), p.start());
        if (shared < Math.min(l.end(), p.end())) {
          throw fail(describe(shared, module.ops().get(shared)), "it is in both layer %d %s and layer %d %s",
              p.index(), range(p), l.index(), range(l));
        }
        if (l.start() < p.end()) {
          throw fail(who, "it does not come after layer %d %s; layers are op ranges in order", p.index(), range(p));
        }
      }
    }
  }

  private static String range(Layer l) {
    return "[" + l.start() + ", " + l.end() + ")";
  }

  /** {@code op #12 'linear' (from ONNX node X)}: where a message points. */
  private static String describe(int i, Op op) {
    String name = op instanceof Generic g ? g.type() : op.name();
    List<String> nodes = op.loc().nodes();
    String from = nodes.isEmpty() ? ""
        : " (from ONNX node" + (nodes.size() == 1 ? " " : "s ") + String.join(", ", nodes) + ")";
    return "op #" + i + " '" + name + "'" + from;
  }

  private String ref(Value v) {
    return TirSyntax.ref(v.name(), weights.contains(v.name()));
  }

  /** A one-line error; {@code who} (an op or a layer), when given, leads it. */
  private static MeshcException fail(String who, String format, Object... args) {
    String what = String.format(Locale.ROOT, format, args);
    return new MeshcException(MeshcException.Kind.INPUT, who == null ? what : who + ": " + what);
  }
}
