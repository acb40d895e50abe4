package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.machine.MachineSpec;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Issue 18: whatever the shape, grid, wafer count, phase and length, the planner gives a plan or
 * says why there is none; it never builds a model CP-SAT refuses (the planner throws on
 * MODEL_INVALID, so an invalid model fails here) and never blames the time limit for a model
 * that could not be solved at all.
 */
class PlannerValidityTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Property(tries = 25, seed = "18")
  void everyRequestIsAPlanOrAReason(@ForAll @IntRange(min = 1, max = 96) int layers,
      @ForAll @IntRange(min = 1, max = 256) int width16, @ForAll @IntRange(min = 1, max = 4) int ffnFactor,
      @ForAll @IntRange(min = 1, max = 200) int vocab1k, @ForAll @IntRange(min = 0, max = 25) int gridStep,
      @ForAll @IntRange(min = 0, max = 4) int wafers, @ForAll boolean decode,
      @ForAll @IntRange(min = 1, max = 131_072) int length) {
    int width = 16 * width16;
    ModelShape model = SmallInstancesTest.model(layers, width, width * ffnFactor, 1000 * vocab1k);
    Workload w = decode ? Workload.decode(length) : Workload.prefill(length);
    int grid = gridStep == 0 ? 0 : 30 * gridStep;
    Plan p = new Planner(model, WSE2, w, new Planner.Options(grid, wafers, 1, 0.02, 1)).plan();
    if (!p.feasible()) {
      assertFalse(p.explanation() == null || p.explanation().isBlank(), "an infeasible plan says why");
      assertFalse(p.explanation().contains("MODEL_INVALID"), p.explanation());
    } else {
      assertTrue(p.cycles() > 0 && p.maxPeBytes() <= WSE2.bufferBudget(), p.toString());
    }
  }
}
