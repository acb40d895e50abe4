package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;
import java.util.function.BiFunction;

/** Small checks shared by the op definitions; every failure names the op. */
final class Defs {
  private Defs() {}

  /** An op definition from a name, a builder and a type rule. */
  static OpDef def(String name, Builder build, BiFunction<List<TensorType>, Attrs, List<TensorType>> infer) {
    return new OpDef() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Op build(List<Value> operands, Attrs attrs, List<Value> results, Provenance loc) {
        return build.build(operands, attrs, results, loc);
      }

      @Override
      public List<TensorType> infer(List<TensorType> operands, Attrs attrs) {
        return infer.apply(operands, attrs);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  @FunctionalInterface
  interface Builder {
    Op build(List<Value> operands, Attrs attrs, List<Value> results, Provenance loc);
  }

  static void arity(String op, List<?> operands, int min, int max) {
    if (operands.size() < min || operands.size() > max) {
      String want = min == max ? Integer.toString(min) : min + " to " + max;
      throw MeshcException.input("%s takes %s operands, not %d", op, want, operands.size());
    }
  }

  static Value one(String op, List<Value> results) {
    if (results.size() != 1) {
      throw MeshcException.input("%s has one result, not %d", op, results.size());
    }
    return results.get(0);
  }

  static Value opt(List<Value> operands, int i) {
    return i < operands.size() ? operands.get(i) : null;
  }

  static void rank(String op, String what, TensorType t, int min) {
    if (t.rank() < min) {
      throw MeshcException.input("%s: %s must have rank >= %d, has shape %s", op, what, min, t.shape());
    }
  }

  static void floating(String op, String what, TensorType t) {
    if (!t.dtype().isFloating()) {
      throw MeshcException.input("%s: %s must be floating point, is %s", op, what, t.dtype().irName());
    }
  }

  static void sameDim(String op, String a, long da, String b, long db) {
    if (da != db) {
      throw MeshcException.input("%s: %s (%d) does not match %s (%d)", op, a, da, b, db);
    }
  }

  /** The operand {@code v} must be a vector of length {@code n} (a per-channel scale or bias). */
  static void vector(String op, String what, TensorType v, long n) {
    if (v.rank() != 1 || v.shape().dim(0) != n) {
      throw MeshcException.input("%s: %s must have shape [%d], has %s", op, what, n, v.shape());
    }
  }

  static TensorType type(DType dt, Shape s, Layout l) {
    return new TensorType(dt, s, l);
  }

  static long[] dims(TensorType t) {
    return t.shape().toArray();
  }
}
