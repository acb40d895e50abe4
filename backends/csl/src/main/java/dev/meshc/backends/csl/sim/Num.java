package dev.meshc.backends.csl.sim;

/** A run-time number of a sized type (comptime numbers stay Long and Double, as {@code Comptime} has them). */
public record Num(Scalar type, double value) {
  public Num {
    value = type.round(value);
  }

  @Override
  public String toString() {
    return type.isFloat ? value + "" : (long) value + "";
  }
}
