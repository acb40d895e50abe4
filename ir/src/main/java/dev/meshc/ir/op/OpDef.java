package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * The one definition of an op kind: its name, how to build it from the generic form, and the
 * types (element type, shape, layout) of its results. The parser builds through it, the verifier
 * checks every op against {@link #infer}, and passes use {@link #infer} to type what they create.
 */
public interface OpDef {
  String name();

  /** Builds the op; fails naming the op when operand count or attributes are wrong. */
  Op build(List<Value> operands, Attrs attrs, List<Value> results, Provenance loc);

  /** Result types from operand types and attributes; fails naming the problem when they do not fit. */
  List<TensorType> infer(List<TensorType> operands, Attrs attrs);
}
