package dev.meshc.compiler.onnx;

import dev.meshc.ir.MeshcException;
import java.util.Arrays;

/**
 * {@code --input NAME=DIMS}: fixes the shape of one model input, e.g. {@code input_ids=1x128}.
 * Dynamic dimensions that other inputs share by name (ONNX {@code dim_param}) follow.
 */
public record InputBinding(String name, long[] dims) {
  public InputBinding {
    dims = dims.clone();
  }

  /** Parses {@code NAME=D0xD1x…}; a scalar input is {@code NAME=} with no dims. */
  public static InputBinding parse(String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0) {
      throw MeshcException.input("--input '%s' should be NAME=DIMS, e.g. input_ids=1x128", spec);
    }
    String name = spec.substring(0, eq);
    String dimText = spec.substring(eq + 1).trim();
    if (dimText.isEmpty()) {
      return new InputBinding(name, new long[0]);
    }
    String[] parts = dimText.split("[xX,]", -1);
    long[] dims = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        dims[i] = Long.parseLong(parts[i].trim());
      } catch (NumberFormatException e) {
        throw MeshcException.input("--input '%s': '%s' is not a dimension (DIMS look like 1x128)", spec, parts[i]);
      }
      if (dims[i] <= 0) {
        throw MeshcException.input("--input '%s': dimension %d must be positive", spec, dims[i]);
      }
    }
    return new InputBinding(name, dims);
  }

  @Override
  public long[] dims() {
    return dims.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InputBinding b && name.equals(b.name) && Arrays.equals(dims, b.dims);
  }

  @Override
  public int hashCode() {
    return 31 * name.hashCode() + Arrays.hashCode(dims);
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(name).append('=');
    for (int i = 0; i < dims.length; i++) {
      s.append(i > 0 ? "x" : "").append(dims[i]);
    }
    return s.toString();
  }
}
