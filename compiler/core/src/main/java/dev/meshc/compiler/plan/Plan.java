package dev.meshc.compiler.plan;

import java.util.List;

/**
 * A placed plan for one phase: regions on the wafers, each holding contiguous layers (the last
 * also the LM head), with the predicted time. When nothing fits, {@code feasible} is false and
 * {@code explanation} names the binding constraint with its numbers.
 *
 * @param cycles         predicted cycles per token (decode) or for the whole prompt (prefill)
 * @param solverStatus   CP-SAT's status (OPTIMAL, FEASIBLE) or PRECHECK when arithmetic alone
 *                       ruled every grid out
 * @param optimalityGap  (objective − bound) / objective; 0 when proven optimal
 */
public record Plan(String model, String machine, Workload workload, boolean feasible, List<Region> regions,
    int wafers, double cycles, double seconds, long pesUsed, long maxPeBytes, int maxColorsPerPe,
    String solverStatus, double optimalityGap, double solveSeconds, String explanation) {

  public Plan {
    regions = List.copyOf(regions);
  }

  /**
   * One region: a {@code grid}×{@code grid} square at ({@code x}, {@code y}) of the usable kernel
   * area of wafer {@code wafer}, running layers [{@code firstLayer}, {@code endLayer}) and, when
   * {@code head}, the LM head.
   *
   * @param handoffCycles cycles to pass the activation on to the next region (0 for the last)
   * @param kvSlots       decode: tokens one row of PEs can hold in the memory left beside weights
   *                      and buffers; the shift-based cache holds {@code grid} times as many
   * @param queues        decode: the input and output queues a PE's program names ({@link
   *                      dev.meshc.ir.kernel.DecodeFabric.Queues}); null where not counted
   */
  public record Region(int index, int wafer, int x, int y, int grid, int firstLayer, int endLayer, boolean head,
      long weightBytes, long kvBytes, long transientBytes, int colors, double layerCycles, double headCycles,
      double handoffCycles, long kvSlots, dev.meshc.ir.kernel.DecodeFabric.Queues.Count queues) {
    /** Tokens the shift-based KV cache holds: every row's slots. */
    public long kvCapacity() {
      return kvSlots * grid;
    }

    public int layers() {
      return endLayer - firstLayer;
    }

    public long peBytes() {
      return weightBytes + kvBytes + transientBytes;
    }

    public double cycles() {
      return layers() * layerCycles + (head ? headCycles : 0);
    }
  }

  /** Tokens per second for decode; prompt tokens per second for prefill. */
  public double tokensPerSecond() {
    if (!feasible || seconds <= 0) {
      return 0;
    }
    return workload.phase() == Workload.Phase.DECODE ? 1 / seconds : workload.promptLen() / seconds;
  }

  static Plan infeasible(String model, String machine, Workload w, String status, double solveSeconds,
      String why) {
    return new Plan(model, machine, w, false, List.of(), 0, 0, 0, 0, 0, 0, status, 0, solveSeconds, why);
  }
}
