package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Value;
import dev.meshc.ir.onnx.OnnxOps;
import java.util.List;

/**
 * An ONNX operator that is supported but is not part of a recognised block (a residual Add, a
 * mask computation, a leftover Reshape). It keeps its ONNX type and its normalised attributes
 * (see {@link dev.meshc.ir.onnx.Normalized}); the text form prints it under its ONNX name.
 */
public record Generic(String type, List<Value> operands, Attrs attrs, List<Value> results, Provenance loc)
    implements Op {
  public Generic {
    operands = List.copyOf(operands);
    results = List.copyOf(results);
    if (results.isEmpty()) {
      throw MeshcException.input("%s has no results", type);
    }
  }

  @Override
  public OpDef def() {
    return GenericOpDef.of(OnnxOps.get(type));
  }
}
