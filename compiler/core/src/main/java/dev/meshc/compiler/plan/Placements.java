package dev.meshc.compiler.plan;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Placement;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.kernel.KernelTemplate;
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
    for (Plan.Region r : p.regions()) {
      Attrs ri = Attrs.builder().put("wafer", r.wafer()).put("x", r.x()).put("y", r.y()).put("grid", r.grid())
          .put("layers", new long[] {r.firstLayer(), r.endLayer()}).put("lm_head", r.head() ? 1 : 0)
          .put("weight_bytes", r.weightBytes()).put("kv_bytes", r.kvBytes()).put("buffer_bytes", r.transientBytes())
          .put("colors", r.colors()).put("cycles_per_layer", Math.round(r.layerCycles()))
          .put("cycles", Math.round(r.cycles())).put("handoff_cycles", Math.round(r.handoffCycles())).build();
      List<Placement.Kernel> kernels = new ArrayList<>();
      if (w.phase() == Workload.Phase.PREFILL) {
        // the kernel program of every op the region holds, as the runtime will execute it
        List<ModelShape.Ops> units = new ArrayList<>();
        model.layers().subList(r.firstLayer(), r.endLayer()).forEach(l -> units.add(l.program()));
        if (r.head()) {
          units.add(model.head().program());
        }
        for (ModelShape.Ops u : units) {
          u.lower(w.promptLen(), r.grid()).forEach(k -> kernels.add(k.toKernel(cost.machine())));
        }
      } else {
        if (r.layers() > 0) {
          kernels(cost.layer(model.envelope(), r.grid()), "", kernels);
        }
        if (r.head()) {
          kernels(cost.head(model.head(), model.envelope().normed(), r.grid()), "lm_head.", kernels);
        }
      }
      regions.add(new Placement.Region(r.index(), ri, kernels));
    }
    return new Placement(w.phase().label(), info.build(), regions);
  }

  /** The unit's mesh kernels with the parameters the runtime and the CSL backend need. */
  private static void kernels(CostModel.UnitCost u, String prefix, List<Placement.Kernel> out) {
    for (CostModel.Step st : u.steps()) {
      KernelTemplate t = st.template();
      if (t == null) {
        continue;
      }
      KernelTemplate.Problem pad = t.padded();
      Attrs.Builder a = Attrs.builder().put("algorithm", st.kernel())
          .put("shape", new long[] {t.problem().m(), t.problem().k(), t.problem().n()})
          .put("padded", new long[] {pad.m(), pad.k(), pad.n()}).put("grid", new long[] {u.grid(), u.grid()})
          .put("pe_bytes", t.maxBytesPerPe()).put("colors", t.maxColorsPerPe()).put("cycles", Math.round(st.cycles()));
      if (st.kernel().equals("meshgemv")) {
        a.put("groups", KTree.defaultGroups(u.grid()));
      }
      out.add(new Placement.Kernel(prefix + st.name(), a.build()));
    }
  }
}
