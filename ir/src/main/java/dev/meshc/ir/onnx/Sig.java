package dev.meshc.ir.onnx;

import dev.meshc.ir.DType;
import dev.meshc.ir.Shape;

/** Element type and shape, without a layout: what ONNX shape inference knows. */
public record Sig(DType dtype, Shape shape) {
  public int rank() {
    return shape.rank();
  }

  @Override
  public String toString() {
    return dtype.irName() + shape;
  }
}
