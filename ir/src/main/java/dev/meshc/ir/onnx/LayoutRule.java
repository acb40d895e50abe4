package dev.meshc.ir.onnx;

/** How a generic op's result layout follows from its operands' (see GenericOpDef). */
public enum LayoutRule {
  /** Broadcasting ops: the layout of the operands aligned from the right. */
  ELEMENTWISE,
  /** Reductions: reduced dimensions become replicated (or vanish without keepdims). */
  REDUCE,
  /** Batched matrix product: rows along Y, columns along X, batch as the left operand's. */
  MATMUL,
  /** Transpose: the layout permuted with the data, so nothing moves. */
  TRANSPOSE,
  /** Reshape-like: dimensions carried through keep their axis, split/merged ones keep the inner axis. */
  RESHAPE,
  /** Everything else: the standard layout of the result's rank. */
  STANDARD
}
