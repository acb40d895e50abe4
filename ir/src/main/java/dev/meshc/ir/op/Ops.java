package dev.meshc.ir.op;

import dev.meshc.ir.onnx.OnnxOps;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Every op definition by the name the text form uses: block ops in lower case, ONNX ops as ONNX spells them. */
public final class Ops {
  private static final Map<String, OpDef> BLOCKS;

  static {
    Map<String, OpDef> m = new TreeMap<>();
    for (OpDef d : new OpDef[] {Embedding.DEF, Linear.DEF, LayerNorm.DEF, RmsNorm.DEF, SplitHeads.DEF,
        MergeHeads.DEF, Rope.DEF, Attention.DEF}) {
      m.put(d.name(), d);
    }
    for (Activation.Fn f : Activation.Fn.values()) {
      m.put(f.def().name(), f.def());
      m.put(f.gatedDef().name(), f.gatedDef());
    }
    BLOCKS = Collections.unmodifiableMap(m);
  }

  private Ops() {}

  /** The definition named {@code name}: a block op, or a generic ONNX op. */
  public static Optional<OpDef> find(String name) {
    OpDef d = BLOCKS.get(name);
    if (d != null) {
      return Optional.of(d);
    }
    return OnnxOps.find(name).filter(o -> !o.foldOnly()).map(GenericOpDef::of);
  }

  /** Names of the block ops, sorted. */
  public static java.util.Set<String> blockNames() {
    return BLOCKS.keySet();
  }
}
