package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Tensor;
import java.util.List;

/**
 * The meaning of one ONNX operator, in meshc's normal form (see {@link Normalized}). One
 * definition serves the importer (normalising nodes, inferring shapes, folding constants), the
 * tile-IR verifier (types of generic ops) and the reference evaluator (fp32 values).
 */
public interface OnnxOp {
  /** The ONNX op type, e.g. {@code MatMul}. */
  String type();

  LayoutRule layoutRule();

  /**
   * Moves constant inputs into attributes and resolves defaults against the input shapes.
   * {@code opset} is the model's default-domain opset, {@code outputs} the node's output count;
   * {@code node} names the node for messages.
   */
  Normalized normalize(int opset, Attrs onnxAttrs, List<NodeInput> inputs, int outputs, String node);

  /** Result types of a normalised op. */
  List<Sig> infer(List<Sig> operands, Attrs attrs);

  /** Results of a normalised op on concrete operands. */
  List<Tensor> eval(List<Tensor> operands, Attrs attrs);

  /** Ops whose result must be known at compile time (Shape, Range …): they never reach the mesh. */
  default boolean foldOnly() {
    return false;
  }
}
