package dev.meshc.ir;

/** A compile-time constant: small tensors that folding produced or the model spelled out. */
public record Const(Value value, Tensor data) {
  public Const {
    if (!data.shape().equals(value.shape()) || data.dtype() != value.dtype()) {
      throw MeshcException.input("constant %%%s: data %s%s does not match its type %s",
          value.name(), data.dtype().irName(), data.shape(), value.type());
    }
  }
}
