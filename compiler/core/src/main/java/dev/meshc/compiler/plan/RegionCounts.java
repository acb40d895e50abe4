package dev.meshc.compiler.plan;

import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import com.google.ortools.sat.Literal;
import dev.meshc.compiler.plan.Planner.Candidate;
import java.util.ArrayList;
import java.util.List;

/**
 * The plan searched without places first. A plan's time is, region by region, its layers times
 * its grid's cycles per layer, the head's cycles where it lies, and a hand-off to the next region;
 * only the hand-offs' hops depend on where regions lie. So CP-SAT first chooses, per grid, how
 * many regions and how many layers, under what any packing of squares must satisfy (their area,
 * and no more squares of side ≥ P than floor(W/P)·floor(H/P) per wafer) and with each hand-off
 * priced at its least (one hop): a model of a few dozen variables, solved to optimality in
 * milliseconds, whose time bounds every plan's. The counts are then laid out in shelves and
 * priced exactly; when that plan is within the gap of the bound it is the answer, with the gap
 * proven; otherwise (tight packings, small meshes) the full model searches with places. When no
 * count vector of the relaxation lies in shelves, a search over plans that are shelves by
 * construction (a few shelves per wafer, one grid each) gives the plan the full model must beat.
 */
final class RegionCounts {
  /** Regions of one grid, in pipeline order, and where each lies. */
  record Laid(Candidate c, int wafer, int x, int y, int layers, boolean head) {}

  /**
   * The laid-out plan (null when the shelves did not hold the counts), its exact objective time
   * (as the full model counts it) and the proven bound.
   */
  record Result(List<Laid> regions, long time, long bound) {
    double gap() {
      return time <= 0 ? 0 : Math.max(0, (double) (time - bound) / time);
    }
  }

  private final List<Candidate> cands;
  private final int layers;
  private final boolean head;
  private final int wafers;
  private final int maxRegions;
  private final int kw;
  private final int kh;
  private final long alpha;
  private final long[] stream; // per grid: a hand-off's cycles besides its hops
  private final long cross; // a hand-off to the next wafer, on top
  private final long seed;

  RegionCounts(List<Candidate> cands, int layers, boolean head, int wafers, int maxRegions, int kw, int kh,
      long alpha, long[] stream, long cross, long seed) {
    this.cands = cands;
    this.layers = layers;
    this.head = head;
    this.wafers = wafers;
    this.maxRegions = maxRegions;
    this.kw = kw;
    this.kh = kh;
    this.alpha = alpha;
    this.stream = stream;
    this.cross = cross;
    this.seed = seed;
  }

  /** Layers a region of candidate c holds beside the head. */
  static int headCapacity(Candidate c) {
    if (c.head() == null) {
      return c.capacity();
    }
    long left = c.budget() - c.head().residentBytes();
    return (int) Math.min(c.capacity(), Math.max(0, left / Math.max(1, c.layer().residentBytes())));
  }

  /** Count vectors (with the head's grid) tried before the full model takes over. */
  private static final int TRIES = 64;

  /**
   * The best counts whose shelves hold them, laid out, with the bound of the first solve; null when
   * no counts satisfy the relaxation (then no plan exists on these wafers: every constraint here
   * is one any plan meets). Counts the shelves cannot hold are excluded and the next best tried;
   * the bound stays the first's (another packing might hold them).
   */
  Result solve() {
    List<int[]> tried = new ArrayList<>();
    long bound = -1;
    for (int attempt = 0; attempt < TRIES; attempt++) {
      Counts first = new Counts(tried);
      CpSolver solver = solver();
      if (solver.solve(first.cp) != CpSolverStatus.OPTIMAL) {
        return bound < 0 ? null : new Result(null, Long.MAX_VALUE, bound); // the relaxation is tiny: proven
      }
      long best = Math.round(solver.objectiveValue());
      if (bound < 0) {
        bound = best;
      }
      // among the fastest counts, the fewest PEs
      Counts fewest = new Counts(tried);
      fewest.cp.addLessOrEqual(fewest.time, best);
      fewest.cp.minimize(fewest.pes);
      solver = solver();
      if (solver.solve(fewest.cp) != CpSolverStatus.OPTIMAL) {
        throw new IllegalStateException("the counts' second solve lost the first's solution");
      }
      int k = cands.size();
      int[] n = new int[k + 1];
      int[] l = new int[k];
      n[k] = -1; // the head's grid
      for (int j = 0; j < k; j++) {
        n[j] = (int) solver.value(fewest.count[j]);
        l[j] = (int) solver.value(fewest.onGrid[j]);
        if (solver.booleanValue(fewest.headOn[j])) {
          n[k] = j;
        }
      }
      List<Laid> laid = layOut(n, l, n[k]);
      if (laid != null) {
        return new Result(laid, time(laid), bound);
      }
      tried.add(n);
    }
    List<Laid> laid = shelved();
    return new Result(laid, laid == null ? Long.MAX_VALUE : time(laid), bound);
  }

  /** Shelves a wafer has in the shelved search (small grids' plans need more: the full model places them). */
  private static final int MAX_SHELVES = 4;

  /**
   * Counts that lie in shelves by construction: per wafer up to MAX_SHELVES shelves, each of one
   * grid, as many of its squares side by side as the width holds, the shelves' heights within the
   * wafer's. A plan of that form is searched within a short limit (its best is no bound: other
   * packings exist), laid out as it came; null when none is found.
   */
  private List<Laid> shelved() {
    int shelves = Math.min(MAX_SHELVES, kh / cands.get(0).grid());
    Counts c = new Counts(List.of(), shelves);
    CpSolver solver = solver(3);
    CpSolverStatus st = solver.solve(c.cp);
    if (st != CpSolverStatus.OPTIMAL && st != CpSolverStatus.FEASIBLE) {
      return null;
    }
    int k = cands.size();
    int h = -1;
    int[] l = new int[k];
    int[] total = new int[k];
    for (int j = 0; j < k; j++) {
      l[j] = (int) solver.value(c.onGrid[j]);
      total[j] = (int) solver.value(c.count[j]);
      if (solver.booleanValue(c.headOn[j])) {
        h = j;
      }
    }
    int[][] split = new int[k][];
    for (int j = 0; j < k; j++) {
      split[j] = split(cands.get(j), total[j], l[j], j == h);
    }
    // the pipeline: wafer by wafer, shelf by shelf; the head's shelf (its grid, on the last wafer
    // that has one) last of all
    int headWafer = -1;
    int headShelf = -1;
    for (int v = 0; v < wafers; v++) {
      for (int t = 0; t < shelves; t++) {
        if (h >= 0 && solver.value(c.shelf[v][t][h]) > 0) {
          headWafer = v;
          headShelf = t;
        }
      }
    }
    List<Integer> order = new ArrayList<>();
    for (int v = 0; v < wafers; v++) {
      if (v != headWafer) {
        order.add(v);
      }
    }
    if (headWafer >= 0) {
      order.add(headWafer);
    }
    int[] taken = new int[k];
    List<Laid> out = new ArrayList<>();
    int slot = 0;
    for (int v : order) {
      List<int[]> rows = new ArrayList<>(); // [grid, count]
      for (int t = 0; t < shelves; t++) {
        if (v == headWafer && t == headShelf) {
          continue;
        }
        for (int j = k - 1; j >= 0; j--) {
          int m = (int) solver.value(c.shelf[v][t][j]);
          if (m > 0) {
            rows.add(new int[] {j, m});
          }
        }
      }
      if (v == headWafer) {
        rows.add(new int[] {h, (int) solver.value(c.shelf[v][headShelf][h])});
      }
      if (rows.isEmpty()) {
        continue;
      }
      int y = 0;
      for (int r = 0; r < rows.size(); r++) {
        Candidate cand = cands.get(rows.get(r)[0]);
        int side = cand.grid();
        for (int i = 0; i < rows.get(r)[1]; i++) {
          int x = r % 2 == 0 ? i * side : kw - (i + 1) * side;
          int at = taken[rows.get(r)[0]]++;
          out.add(new Laid(cand, slot, x, y, split[rows.get(r)[0]][at],
              rows.get(r)[0] == h && at == split[h].length - 1));
        }
        y += side;
      }
      slot++;
    }
    return out;
  }

  /** The relaxation's model, the counts in {@code tried} (and their head's grid) excluded. */
  private final class Counts {
    final CpModel cp = new CpModel();
    final IntVar[] count;
    final IntVar[] onGrid;
    final BoolVar[] headOn;
    final LinearExpr time;
    final LinearExpr pes;

    final IntVar[][][] shelf; // shelved: per wafer and shelf, squares of each grid

    Counts(List<int[]> tried) {
      this(tried, 0);
    }

    /** ... with {@code shelves} shelves of one grid each per wafer when above 0. */
    Counts(List<int[]> tried, int shelves) {
      int k = cands.size();
      count = new IntVar[k];
      onGrid = new IntVar[k];
      headOn = new BoolVar[k];
      LinearExprBuilder regions = LinearExpr.newBuilder();
      LinearExprBuilder layerSum = LinearExpr.newBuilder();
      LinearExprBuilder headSum = LinearExpr.newBuilder();
      LinearExprBuilder area = LinearExpr.newBuilder();
      LinearExprBuilder t = LinearExpr.newBuilder();
      long maxSend = 0;
      for (int j = 0; j < k; j++) {
        Candidate c = cands.get(j);
        long side = c.grid();
        count[j] = cp.newIntVar(0, Math.min((long) c.perWafer() * wafers, maxRegions), "regions" + side);
        onGrid[j] = cp.newIntVar(0, layers, "layers" + side);
        headOn[j] = cp.newBoolVar("head" + side);
        if (!head) {
          cp.addEquality(headOn[j], 0);
        }
        cp.addLessOrEqual(headOn[j], count[j]);
        // every region holds a layer but the head's, which holds at most headCapacity beside it
        cp.addGreaterOrEqual(LinearExpr.newBuilder().add(onGrid[j]).addTerm(count[j], -1).add(headOn[j]), 0);
        cp.addLessOrEqual(LinearExpr.newBuilder().add(onGrid[j]).addTerm(count[j], -c.capacity())
            .addTerm(headOn[j], c.capacity() - headCapacity(c)), 0);
        regions.add(count[j]);
        layerSum.add(onGrid[j]);
        headSum.add(headOn[j]);
        area.addTerm(count[j], side * side);
        long send = stream[j] + alpha; // a hand-off at its least: one hop
        t.addTerm(onGrid[j], Planner.cyclesOf(c.layer())).addTerm(count[j], send).addTerm(headOn[j], -send);
        if (c.head() != null) {
          t.addTerm(headOn[j], Planner.cyclesOf(c.head()));
        }
        maxSend = Math.max(maxSend, send);
      }
      for (int j = 0; j < k; j++) { // no more squares of side P_j or larger than floor(W/P_j)·floor(H/P_j) per wafer
        LinearExprBuilder larger = LinearExpr.newBuilder();
        for (int i = 0; i < k; i++) {
          if (cands.get(i).grid() >= cands.get(j).grid()) {
            larger.add(count[i]);
          }
        }
        cp.addLessOrEqual(larger.build(), (long) cands.get(j).perWafer() * wafers);
      }
      cp.addLessOrEqual(regions.build(), maxRegions);
      cp.addGreaterOrEqual(regions.build(), 1);
      cp.addEquality(layerSum.build(), layers);
      cp.addEquality(headSum.build(), head ? 1 : 0);
      cp.addLessOrEqual(area.build(), (long) wafers * kw * kh);
      shelf = shelves > 0 ? new IntVar[wafers][shelves][k] : null;
      if (shelves > 0) {
        LinearExprBuilder[] onShelves = new LinearExprBuilder[k];
        for (int j = 0; j < k; j++) {
          onShelves[j] = LinearExpr.newBuilder();
        }
        for (int v = 0; v < wafers; v++) {
          LinearExprBuilder height = LinearExpr.newBuilder();
          for (int u = 0; u < shelves; u++) {
            LinearExprBuilder one = LinearExpr.newBuilder();
            for (int j = 0; j < k; j++) {
              int side = cands.get(j).grid();
              BoolVar of = cp.newBoolVar("shelf" + v + "_" + u + "_" + side);
              shelf[v][u][j] = cp.newIntVar(0, kw / side, "on" + v + "_" + u + "_" + side);
              cp.addLessOrEqual(LinearExpr.newBuilder().add(shelf[v][u][j]).addTerm(of, -(kw / side)), 0);
              one.add(of);
              height.addTerm(of, side);
              onShelves[j].add(shelf[v][u][j]);
            }
            cp.addLessOrEqual(one.build(), 1);
          }
          cp.addLessOrEqual(height.build(), kh);
        }
        for (int j = 0; j < k; j++) {
          cp.addEquality(count[j], onShelves[j]);
        }
      }
      for (int[] n : tried) { // some grid's count, or the head's grid, differs
        List<Literal> differs = new ArrayList<>();
        for (int j = 0; j < k; j++) {
          BoolVar d = cp.newBoolVar("differs" + j);
          cp.addDifferent(count[j], n[j]).onlyEnforceIf(d);
          differs.add(d);
        }
        if (n[k] >= 0) {
          differs.add(headOn[n[k]].not());
        }
        cp.addBoolOr(differs.toArray(new Literal[0]));
      }
      // without a head the last region sends nothing either: take the dearest hand-off off, a bound
      time = t.add(head ? 0 : -maxSend).build();
      pes = area.build();
      cp.minimize(time);
    }
  }

  private CpSolver solver() {
    return solver(5);
  }

  private CpSolver solver(double limit) {
    CpSolver s = new CpSolver();
    s.getParameters().setNumWorkers(1).setRandomSeed((int) seed).setMaxDeterministicTime(limit)
        .setMaxTimeInSeconds(30);
    return s;
  }

  /**
   * The counts as regions: grids from the largest down, the head's grid last with the head its last
   * region; each grid's layers spread evenly; placed in shelves along X, a shelf's direction
   * alternating (so the next region is beside the last), shelves down each wafer, then the next
   * wafer. Null when the shelves do not hold them.
   */
  private List<Laid> layOut(int[] n, int[] l, int h) {
    List<Integer> order = new ArrayList<>();
    for (int j = cands.size() - 1; j >= 0; j--) { // candidates come in ascending grid
      if (n[j] > 0 && j != h) {
        order.add(j);
      }
    }
    if (h >= 0) {
      order.add(h);
    }
    List<Laid> out = new ArrayList<>();
    int wafer = 0;
    int shelfY = 0;
    int shelfH = 0;
    int shelf = 0;
    int used = 0; // along the shelf, from its start side
    for (int j : order) {
      Candidate c = cands.get(j);
      int s = c.grid();
      int[] split = split(c, n[j], l[j], j == h);
      for (int i = 0; i < n[j]; i++) {
        if (used + s > kw) {
          shelfY += shelfH;
          shelfH = 0;
          used = 0;
          shelf++;
        }
        if (shelfY + s > kh) {
          wafer++;
          shelfY = 0;
          shelfH = 0;
          used = 0;
          shelf = 0;
        }
        if (wafer >= wafers) {
          return null;
        }
        int x = shelf % 2 == 0 ? used : kw - used - s;
        out.add(new Laid(c, wafer, x, shelfY, split[i], j == h && i == n[j] - 1));
        used += s;
        shelfH = Math.max(shelfH, s);
      }
    }
    return out;
  }

  /** Layers per region of one grid, as even as the head's room allows (the head's region last). */
  private static int[] split(Candidate c, int regions, int layers, boolean head) {
    int[] out = new int[regions];
    int rest = regions;
    int left = layers;
    if (head) {
      int others = regions - 1;
      int lo = Math.max(0, layers - others * c.capacity());
      int hi = Math.min(headCapacity(c), layers - others);
      int even = (int) Math.round((double) layers / regions);
      out[regions - 1] = Math.max(lo, Math.min(hi, even));
      left -= out[regions - 1];
      rest = others;
    }
    for (int i = 0; i < rest; i++) {
      out[i] = left / rest + (i < left % rest ? 1 : 0);
    }
    return out;
  }

  /** The full model's objective time of a laid-out plan: layers, head, and every hand-off as it lies. */
  long time(List<Laid> regions) {
    long t = 0;
    for (int i = 0; i < regions.size(); i++) {
      Laid r = regions.get(i);
      t += r.layers() * Planner.cyclesOf(r.c().layer()) + (r.head() ? Planner.cyclesOf(r.c().head()) : 0);
      if (i + 1 < regions.size()) {
        Laid b = regions.get(i + 1);
        t += alpha * dev.meshc.ir.kernel.Handoff.hops(r.x(), r.y(), b.x(), b.y()) + stream[cands.indexOf(r.c())]
            + (b.wafer() != r.wafer() ? cross : 0);
      }
    }
    return t;
  }
}
