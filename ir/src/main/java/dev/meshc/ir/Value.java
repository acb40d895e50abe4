package dev.meshc.ir;

/**
 * A named tensor value: a model input, a weight, a constant or an op result. Names are unique in a
 * module; the printer writes weights as {@code @name} and everything else as {@code %name}.
 */
public record Value(String name, TensorType type) {
  public Value {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a value needs a name");
    }
  }

  public Shape shape() {
    return type.shape();
  }

  public DType dtype() {
    return type.dtype();
  }

  public Layout layout() {
    return type.layout();
  }

  public int rank() {
    return type.rank();
  }
}
