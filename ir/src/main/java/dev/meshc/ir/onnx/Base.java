package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Defaults shared by the operator definitions: every present input is an operand. */
abstract class Base implements OnnxOp {
  private final String type;
  private final LayoutRule rule;

  Base(String type, LayoutRule rule) {
    this.type = type;
    this.rule = rule;
  }

  @Override
  public String type() {
    return type;
  }

  @Override
  public LayoutRule layoutRule() {
    return rule;
  }

  @Override
  public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
    List<Integer> ops = new ArrayList<>();
    for (int i = 0; i < in.size(); i++) {
      if (in.get(i).present()) {
        ops.add(i);
      }
    }
    return new Normalized(a, ops);
  }

  @Override
  public String toString() {
    return type;
  }

  // ---- helpers for subclasses ------------------------------------------------------------

  MeshcException nodeError(String node, String fmt, Object... args) {
    return MeshcException.input("%s node '%s': %s", type, node, String.format(java.util.Locale.ROOT, fmt, args));
  }

  MeshcException error(String fmt, Object... args) {
    return MeshcException.input("%s: %s", type, String.format(java.util.Locale.ROOT, fmt, args));
  }

  /** The value of optional input {@code i} when it must be a compile-time constant; null if absent. */
  Tensor constInput(List<NodeInput> in, int i, String what, String node) {
    if (i >= in.size() || !in.get(i).present()) {
      return null;
    }
    NodeInput x = in.get(i);
    if (!x.known()) {
      throw nodeError(node, "%s (input %d) is not a compile-time constant; bind dynamic dimensions with --input NAME=DIMS",
          what, i);
    }
    return x.value();
  }

  /** Input i's type and shape; a node may list fewer inputs than its op reads (Jazzer found a Softmax with none). */
  static Sig sig(List<NodeInput> in, int i) {
    if (i >= in.size() || !in.get(i).present()) {
      throw MeshcException.input("input %d is required", i);
    }
    return in.get(i).sig();
  }

  void arity(List<?> operands, int min, int max) {
    if (operands.size() < min || operands.size() > max) {
      throw error("takes %s operands, got %d", min == max ? "" + min : min + " to " + max, operands.size());
    }
  }

  static List<Integer> range(int n) {
    List<Integer> r = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      r.add(i);
    }
    return r;
  }

  static long[] normalizeAxes(long[] axes, int rank, Base op) {
    long[] r = new long[axes.length];
    for (int i = 0; i < axes.length; i++) {
      long a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank) {
        throw op.error("axis %d out of range for rank %d", axes[i], rank);
      }
      for (int j = 0; j < i; j++) {
        if (r[j] == a) {
          throw op.error("axis %d repeated", axes[i]);
        }
      }
      r[i] = a;
    }
    java.util.Arrays.sort(r);
    return r;
  }

  int axis(long a, int rank) {
    long r = a < 0 ? a + rank : a;
    if (r < 0 || r >= rank) {
      throw error("axis %d out of range for rank %d", a, rank);
    }
    return (int) r;
  }

  static Shape shape(long... d) {
    return Shape.of(d);
  }
}
