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
    // decode: the routers carry each region's fabric and the hand-offs that go on the fabric
    // between its regions (DecodeFabric.lanes, as the CSL lays them): their colours per PE
    List<dev.meshc.ir.kernel.DecodeFabric.Lane> lanes = List.of();
    if (w.phase() == Workload.Phase.DECODE) {
      List<int[]> rs = new ArrayList<>();
      regions.forEach(r -> rs.add(new int[] {r.index(), r.wafer(), r.x(), r.y(), r.grid()}));
      lanes = dev.meshc.ir.kernel.DecodeFabric.lanes(rs, width, m);
    }
    for (int i = 0; i < regions.size(); i++) {
      Plan.Region r = regions.get(i);
      double handoff = 0;
      if (i + 1 < regions.size()) {
        Plan.Region next = regions.get(i + 1);
        handoff = cost.handoff(-1, r, next, width).cycles(m)
            + (next.wafer() != r.wafer() ? cost.waferCycles(width) : 0);
      }
      int colours = r.colors();
      List<dev.meshc.ir.kernel.DecodeFabric.Lane> here = lanes.stream().filter(l -> l.wafer() == r.wafer()).toList();
      if (!here.isEmpty()) {
        colours = Math.max(colours, dev.meshc.ir.kernel.DecodeFabric.colorsWith(r.x(), r.y(), r.grid(),
            m.queuePerColor(), here));
      }
      // the queues: the region's fabric's and, where its wafer hands off on the fabric, the hand-off's
      dev.meshc.ir.kernel.DecodeFabric.Queues.Count queues = w.phase() == Workload.Phase.DECODE
          ? new dev.meshc.ir.kernel.DecodeFabric.Queues(m.queuePerColor()).count(!here.isEmpty())
          : null;
      Plan.Region f = new Plan.Region(r.index(), r.wafer(), r.x(), r.y(), r.grid(), r.firstLayer(), r.endLayer(),
          r.head(), r.weightBytes(), r.kvBytes(), r.transientBytes(), colours, r.layerCycles(), r.headCycles(),
          handoff, r.kvSlots(), queues);
      out.add(f);
      cycles += f.cycles() + handoff;
      pes += (long) r.grid() * r.grid();
      bytes = Math.max(bytes, f.peBytes());
      colors = Math.max(colors, colours);
      wafers = Math.max(wafers, r.wafer() + 1);
    }
    return new Plan(model, m.name(), w, true, out, wafers, cycles, m.seconds(cycles), pes, bytes, colors, status, gap,
        solveSeconds, null);
  }
}
