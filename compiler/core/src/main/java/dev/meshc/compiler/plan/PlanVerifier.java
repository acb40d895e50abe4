package dev.meshc.compiler.plan;

import dev.meshc.ir.kernel.Buffer;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Checks a plan without trusting the solver: regions inside the usable area and apart, every
 * layer placed once and in order, the head last; and per-PE memory and colours recomputed from the
 * kernel templates' own per-PE rules ({@code buffers(x, y)}, {@code routes(x, y)}) on the corner
 * and middle PEs of every region. Returns the problems found (none for a good plan).
 */
public final class PlanVerifier {
  private PlanVerifier() {}

  public static List<String> verify(Plan p, ModelShape model, MachineSpec m) {
    List<String> bad = new ArrayList<>();
    if (!p.feasible()) {
      return bad;
    }
    CostModel cost = new CostModel(m, p.workload());
    ModelShape.LayerShape shape = model.envelope();
    int next = 0;
    for (int i = 0; i < p.regions().size(); i++) {
      Plan.Region r = p.regions().get(i);
      if (r.x() < 0 || r.y() < 0 || r.x() + r.grid() > m.kernelWidth() || r.y() + r.grid() > m.kernelHeight()) {
        bad.add(String.format(Locale.ROOT, "region %d (%dx%d at %d,%d) leaves the %dx%d kernel area", i, r.grid(),
            r.grid(), r.x(), r.y(), m.kernelWidth(), m.kernelHeight()));
      }
      for (int j = 0; j < i; j++) {
        Plan.Region o = p.regions().get(j);
        if (o.wafer() == r.wafer() && r.x() < o.x() + o.grid() && o.x() < r.x() + r.grid() && r.y() < o.y() + o.grid()
            && o.y() < r.y() + r.grid()) {
          bad.add("regions " + j + " and " + i + " overlap");
        }
      }
      if (r.firstLayer() != next) {
        bad.add("region " + i + " starts at layer " + r.firstLayer() + ", not " + next);
      }
      next = r.endLayer();
      if (r.head() != (i == p.regions().size() - 1 && model.head() != null)) {
        bad.add("region " + i + (r.head() ? " holds the LM head but is not last" : " is last but lacks the LM head"));
      }
      long trans = 0;
      int colors = 0;
      CostModel.UnitCost layer = cost.layer(shape, r.grid());
      List<CostModel.UnitCost> units = new ArrayList<>(List.of(layer));
      if (r.head()) {
        units.add(cost.head(model.head(), shape.normed(), r.grid()));
      }
      long weights = 0;
      for (CostModel.UnitCost u : units) {
        long per = u == layer ? r.layers() : 1;
        long unitWeights = 0;
        for (CostModel.Step st : u.steps()) {
          KernelTemplate t = st.template();
          if (t == null) {
            continue;
          }
          long most = 0;
          int routes = 0;
          int g = r.grid() - 1;
          for (int[] pe : new int[][] {{0, 0}, {g, 0}, {0, g}, {g, g}, {g / 2, g / 2}}) {
            long b = 0;
            for (Buffer buf : t.buffers(pe[0], pe[1])) {
              b += buf.bytes();
            }
            most = Math.max(most, b);
            routes = Math.max(routes, t.routes(pe[0], pe[1]).size());
          }
          long tile = st.weight() ? 2 * (t.padded().k() / r.grid()) * (t.padded().n() / r.grid()) : 0;
          unitWeights += tile;
          trans = Math.max(trans, most - tile);
          colors = Math.max(colors, routes);
        }
        weights += per * unitWeights;
      }
      if (weights > r.weightBytes()) {
        bad.add(String.format(Locale.ROOT, "region %d: the templates' weight tiles take %d B/PE, the plan counts %d",
            i, weights, r.weightBytes()));
      }
      if (trans > r.transientBytes()) {
        bad.add(String.format(Locale.ROOT, "region %d: a kernel's buffers take %d B/PE, the plan counts %d", i, trans,
            r.transientBytes()));
      }
      if (r.peBytes() > m.bufferBudget()) {
        bad.add(String.format(Locale.ROOT, "region %d needs %d B/PE > %d", i, r.peBytes(), m.bufferBudget()));
      }
      int free = dev.meshc.ir.kernel.DecodeFabric.Queues.FREE;
      if (r.queues() != null && (r.queues().inputs() > free || r.queues().outputs() > free)) {
        bad.add(String.format(Locale.ROOT, "region %d names %d input and %d output queues, more than the %d beside "
            + "memcpy's", i, r.queues().inputs(), r.queues().outputs(), free));
      }
      if (colors > r.colors() || r.colors() > m.colorBudget()) {
        bad.add(String.format(Locale.ROOT, "region %d: a kernel routes %d colours on one PE, the plan counts %d of %d",
            i, colors, r.colors(), m.colorBudget()));
      }
    }
    if (next != model.layers().size()) {
      bad.add("the regions hold layers up to " + next + " of " + model.layers().size());
    }
    return bad;
  }
}
