package dev.meshc.ir.eval;

import dev.meshc.ir.Tensor;
import dev.meshc.ir.Weight;

/**
 * Where weight values come from when something runs the model. Compiling never calls this;
 * the reference evaluator (and later the mesh runtime) do, one weight at a time.
 */
@FunctionalInterface
public interface WeightStore {
  /** The weight's value in {@code w.value()}'s shape (its permutation applied), as fp32. */
  Tensor read(Weight w);
}
