package dev.meshc.compiler.plan;

import static dev.meshc.compiler.Inspection.humanBytes;

import dev.meshc.compiler.plan.CostModel.UnitCost;
import dev.meshc.compiler.plan.ModelShape.LayerShape;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** One-line reasons, with their numbers, for why no plan exists. */
final class Explain {
  private final ModelShape model;
  private final MachineSpec m;
  private final Workload w;
  private final LayerShape layer;
  private final List<Planner.Candidate> all;
  private final CostModel cost;

  Explain(ModelShape model, MachineSpec m, Workload w, CostModel cost, LayerShape layer, List<Planner.Candidate> all) {
    this.model = model;
    this.m = m;
    this.w = w;
    this.layer = layer;
    this.all = all;
    this.cost = cost;
  }

  private String units() {
    int n = model.layers().size();
    return (n == 1 ? "layer 0" : "layers 0–" + (n - 1)) + (model.head() == null ? "" : " and the LM head");
  }

  private static String uses(Map<String, Integer> use) {
    StringBuilder s = new StringBuilder();
    use.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
        s.append(s.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue()));
    return s.toString();
  }

  /** Every grid was ruled out by arithmetic: colours, or one layer (or the head) too big for a PE. */
  String nothingFits() {
    Planner.Candidate fewest = null; // among the grids where memory fits, the one with the fewest colours
    for (Planner.Candidate c : all) {
      if (c.capacity() >= 1 && c.headFits() && (fewest == null || c.colors() < fewest.colors())) {
        fewest = c;
      }
    }
    if (fewest != null) {
      UnitCost u = fewest.layer().colors() >= fewest.colors() ? fewest.layer() : fewest.head();
      return String.format(Locale.ROOT, "the colour budget is too small: a %s region needs %d colours per PE (%s on "
          + "%dx%d) but %s routes %d (%d routable less the reserved %s)", w.phase().label(), fewest.colors(),
          uses(u.colorUse()), fewest.grid(), fewest.grid(), m.name(), m.colorBudget(), m.routableColors(),
          m.reservedColors());
    }
    Planner.Candidate big = all.get(all.size() - 1);
    UnitCost l = big.layer();
    long budget = m.bufferBudget();
    long trans = big.transientBytes();
    int p = big.grid();
    if (l.residentBytes() + trans > budget && fits(1, p)) {
      long lo = 1; // the longest sequence one layer takes on the largest grid, by bisection
      long hi = w.phase() == Workload.Phase.DECODE ? w.maxContext() : w.promptLen();
      while (lo + 1 < hi) {
        long mid = (lo + hi) >>> 1;
        if (fits(mid, p)) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      String what = w.phase() == Workload.Phase.DECODE ? "context " + w.maxContext() : "prompt " + w.promptLen();
      return String.format(Locale.ROOT, "%s is too long for the KV budget: on the largest grid %dx%d one layer's KV "
          + "cache needs %s/PE and its buffers %s next to %s of weights, more than the %s per PE; at most %d tokens "
          + "fit one layer alone there", what, p, p, humanBytes(l.kvBytes()), humanBytes(trans),
          humanBytes(l.weightBytes()), humanBytes(budget), lo);
    }
    if (l.residentBytes() + trans <= budget && big.head() != null) {
      return String.format(Locale.ROOT, "the LM head (%d → %d) needs %s/PE of weights on the largest grid %dx%d, more "
          + "than the %s per PE left beside %s of buffers", model.head().width(), model.head().vocab(),
          humanBytes(big.headBytes()), p, p, humanBytes(budget - trans), humanBytes(trans));
    }
    return String.format(Locale.ROOT, "one layer needs %s/PE on the largest grid %dx%d (%s weights, %s KV cache, %s "
        + "buffers) > %s per PE", humanBytes(l.residentBytes() + trans), p, p, humanBytes(l.weightBytes()),
        humanBytes(l.kvBytes()), humanBytes(trans), humanBytes(budget));
  }

  /** Whether one layer with {@code tokens} of context (or prompt) fits a PE of a P×P region. */
  private boolean fits(long tokens, int p) {
    Workload at = w.phase() == Workload.Phase.DECODE ? Workload.decode(tokens) : Workload.prefill(tokens);
    UnitCost u = cost.at(at).layer(layer, p);
    return u.residentBytes() + u.transientBytes() <= m.bufferBudget();
  }

  /** The model needs more regions than {@code wafers} wafers hold (0: than meshc's most). */
  String tooBig(int wafers, List<Planner.Candidate> usable) {
    return tooBig(wafers, usable, false);
  }

  /** As above; {@code packed} when the solver showed that no packing of the regions fits. */
  private String tooBig(int wafers, List<Planner.Candidate> usable, boolean packed) {
    int layers = model.layers().size();
    boolean head = model.head() != null;
    Planner.Candidate first = usable.get(0);
    Planner.Candidate best = null;
    int bestWafers = Integer.MAX_VALUE;
    for (Planner.Candidate c : usable) {
      int r = Planner.regionsNeeded(c, layers, head);
      int need = (r + c.perWafer() - 1) / c.perWafer();
      if (need < bestWafers || need == bestWafers && c.grid() > best.grid()) {
        bestWafers = need;
        best = c;
      }
    }
    Planner.Candidate c = usable.size() == 1 ? first : best;
    long perPe = layers * c.layer().residentBytes() + (head ? c.headBytes() : 0) + c.transientBytes();
    int r = Planner.regionsNeeded(c, layers, head);
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s need %s/PE on one %dx%d region (%s of "
        + "weights and KV cache per layer, %s of buffers) > %s; the model needs ≥ %d regions of %d², %d to a wafer, "
        + "so ≥ %d wafers", units(), humanBytes(perPe), c.grid(), c.grid(), humanBytes(c.layer().residentBytes()),
        humanBytes(c.transientBytes()), humanBytes(m.bufferBudget()), r, c.grid(), c.perWafer(),
        (r + c.perWafer() - 1) / c.perWafer()));
    if (c != best) {
      int rb = Planner.regionsNeeded(best, layers, head);
      s.append(String.format(Locale.ROOT, " (or ≥ %d of %d², ≥ %d wafers)", rb, best.grid(), bestWafers));
    }
    if (wafers > 0) {
      s.append(String.format(Locale.ROOT, ", %sand --wafers %d allows %d; use --wafers %d or auto",
          packed ? "no packing of them fits " + wafers + " wafer(s), " : "", wafers, wafers, bestWafers));
    } else {
      s.append(String.format(Locale.ROOT, ", more than the %d meshc plans for", Planner.MAX_WAFERS));
    }
    return s.toString();
  }

  /** CP-SAT proved no placement exists; {@code core} names the constraint families involved. */
  String infeasible(int wafers, List<Planner.Candidate> usable, List<String> core) {
    if (core.contains("memory")) {
      return tooBig(wafers, usable, true);
    }
    return String.format(Locale.ROOT, "no region of the allowed grids fits in %s's usable %dx%d kernel area (solver "
        + "core: %s)", m.name(), m.kernelWidth(), m.kernelHeight(), String.join(", ", core));
  }
}
