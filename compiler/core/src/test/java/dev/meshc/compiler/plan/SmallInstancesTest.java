package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.text.TirParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

/**
 * On meshes small enough to enumerate, CP-SAT's plan equals the optimum found by trying every
 * split of the layers, every grid and every place (acceptance 3); and the infeasible cases say
 * which constraint binds, with numbers (acceptance 4).
 */
class SmallInstancesTest {
  static MachineSpec mesh(int side, int bytes, int colors) {
    return mesh(side, side, bytes, colors);
  }

  /** A kernel area of width × height PEs with {@code bytes} of buffer memory per PE. */
  static MachineSpec mesh(int width, int height, int bytes, int colors) {
    Properties p = new Properties();
    p.setProperty("name", "mesh" + width + "x" + height);
    p.setProperty("fabric_width", Integer.toString(width + 7));
    p.setProperty("fabric_height", Integer.toString(height + 2));
    p.setProperty("kernel_offset_x", "4");
    p.setProperty("kernel_offset_y", "1");
    p.setProperty("halo_width", "7");
    p.setProperty("halo_height", "2");
    p.setProperty("bytes_per_pe", Integer.toString(bytes + 1024));
    p.setProperty("program_reserve_bytes", "1024");
    p.setProperty("routable_colors", Integer.toString(colors + 3));
    p.setProperty("reserved_colors", (colors) + "," + (colors + 1) + "," + (colors + 2));
    p.setProperty("alpha", "1");
    p.setProperty("beta", "10");
    p.setProperty("wavelet_bits", "32");
    p.setProperty("fmacs_per_cycle", "1.6");
    p.setProperty("clock_hz", "1.1e9");
    p.setProperty("step_overhead", "195");
    p.setProperty("wafer_link_latency", "1100");
    p.setProperty("wafer_link_bytes_per_cycle", "136");
    return MachineSpec.fromProperties(p, "test");
  }

  /**
   * A LLaMA-shaped model (4 heads, 2 kv heads, SwiGLU, RMSNorm) as tile IR, so the planner prices
   * its ops' kernel program; traced at 4 tokens.
   */
  static ModelShape model(int layers, int width, int ffn, int vocab) {
    int hd = width / 4;
    StringBuilder t = new StringBuilder("tir 1\nmodule \"small\" {\n  input %ids : i64[1,4] <*,y>\n");
    t.append(String.format("  weight @emb : f32[%d,%d] <y,x> = \"emb\"%n", vocab, width));
    String[][] ws = {{"n1", "%d"}, {"q", "%d,%d"}, {"k", "%d,%d"}, {"v", "%d,%d"}, {"o", "%d,%d"}, {"n2", "%d"},
        {"g", "%d,%d"}, {"u", "%d,%d"}, {"d", "%d,%d"}};
    long[][] dims = {{width}, {width, width}, {width, 2 * hd}, {width, 2 * hd}, {width, width}, {width},
        {width, ffn}, {width, ffn}, {ffn, width}};
    for (int l = 0; l < layers; l++) {
      for (int i = 0; i < ws.length; i++) {
        String shape = dims[i].length == 1 ? String.valueOf(dims[i][0]) : dims[i][0] + "," + dims[i][1];
        t.append(String.format("  weight @l%d.%s : f32[%s] <%s> = \"l%d.%s\"%n", l, ws[i][0], shape,
            dims[i].length == 1 ? "x" : "y,x", l, ws[i][0]));
      }
    }
    t.append(String.format("  weight @fn : f32[%d] <x> = \"fn\"%n  weight @head : f32[%d,%d] <y,x> = \"head\"%n",
        width, width, vocab));
    String act = "f32[1,4,%d] <*,y,x>";
    t.append("  %0 = embedding %ids, @emb : " + String.format(act, width) + "\n");
    int v = 1;
    String x = "%0";
    for (int l = 0; l < layers; l++) {
      t.append(String.format("  layer %d decoder {activation = \"swiglu\", ffn = %d, head_dim = %d, heads = 4, "
          + "kv_heads = 2, norm = \"rms_norm\", norm_position = \"pre\", residual = \"sequential\", width = %d} {%n",
          l, ffn, hd, width));
      int n1 = v++;
      int q = v++;
      int qh = v++;
      int k = v++;
      int kh = v++;
      int vv = v++;
      int vh = v++;
      int qr = v++;
      int kr = v++;
      int at = v++;
      int mh = v++;
      int o = v++;
      int r1 = v++;
      int n2 = v++;
      int g = v++;
      int u = v++;
      int sw = v++;
      int dn = v++;
      int r2 = v++;
      String heads4 = String.format("f32[1,4,4,%d] <*,*,y,x>", hd);
      String heads2 = String.format("f32[1,2,4,%d] <*,*,y,x>", hd);
      String w = String.format(act, width);
      String kv = String.format(act, 2 * hd);
      String f = String.format(act, ffn);
      t.append(String.format("    %%%d = rms_norm %s, @l%d.n1 {eps = 1.0E-6} : %s%n", n1, x, l, w));
      t.append(String.format("    %%%d = linear %%%d, @l%d.q : %s%n", q, n1, l, w));
      t.append(String.format("    %%%d = split_heads %%%d {heads = 4} : %s%n", qh, q, heads4));
      t.append(String.format("    %%%d = linear %%%d, @l%d.k : %s%n", k, n1, l, kv));
      t.append(String.format("    %%%d = split_heads %%%d {heads = 2} : %s%n", kh, k, heads2));
      t.append(String.format("    %%%d = linear %%%d, @l%d.v : %s%n", vv, n1, l, kv));
      t.append(String.format("    %%%d = split_heads %%%d {heads = 2} : %s%n", vh, vv, heads2));
      t.append(String.format("    %%%d = rope %%%d {interleaved = 0, rotary_dim = %d, theta = 10000.0} : %s%n", qr, qh,
          hd, heads4));
      t.append(String.format("    %%%d = rope %%%d {interleaved = 0, rotary_dim = %d, theta = 10000.0} : %s%n", kr, kh,
          hd, heads2));
      t.append(String.format("    %%%d = attention %%%d, %%%d, %%%d {causal = 1, scale = 0.25} : %s%n", at, qr, kr, vh,
          heads4));
      t.append(String.format("    %%%d = merge_heads %%%d : %s%n", mh, at, w));
      t.append(String.format("    %%%d = linear %%%d, @l%d.o : %s%n", o, mh, l, w));
      t.append(String.format("    %%%d = Add %s, %%%d : %s%n", r1, x, o, w));
      t.append(String.format("    %%%d = rms_norm %%%d, @l%d.n2 {eps = 1.0E-6} : %s%n", n2, r1, l, w));
      t.append(String.format("    %%%d = linear %%%d, @l%d.g : %s%n", g, n2, l, f));
      t.append(String.format("    %%%d = linear %%%d, @l%d.u : %s%n", u, n2, l, f));
      t.append(String.format("    %%%d = swiglu %%%d, %%%d : %s%n", sw, g, u, f));
      t.append(String.format("    %%%d = linear %%%d, @l%d.d : %s%n", dn, sw, l, w));
      t.append(String.format("    %%%d = Add %%%d, %%%d : %s%n  }%n", r2, r1, dn, w));
      x = "%" + r2;
    }
    t.append(String.format("  %%%d = rms_norm %s, @fn {eps = 1.0E-6} : %s%n", v, x, String.format(act, width)));
    t.append(String.format("  %%logits = linear %%%d, @head : %s%n  output %%logits%n}%n", v, String.format(act, vocab)));
    return ModelShape.of(TirParser.parse(t.toString(), "small.tir"));
  }

  /** The residual's width of the enumerated models (their hand-offs carry it). */
  static final int WIDTH = 32;

  /** The solver's integer objective, recomputed for any list of regions: (time, PEs). */
  static long[] objective(Map<Integer, Planner.Candidate> cands, Planner pl, List<Plan.Region> regions) {
    long time = 0;
    long pes = 0;
    for (int i = 0; i < regions.size(); i++) {
      Plan.Region r = regions.get(i);
      Planner.Candidate c = cands.get(r.grid());
      time += r.layers() * Planner.cyclesOf(c.layer()) + (r.head() ? Planner.cyclesOf(c.head()) : 0);
      pes += (long) r.grid() * r.grid();
      if (i + 1 < regions.size()) {
        Plan.Region n = regions.get(i + 1);
        time += dev.meshc.ir.kernel.Handoff.hops(r.x(), r.y(), n.x(), n.y())
            + (long) Math.ceil(pl.costModel().handoffCycles(WIDTH, r.grid()));
      }
    }
    return new long[] {time, pes};
  }

  /** Every split into regions, grid per region and place on one wafer; the least (time, PEs). */
  static Map<Integer, Planner.Candidate> candidates(Planner pl) {
    Map<Integer, Planner.Candidate> all = new TreeMap<>();
    for (int p : pl.grids()) {
      all.put(p, pl.candidate(p));
    }
    return all;
  }

  static long[] bruteForce(Planner pl, Map<Integer, Planner.Candidate> all, ModelShape model, MachineSpec m) {
    List<Planner.Candidate> cands = new ArrayList<>();
    for (Planner.Candidate c : all.values()) {
      if (c.colors() <= m.colorBudget() && c.capacity() >= 1 && c.headFits()) {
        cands.add(c);
      }
    }
    long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
    int layers = model.layers().size();
    for (int regions = 1; regions <= layers + 1; regions++) {
      search(pl, all, cands, m, layers, regions, new ArrayList<>(), 0, best);
    }
    return best;
  }

  private static void search(Planner pl, Map<Integer, Planner.Candidate> all, List<Planner.Candidate> cands,
      MachineSpec m, int layers, int regions, List<Plan.Region> placed, int next, long[] best) {
    int i = placed.size();
    if (i == regions) {
      if (next != layers) {
        return;
      }
      long[] o = objective(all, pl, placed);
      if (o[0] < best[0] || o[0] == best[0] && o[1] < best[1]) {
        best[0] = o[0];
        best[1] = o[1];
      }
      return;
    }
    boolean last = i == regions - 1;
    for (Planner.Candidate c : cands) {
      for (int n = last ? layers - next : 0; n <= layers - next; n++) {
        if (n == 0 && !last) {
          continue;
        }
        long bytes = n * c.layer().residentBytes() + (last ? c.head().residentBytes() : 0);
        if (bytes > c.budget()) {
          continue;
        }
        for (int x = 0; x + c.grid() <= m.kernelWidth(); x++) {
          for (int y = 0; y + c.grid() <= m.kernelHeight(); y++) {
            if (overlaps(placed, x, y, c.grid())) {
              continue;
            }
            placed.add(new Plan.Region(i, 0, x, y, c.grid(), next, next + n, last, 0, 0, 0, 0, 0, 0, 0, 0, null));
            search(pl, all, cands, m, layers, regions, placed, next + n, best);
            placed.remove(placed.size() - 1);
          }
        }
      }
    }
  }

  private static boolean overlaps(List<Plan.Region> placed, int x, int y, int s) {
    for (Plan.Region r : placed) {
      if (x < r.x() + r.grid() && r.x() < x + s && y < r.y() + r.grid() && r.y() < y + s) {
        return true;
      }
    }
    return false;
  }

  /**
   * Kernel areas of 4–8 × 3–8 PEs and memories (1–4 KiB) tight enough that the layers often need several
   * regions; every (split, grid, place) is tried.
   */
  @Property(tries = 100, seed = "4242")
  void solverEqualsEnumeration(@ForAll @IntRange(min = 2, max = 4) int layers,
      @ForAll @IntRange(min = 4, max = 8) int width, @ForAll @IntRange(min = 3, max = 8) int height,
      @ForAll @IntRange(min = 1, max = 4) int kib) {
    MachineSpec m = mesh(width, height, kib * 1024, 21);
    ModelShape model = model(layers, WIDTH, 48, 64);
    Planner pl = new Planner(model, m, Workload.decode(16), new Planner.Options(0, 1, 30, 0, 1));
    Plan p = pl.plan();
    Map<Integer, Planner.Candidate> all = candidates(pl);
    long[] brute = bruteForce(pl, all, model, m);
    Statistics.collect(brute[0] == Long.MAX_VALUE ? "infeasible" : p.regions().size() + " region(s)");
    // the search of counts without places bounds every plan: its relaxation has no solution only
    // where no plan exists, and its time is at most the best plan's
    RegionCounts.Result counts = pl.counts(1).solve();
    if (brute[0] == Long.MAX_VALUE) {
      assertFalse(p.feasible(), "the enumeration found nothing, the solver did: " + p.regions());
      return;
    }
    assertTrue(counts != null, "the counts' relaxation found nothing where the enumeration found a plan");
    assertTrue(counts.bound() <= brute[0], "counts' bound " + counts.bound() + " above the best plan's " + brute[0]);
    if (counts.regions() != null) {
      assertTrue(counts.time() >= brute[0], "laid-out counts " + counts.time() + " beat the enumeration's "
          + brute[0]);
    }
    assertTrue(p.feasible(), p.explanation());
    assertArrayEquals(brute, objective(all, pl, p.regions()), "(time, PEs) of the solver's plan " + p.regions());
  }

  /** --workers: searches side by side, the same plan every time for the same N, as good as one search's. */
  @Test
  void workersSearchSideBySideDeterministically() {
    MachineSpec m = mesh(8, 6, 3 * 1024, 21);
    ModelShape model = model(3, WIDTH, 48, 64);
    Plan one = new Planner(model, m, Workload.decode(16), new Planner.Options(0, 1, 2, 0, 1, 1)).plan();
    Plan two = new Planner(model, m, Workload.decode(16), new Planner.Options(0, 1, 2, 0, 1, 2)).plan();
    Plan again = new Planner(model, m, Workload.decode(16), new Planner.Options(0, 1, 2, 0, 1, 2)).plan();
    assertTrue(one.feasible() && two.feasible(), one.explanation() + " / " + two.explanation());
    assertEquals(two.regions(), again.regions());
    assertEquals(two.cycles(), again.cycles());
    assertTrue(two.cycles() <= one.cycles(), two.cycles() + " cycles with 2 workers, " + one.cycles() + " with 1");
  }

  @Test
  void tooBigForTheWafer() {
    Plan p = new Planner(model(3, 64, 96, 128), mesh(4, 8 * 1024, 21), Workload.decode(32),
        new Planner.Options(0, 1, 10, 0, 1)).plan();
    assertFalse(p.feasible());
    assertTrue(p.explanation().matches(".*layers 0–2 and the LM head need .*/PE on one \\dx\\d region .* the model "
        + "needs ≥ \\d+ regions of \\d².*--wafers 1 allows 1.*"), p.explanation());
  }

  @Test
  void colourBudgetTooSmall() {
    Plan p = new Planner(model(2, 64, 96, 128), mesh(6, 8 * 1024, 2), Workload.decode(32),
        new Planner.Options(0, 0, 10, 0, 1)).plan();
    assertFalse(p.feasible());
    assertTrue(p.explanation().startsWith("the colour budget is too small: a decode region needs "),
        p.explanation());
    assertTrue(p.explanation().contains("routes 2 (5 routable less the reserved [2, 3, 4])"), p.explanation());
  }

  @Test
  void contextTooLongForTheKvBudget() {
    Plan p = new Planner(model(2, 64, 96, 128), mesh(6, 8 * 1024, 21), Workload.decode(100_000),
        new Planner.Options(0, 0, 10, 0, 1)).plan();
    assertFalse(p.feasible());
    assertTrue(p.explanation().startsWith("context 100000 is too long for the KV budget"), p.explanation());
    assertTrue(p.explanation().matches(".*at most \\d+ tokens fit one layer alone there"), p.explanation());
    // and the figure it names does fit
    long most = Long.parseLong(p.explanation().replaceAll(".*at most (\\d+) tokens fit.*", "$1"));
    CostModel.UnitCost at = new CostModel(mesh(6, 8 * 1024, 21), Workload.decode(most)).layer(
        model(1, 64, 96, 128).envelope(), 6);
    assertTrue(at.residentBytes() + at.transientBytes() <= 8 * 1024, "a layer with " + most + " tokens fits");
    CostModel.UnitCost over = new CostModel(mesh(6, 8 * 1024, 21), Workload.decode(most + 6)).layer(
        model(1, 64, 96, 128).envelope(), 6);
    assertTrue(over.residentBytes() + over.transientBytes() > 8 * 1024, "one more token per row does not");
  }
}
