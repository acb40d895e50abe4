package dev.meshc.ir;

import dev.meshc.ir.op.Op;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A tile-IR module: one model. Inputs, weights (references into the ONNX file) and constants are
 * module-level values; {@code ops} is the body in a topological order, {@code layers} marks the
 * recognised transformer layers as contiguous ranges of it; {@code outputs} are the model outputs;
 * {@code placements}, once the planner has run, place the layers on the wafer (one per phase).
 * Immutable: passes build a new module.
 */
public record Module(String name, List<Value> inputs, List<Weight> weights, List<Const> consts, List<Op> ops,
    List<Layer> layers, List<Value> outputs, List<Placement> placements) {

  public Module {
    inputs = List.copyOf(inputs);
    weights = List.copyOf(weights);
    consts = List.copyOf(consts);
    ops = List.copyOf(ops);
    layers = List.copyOf(layers);
    outputs = List.copyOf(outputs);
    placements = List.copyOf(placements);
  }

  /** A module not placed yet. */
  public Module(String name, List<Value> inputs, List<Weight> weights, List<Const> consts, List<Op> ops,
      List<Layer> layers, List<Value> outputs) {
    this(name, inputs, weights, consts, ops, layers, outputs, List.of());
  }

  /** This module with {@code p} as its placed plans (one per phase). */
  public Module withPlacements(List<Placement> p) {
    return new Module(name, inputs, weights, consts, ops, layers, outputs, p);
  }

  public Set<String> weightNames() {
    return weights.stream().map(Weight::name).collect(Collectors.toUnmodifiableSet());
  }

  /** Every value of the module by name: inputs, weights, constants, then op results in order. */
  public Map<String, Value> values() {
    Map<String, Value> m = new LinkedHashMap<>();
    inputs.forEach(v -> m.put(v.name(), v));
    weights.forEach(w -> m.put(w.name(), w.value()));
    consts.forEach(c -> m.put(c.value().name(), c.value()));
    for (Op op : ops) {
      op.results().forEach(v -> m.put(v.name(), v));
    }
    return m;
  }

  /** The layer that holds op {@code index}, or null. */
  public Layer layerOf(int index) {
    for (Layer l : layers) {
      if (index >= l.start() && index < l.end()) {
        return l;
      }
    }
    return null;
  }

  /** Parameter count: elements of all distinct weight sources. */
  public long parameterCount() {
    Map<String, Long> bySource = new LinkedHashMap<>();
    for (Weight w : weights) {
      bySource.put(w.source(), w.value().shape().elements());
    }
    return bySource.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Parameter bytes in the weights' own element types. */
  public long parameterBytes() {
    Map<String, Long> bySource = new LinkedHashMap<>();
    for (Weight w : weights) {
      bySource.put(w.source(), w.value().type().bytes());
    }
    return bySource.values().stream().mapToLong(Long::longValue).sum();
  }
}
