package dev.meshc.ir.kernel;

/**
 * A template that moves data without computing on it (the KV shift, a region-to-region hand-off):
 * one input "A" and one output "C", both [M, N] for its problem (M, 1, N), stored in fp16.
 */
public interface Move extends KernelTemplate {
  @Override
  default boolean fp32Accumulate() {
    return false;
  }

  @Override
  default long[] inputShape(String tensor) {
    if (!tensor.equals("A")) {
      throw new IllegalArgumentException(algorithm() + " has no input " + tensor);
    }
    return new long[] {problem().m(), problem().n()};
  }
}
