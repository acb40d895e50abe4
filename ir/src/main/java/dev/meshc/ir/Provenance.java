package dev.meshc.ir;

import java.util.List;

/** The ONNX nodes an op came from, by name, so every later stage can point back at the model. */
public record Provenance(List<String> nodes) {
  public static final Provenance NONE = new Provenance(List.of());

  public Provenance {
    nodes = List.copyOf(nodes);
  }

  public static Provenance of(String... nodes) {
    return new Provenance(List.of(nodes));
  }

  /** The union of several provenances, first-seen order, without repeats. */
  public static Provenance merge(List<Provenance> ps) {
    java.util.LinkedHashSet<String> s = new java.util.LinkedHashSet<>();
    for (Provenance p : ps) {
      s.addAll(p.nodes);
    }
    return new Provenance(List.copyOf(s));
  }
}
