package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import java.util.List;

/**
 * An ONNX node in meshc's normal form: {@code operands} are the indices of the node inputs that
 * stay data operands; every other input (a shape, axes, starts …) was a compile-time constant and
 * now lives in {@code attrs}, fully resolved (no negative axes, no -1 or 0 in shapes).
 */
public record Normalized(Attrs attrs, List<Integer> operands) {
  public Normalized {
    operands = List.copyOf(operands);
  }
}
