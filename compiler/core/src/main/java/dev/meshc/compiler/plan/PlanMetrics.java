package dev.meshc.compiler.plan;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/** Totals of a placed plan, from its regions and the cost model (in real cycles, not the solver's integers). */
final class PlanMetrics {
  private PlanMetrics() {}

  static Plan finish(String model, MachineSpec m, Workload w, CostModel cost, long width, List<Plan.Region> regions,
      String status, double gap, double solveSeconds) {
    List<Plan.Region> out = new ArrayList<>();
    double cycles = 0;
    long pes = 0;
    long bytes = 0;
    int colors = 0;
    int wafers = 0;
    for (int i = 0; i < regions.size(); i++) {
      Plan.Region r = regions.get(i);
      double handoff = 0;
      if (i + 1 < regions.size()) {
        Plan.Region next = regions.get(i + 1);
        handoff = cost.handoff(-1, r, next, width).cycles(m)
            + (next.wafer() != r.wafer() ? cost.waferCycles(width) : 0);
      }
      Plan.Region f = new Plan.Region(r.index(), r.wafer(), r.x(), r.y(), r.grid(), r.firstLayer(), r.endLayer(),
          r.head(), r.weightBytes(), r.kvBytes(), r.transientBytes(), r.colors(), r.layerCycles(), r.headCycles(),
          handoff, r.kvSlots());
      out.add(f);
      cycles += f.cycles() + handoff;
      pes += (long) r.grid() * r.grid();
      bytes = Math.max(bytes, f.peBytes());
      colors = Math.max(colors, r.colors());
      wafers = Math.max(wafers, r.wafer() + 1);
    }
    return new Plan(model, m.name(), w, true, out, wafers, cycles, m.seconds(cycles), pes, bytes, colors, status, gap,
        solveSeconds, null);
  }
}
