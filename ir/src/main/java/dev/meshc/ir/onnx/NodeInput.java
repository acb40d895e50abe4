package dev.meshc.ir.onnx;

import dev.meshc.ir.Tensor;

/**
 * One input of an ONNX node as normalisation sees it: absent (an empty optional input), or
 * present with its type and, when known at compile time, its value.
 */
public record NodeInput(Sig sig, Tensor value) {
  public static final NodeInput ABSENT = new NodeInput(null, null);

  public boolean present() {
    return sig != null;
  }

  public boolean known() {
    return value != null;
  }
}
