package dev.meshc.ir.kernel;

/**
 * A template's closed-form prediction: total cycles and how much of the critical path is
 * compute versus communication. The planner optimises with these; the runtime's simulation
 * checks them.
 */
public record Estimate(double cycles, double computeCycles, double commCycles) {
  public Estimate {
    if (cycles < 0 || computeCycles < 0 || commCycles < 0) {
      throw new IllegalArgumentException("negative estimate");
    }
  }
}
