package dev.meshc.ir;

import java.util.List;

/** An attribute value: the kinds ONNX and the tile IR need. Floats are fp32, as in ONNX. */
public sealed interface Attr {
  record Int(long value) implements Attr {}

  record Float(float value) implements Attr {}

  record Str(String value) implements Attr {}

  record Ints(List<Long> values) implements Attr {
    public Ints {
      values = List.copyOf(values);
    }

    public long[] toArray() {
      return values.stream().mapToLong(Long::longValue).toArray();
    }
  }

  record Floats(List<java.lang.Float> values) implements Attr {
    public Floats {
      values = List.copyOf(values);
    }
  }

  /** A tensor-valued attribute (ONNX's ConstantOfShape value, Constant's value). */
  record TensorValue(dev.meshc.ir.Tensor value) implements Attr {}

  static Ints ints(long... v) {
    return new Ints(java.util.Arrays.stream(v).boxed().toList());
  }
}
