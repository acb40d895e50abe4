package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * A tile-IR operation. Each kind is a small record with typed fields; its {@link OpDef} turns it
 * into and out of the generic form (name, operands, attributes, results) that the printer, the
 * parser and the verifier all read, so an op is defined in exactly one place.
 */
public sealed interface Op
    permits Embedding, Linear, LayerNorm, RmsNorm, Activation, GatedActivation, SplitHeads,
        MergeHeads, Rope, Attention, Generic {

  OpDef def();

  /** Operands in the order the text form prints them; absent optional operands are left out. */
  List<Value> operands();

  Attrs attrs();

  List<Value> results();

  Provenance loc();

  default String name() {
    return def().name();
  }

  /** The single result of a one-result op. */
  default Value result() {
    List<Value> r = results();
    if (r.size() != 1) {
      throw new IllegalStateException(name() + " has " + r.size() + " results");
    }
    return r.get(0);
  }
}
