package dev.meshc.compiler.plan;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Placement;
import java.util.ArrayList;
import java.util.List;

/** A plan as tile IR: the {@link Placement} the printer writes into a module's .tir. */
public final class Placements {
  private Placements() {}

  public static Placement of(Plan p, ModelShape model, CostModel cost) {
    Workload w = p.workload();
    Attrs.Builder info = Attrs.builder().put("machine", p.machine()).put("prompt_len", w.promptLen())
        .put("max_context", w.maxContext()).put("feasible", p.feasible() ? 1 : 0);
    if (!p.feasible()) {
      return new Placement(w.phase().label(), info.put("explanation", p.explanation()).build(), List.of());
    }
    info.put("wafers", p.wafers()).put("pes_used", p.pesUsed()).put("max_pe_bytes", p.maxPeBytes())
        .put("max_colors_per_pe", p.maxColorsPerPe()).put("cycles", Math.round(p.cycles()))
        .put("solver_status", p.solverStatus()).put("optimality_gap", (float) p.optimalityGap());
    List<Placement.Region> regions = new ArrayList<>();
    for (int i = 0; i < p.regions().size(); i++) {
      Plan.Region r = p.regions().get(i);
      Attrs.Builder ri = Attrs.builder().put("wafer", r.wafer()).put("x", r.x()).put("y", r.y()).put("grid", r.grid())
          .put("layers", new long[] {r.firstLayer(), r.endLayer()}).put("lm_head", r.head() ? 1 : 0)
          .put("weight_bytes", r.weightBytes()).put("kv_bytes", r.kvBytes()).put("buffer_bytes", r.transientBytes())
          .put("colors", r.colors()).put("cycles_per_layer", Math.round(r.layerCycles()))
          .put("cycles", Math.round(r.cycles())).put("handoff_cycles", Math.round(r.handoffCycles()));
      if (r.queues() != null) {
        ri.put("input_queues", r.queues().inputs()).put("output_queues", r.queues().outputs());
      }
      // the kernel program of every op the region holds, as the runtime will execute it
      List<ModelShape.Ops> units = new ArrayList<>();
      model.layers().subList(r.firstLayer(), r.endLayer()).forEach(l -> units.add(l.program()));
      if (r.head()) {
        units.add(model.head().program());
      }
      List<Placement.Kernel> kernels = new ArrayList<>();
      for (ModelShape.Ops u : units) {
        (w.phase() == Workload.Phase.PREFILL ? u.lower(w.promptLen(), r.grid()) : u.decode(w.maxContext(), r.grid()))
            .forEach(k -> kernels.add(k.toKernel(cost.machine())));
      }
      if (i + 1 < p.regions().size()) { // the move to the next region, before its first op
        Plan.Region next = p.regions().get(i + 1);
        int op = next.firstLayer() < model.layers().size() ? model.layers().get(next.firstLayer()).program().start()
            : model.head().program().start(); // a region of the LM head alone
        kernels.add(cost.handoff(op, r, next, model.envelope().width()).toKernel(cost.machine()));
      }
      regions.add(new Placement.Region(r.index(), ri.build(), kernels));
    }
    return new Placement(w.phase().label(), info.build(), regions);
  }
}
