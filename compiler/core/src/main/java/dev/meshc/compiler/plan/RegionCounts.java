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
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The plan searched without places first. A plan's time is, region by region, its layers times
 * its grid's cycles per layer, the head's cycles where it lies, and a hand-off to the next region;
 * only the hand-offs' hops depend on where regions lie. So CP-SAT first chooses, per grid, how
 * many regions and how many layers, under what any packing of squares must satisfy, with each
 * hand-off priced at its least (one hop, the smaller side between squares on one wafer, the link
 * between wafers once per wafer used): a model of a few dozen variables, solved to optimality in
 * milliseconds, whose time bounds every plan's. Two relaxations: the cuts (area, and no more
 * squares of side ≥ P than floor(W/P)·floor(H/P) per wafer), laid out in shelves; and the wafer's
 * packings listed ({@link WaferPackings}) under Hall's condition, exact about packing and laid out
 * in those packings. When the better plan is within the gap of the better bound it is the answer,
 * with the gap proven; otherwise (small meshes, small sides) the full model searches with places,
 * the laid-out plan its rival.
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
  private final double gap;
  private final BiFunction<int[], int[], WaferPackings.Family> packings;

  RegionCounts(List<Candidate> cands, int layers, boolean head, int wafers, int maxRegions, int kw, int kh,
      long alpha, long[] stream, long cross, long seed, double gap,
      BiFunction<int[], int[], WaferPackings.Family> packings) {
    this.gap = gap;
    this.packings = packings;
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
    long left = c.budget() - c.headBytes();
    return (int) Math.min(c.capacity(), Math.max(0, left / Math.max(1, c.layer().residentBytes())));
  }

  /** Count vectors of the cuts' relaxation (with the head's grid) tried in shelves before the full model takes over. */
  private static final int TRIES = 8;

  /**
   * The best laid-out counts, in shelves or in the wafer's packings, with the better of the two
   * relaxations' bounds; null when no counts satisfy a relaxation (then no plan exists on these
   * wafers: every constraint there is one any plan meets). Counts the shelves cannot hold are
   * excluded and the next best tried, while the plan is not within the gap; when none is, the
   * packings are listed one side deeper ({@link #TESTS}) before the full model would have to search.
   */
  Result solve() {
    if (cands.isEmpty()) {
      return null;
    }
    List<int[]> tried = new ArrayList<>();
    long bound = -1;
    Result best = null;
    boolean inShelves = false;
    for (int attempt = 0; attempt < TRIES && !inShelves; attempt++) {
      Counts first = new Counts(tried);
      CpSolver solver = solver();
      CpSolverStatus st = solver.solve(first.cp);
      if (st == CpSolverStatus.INFEASIBLE && bound < 0) {
        return null; // every constraint here is one any plan meets: no plan on these wafers
      }
      if (st != CpSolverStatus.OPTIMAL) { // all counts tried, or (never seen) the tiny model's limit
        bound = Math.max(bound, st == CpSolverStatus.FEASIBLE ? (long) Math.floor(solver.bestObjectiveBound()) : 0);
        break;
      }
      long least = Math.round(solver.objectiveValue());
      bound = Math.max(bound, least);
      int[] n = new int[cands.size() + 1];
      int[] l = new int[cands.size()];
      fewest(first, least, n, l);
      List<Laid> laid = layOut(n, l, n[cands.size()]);
      if (laid != null) {
        best = better(best, new Result(laid, time(laid), bound));
        inShelves = true;
      }
      tried.add(n);
      if (attempt == 0) { // the packings of a wafer, listed: a tighter bound, and counts that lie by construction
        Result p = packed(family(false));
        if (p == null) {
          return null;
        }
        bound = Math.max(bound, p.bound());
        best = better(best, p);
      }
      if (within(best, bound)) {
        return new Result(best.regions(), best.time(), bound);
      }
    }
    WaferPackings.Family deeper = bound >= 0 && !within(best, bound) ? family(true) : null;
    if (deeper != null) {
      Result p = packed(deeper);
      if (p == null) {
        return null;
      }
      bound = Math.max(bound, p.bound());
      best = better(best, p);
    }
    return best == null ? new Result(null, Long.MAX_VALUE, bound) : new Result(best.regions(), best.time(), bound);
  }

  private boolean within(Result best, long bound) {
    return best != null && best.regions() != null && new Result(null, best.time(), bound).gap() <= gap;
  }

  private static Result better(Result a, Result b) {
    if (a == null || a.regions() == null) {
      return b;
    }
    return b.regions() != null && b.time() < a.time() ? b : a;
  }

  /**
   * Among the counts of time {@code least}, the fewest PEs: the regions per grid into n (the head's
   * grid in n[k], -1 when none) and the layers per grid into l.
   */
  private void fewest(Counts first, long least, int[] n, int[] l) {
    Counts fewest = new Counts(first.tried, first.packed, first.placedOnly);
    fewest.cp.addLessOrEqual(fewest.time, least);
    fewest.cp.minimize(fewest.pes);
    CpSolver solver = solver();
    if (solver.solve(fewest.cp) != CpSolverStatus.OPTIMAL) {
      throw new IllegalStateException("the counts' second solve lost the first's solution");
    }
    int k = cands.size();
    n[k] = -1;
    for (int j = 0; j < k; j++) {
      n[j] = (int) solver.value(fewest.count[j]);
      l[j] = (int) solver.value(fewest.onGrid[j]);
      if (solver.booleanValue(fewest.headOn[j])) {
        n[k] = j;
      }
    }
    if (fewest.use != null) {
      for (int c = 0; c < fewest.use.length; c++) {
        n[k + 1 + c] = (int) solver.value(fewest.use[c]);
      }
    }
  }

  /**
   * Multisets a wafer's packings may test (each a guillotine try, some a short CP-SAT solve). When
   * no laid-out counts are within the gap, the packings are listed once more, one side deeper and
   * with 4× the tests: the packed counts had chosen sides below the family's, left to the cuts,
   * which let through squares that never pack (QWen2-72B's decode on 7 and 8 wafers: the side
   * more, 1,474 tests in 0.8 s, refutes what the full model could only search for seconds).
   */
  private static final int TESTS = 700;

  /** The packings of a wafer, listed: one side deeper than the first listing when {@code deeper}. */
  private WaferPackings.Family family(boolean deeper) {
    int k = cands.size();
    int[] sides = new int[k];
    for (int j = 0; j < k; j++) {
      sides[j] = cands.get(j).grid();
    }
    WaferPackings.Family first = packings.apply(sides, new int[] {TESTS, 0});
    if (!deeper || first == null || first.smallest() == 0) {
      return first;
    }
    WaferPackings.Family next = packings.apply(sides, new int[] {4 * TESTS, first.smallest() - 1});
    return next == null || next.smallest() >= first.smallest() ? null : next;
  }

  /**
   * The counts under Hall's condition over the listed packings of a wafer ({@link WaferPackings}),
   * laid out in those packings: a tighter bound than the cuts', and a plan that lies by
   * construction. Null when no counts satisfy it (no plan on these wafers).
   */
  private Result packed(WaferPackings.Family family) {
    if (family == null) {
      return new Result(null, Long.MAX_VALUE, 0);
    }
    Counts c = new Counts(List.of(), family, false);
    CpSolver solver = solver();
    CpSolverStatus st = solver.solve(c.cp);
    if (st == CpSolverStatus.INFEASIBLE) {
      return null;
    }
    if (st != CpSolverStatus.OPTIMAL) {
      return new Result(null, Long.MAX_VALUE, st == CpSolverStatus.FEASIBLE
          ? (long) Math.floor(solver.bestObjectiveBound()) : 0);
    }
    long bound = Math.round(solver.objectiveValue());
    List<Laid> laid = layOutPacked(c, bound, family);
    if (laid == null) { // sides below the family's, or a packing without places: the plan without them
      Counts placed = new Counts(List.of(), family, true);
      solver = solver();
      st = solver.solve(placed.cp);
      if (st == CpSolverStatus.OPTIMAL) {
        laid = layOutPacked(placed, Math.round(solver.objectiveValue()), family);
      }
    }
    return new Result(laid, laid == null ? Long.MAX_VALUE : time(laid), bound);
  }

  /** The fewest-PE counts of time {@code least} in {@code c}'s model, laid out in its packings. */
  private List<Laid> layOutPacked(Counts c, long least, WaferPackings.Family family) {
    int k = cands.size();
    int[] n = new int[k + 1 + family.packings().size()];
    int[] l = new int[k];
    fewest(c, least, n, l);
    return layOutPacked(n, l, n[k], family, Arrays.copyOfRange(n, k + 1, n.length));
  }

  /**
   * The counts in the chosen packings: regions from the largest, each into the smallest free slot
   * that holds it (Hall's condition makes that succeed), the slots of a wafer visited in the order
   * of fewest hops from where the pipeline enters it, the head's wafer last and its slot last on
   * it. Null when a chosen packing has no places (CP-SAT's limit kept it).
   */
  private List<Laid> layOutPacked(int[] n, int[] l, int h, WaferPackings.Family family, int[] use) {
    List<WaferPackings.Square> slots = new ArrayList<>();
    List<Integer> slotWafer = new ArrayList<>();
    int wafer = 0;
    for (int c = 0; c < use.length; c++) {
      for (int i = 0; i < use[c]; i++, wafer++) {
        List<WaferPackings.Square> sq = family.packings().get(c).squares();
        if (sq == null) {
          return null;
        }
        for (WaferPackings.Square q : sq) {
          slots.add(q);
          slotWafer.add(wafer);
        }
      }
    }
    int k = cands.size();
    int[] region = new int[slots.size()]; // the grid index each slot holds, -1 free
    Arrays.fill(region, -1);
    for (int j = k - 1; j >= 0; j--) {
      for (int i = 0; i < n[j]; i++) {
        int pick = -1;
        for (int s = 0; s < slots.size(); s++) {
          if (region[s] < 0 && slots.get(s).side() >= j
              && (pick < 0 || slots.get(s).side() < slots.get(pick).side())) {
            pick = s;
          }
        }
        if (pick < 0) {
          return null; // the counts break Hall's condition: not the packed model's
        }
        region[pick] = j;
      }
    }
    int headWafer = -1; // the last wafer with a region of the head's grid
    for (int s = 0; s < slots.size(); s++) {
      if (h >= 0 && region[s] == h) {
        headWafer = Math.max(headWafer, slotWafer.get(s));
      }
    }
    List<Integer> order = new ArrayList<>();
    for (int v = 0; v < wafer; v++) {
      if (v != headWafer) {
        order.add(v);
      }
    }
    if (headWafer >= 0) {
      order.add(headWafer);
    }
    List<Integer> path = new ArrayList<>(); // slots in pipeline order
    int[] pipeWafer = new int[slots.size()];
    int headSlot = -1;
    int px = 0;
    int py = 0;
    int v2 = 0;
    for (int v : order) {
      List<Integer> here = new ArrayList<>();
      for (int s = 0; s < slots.size(); s++) {
        if (region[s] >= 0 && slotWafer.get(s) == v) {
          here.add(s);
        }
      }
      if (here.isEmpty()) {
        continue;
      }
      List<Integer> walk = null;
      if (v == headWafer) { // the head's slot last: the one of its grid that walks shortest
        long least = Long.MAX_VALUE;
        for (int last : here) {
          if (region[last] != h) {
            continue;
          }
          List<Integer> rest = new ArrayList<>(here);
          rest.remove(Integer.valueOf(last));
          List<Integer> w = walk(slots, rest, px, py);
          w.add(last);
          long t = length(slots, w, px, py);
          if (t < least) {
            least = t;
            walk = w;
            headSlot = last;
          }
        }
      } else {
        walk = walk(slots, here, px, py);
      }
      for (int s : walk) {
        path.add(s);
        pipeWafer[s] = v2;
        px = slots.get(s).x();
        py = slots.get(s).y();
      }
      v2++;
    }
    int[][] split = new int[k][];
    int[] taken = new int[k];
    for (int j = 0; j < k; j++) {
      split[j] = split(cands.get(j), n[j], l[j], j == h);
    }
    List<Laid> out = new ArrayList<>();
    for (int s : path) {
      int j = region[s];
      int at = taken[j]++;
      out.add(new Laid(cands.get(j), pipeWafer[s], slots.get(s).x(), slots.get(s).y(), split[j][at], s == headSlot));
    }
    return out;
  }

  /** The slots in the order of fewest hops from (x, y): every order up to 7 slots, else nearest first. */
  private static List<Integer> walk(List<WaferPackings.Square> slots, List<Integer> here, int x, int y) {
    if (here.size() <= 7) {
      List<Integer> best = new ArrayList<>(here);
      long[] least = {Long.MAX_VALUE};
      permute(slots, new ArrayList<>(here), 0, x, y, least, best);
      return best;
    }
    List<Integer> left = new ArrayList<>(here);
    List<Integer> out = new ArrayList<>();
    while (!left.isEmpty()) {
      int pick = 0;
      for (int i = 1; i < left.size(); i++) {
        if (hops(slots.get(left.get(i)), x, y) < hops(slots.get(left.get(pick)), x, y)) {
          pick = i;
        }
      }
      int s = left.remove(pick);
      out.add(s);
      x = slots.get(s).x();
      y = slots.get(s).y();
    }
    return out;
  }

  private static long hops(WaferPackings.Square s, int x, int y) {
    return dev.meshc.ir.kernel.Handoff.hops(x, y, s.x(), s.y());
  }

  /** Hops along the slots from (x, y). */
  private static long length(List<WaferPackings.Square> slots, List<Integer> walk, int x, int y) {
    long t = 0;
    for (int s : walk) {
      t += hops(slots.get(s), x, y);
      x = slots.get(s).x();
      y = slots.get(s).y();
    }
    return t;
  }

  private static void permute(List<WaferPackings.Square> slots, List<Integer> a, int i, int x, int y, long[] least,
      List<Integer> best) {
    if (i == a.size()) {
      long t = length(slots, a, x, y);
      if (t < least[0]) {
        least[0] = t;
        best.clear();
        best.addAll(a);
      }
      return;
    }
    for (int j = i; j < a.size(); j++) {
      java.util.Collections.swap(a, i, j);
      permute(slots, a, i + 1, x, y, least, best);
      java.util.Collections.swap(a, i, j);
    }
  }

  /** The relaxation's model, the counts in {@code tried} (and their head's grid) excluded. */
  private final class Counts {
    final CpModel cp = new CpModel();
    final IntVar[] count;
    final IntVar[] onGrid;
    final BoolVar[] headOn;
    final LinearExpr time;
    final LinearExpr pes;

    final IntVar used; // wafers that hold regions
    final IntVar[] use; // packed: wafers of each packing
    final List<int[]> tried;
    final WaferPackings.Family packed;
    final boolean placedOnly;

    /** The cuts' relaxation. */
    Counts(List<int[]> tried) {
      this(tried, null, false);
    }

    /**
     * ... or, with {@code packed}, each wafer one of its packings (Hall's condition); and when
     * {@code placedOnly}, only the sides the packings list and only packings with places (a
     * restriction, not a bound: its counts always lie in the packings).
     */
    Counts(List<int[]> tried, WaferPackings.Family packed, boolean placedOnly) {
      this.placedOnly = placedOnly;
      this.tried = tried;
      this.packed = packed;
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
      // the wafers that hold regions: their area holds the regions', and the pipeline crosses
      // from one to the next u - 1 times; the other R - u hand-offs stay on a wafer, between
      // squares that do not overlap, whose corners are then at least the smaller side apart
      used = cp.newIntVar(1, wafers, "wafers");
      cp.addLessOrEqual(area.build(), LinearExpr.term(used, (long) kw * kh));
      cp.addLessOrEqual(used, regions.build());
      long apart = alpha * (cands.get(0).grid() - 1); // beyond the one hop counted in send
      t.addTerm(used, cross - apart).add(-cross).addTerm(regions.build(), apart);
      if (packed != null) { // Hall: regions of side ≥ s within the slots of side ≥ s the wafers' packings offer
        List<WaferPackings.Packing> ps = packed.packings();
        use = new IntVar[ps.size()];
        LinearExprBuilder wafersUsed = LinearExpr.newBuilder();
        for (int c = 0; c < ps.size(); c++) {
          use[c] = cp.newIntVar(0, placedOnly && ps.get(c).squares() == null ? 0 : wafers, "packing" + c);
          wafersUsed.add(use[c]);
        }
        cp.addEquality(used, wafersUsed.build());
        for (int j = 0; placedOnly && j < packed.smallest(); j++) {
          cp.addEquality(count[j], 0);
        }
        for (int j = packed.smallest(); j < k; j++) {
          LinearExprBuilder larger = LinearExpr.newBuilder();
          for (int i = j; i < k; i++) {
            larger.add(count[i]);
          }
          for (int c = 0; c < ps.size(); c++) {
            larger.addTerm(use[c], -ps.get(c).atLeast()[j]);
          }
          cp.addLessOrEqual(larger.build(), 0);
        }
      } else {
        use = null;
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
    CpSolver s = new CpSolver();
    s.getParameters().setNumWorkers(1).setRandomSeed((int) seed).setMaxDeterministicTime(5)
        .setMaxTimeInSeconds(30);
    return s;
  }

  /**
   * The counts as regions: grids from the largest down, the head's grid last with the head its last
   * region; each grid's layers spread evenly; placed in shelves along X, shelves down each wafer,
   * then the next wafer, each shelf in the direction opposite to the last and starting under the
   * last one's end (so the next region is beside or below the last). Null when the shelves do not
   * hold them.
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
    // first the shelves: per region its grid, wafer, shelf, y and its offset along the shelf
    List<int[]> at = new ArrayList<>(); // [grid index, wafer, shelf, y, used before it, layers, head]
    List<Integer> shelfWidth = new ArrayList<>();
    int wafer = 0;
    int shelfY = 0;
    int shelfH = 0;
    int shelf = 0;
    int used = 0;
    shelfWidth.add(0);
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
          shelfWidth.add(0);
        }
        if (shelfY + s > kh) {
          wafer++;
          shelfY = 0;
          shelfH = 0;
          used = 0;
          if (shelfWidth.get(shelf) > 0) {
            shelf++;
            shelfWidth.add(0);
          }
        }
        if (wafer >= wafers) {
          return null;
        }
        at.add(new int[] {j, wafer, shelf, shelfY, used, split[i], j == h && i == n[j] - 1 ? 1 : 0});
        used += s;
        shelfWidth.set(shelf, used);
        shelfH = Math.max(shelfH, s);
      }
    }
    // then X: a shelf runs from where the last one ended, back towards its start
    int[] start = new int[shelfWidth.size()];
    boolean[] back = new boolean[shelfWidth.size()];
    int[] shelfWafer = new int[shelfWidth.size()];
    for (int[] r : at) {
      shelfWafer[r[2]] = r[1];
    }
    int end = 0; // where the last shelf's last square ends (its right edge, or its left going back)
    for (int t = 0; t < start.length; t++) {
      boolean newWafer = t == 0 || shelfWafer[t] != shelfWafer[t - 1];
      back[t] = !newWafer && !back[t - 1];
      int width = shelfWidth.get(t);
      start[t] = back[t] ? Math.max(width, Math.min(kw, end)) : newWafer ? 0 : Math.max(0, Math.min(kw - width, end));
      end = back[t] ? start[t] - width : start[t] + width;
    }
    List<Laid> out = new ArrayList<>();
    for (int[] r : at) {
      Candidate c = cands.get(r[0]);
      int x = back[r[2]] ? start[r[2]] - r[4] - c.grid() : start[r[2]] + r[4];
      out.add(new Laid(c, r[1], x, r[3], r[5], r[6] == 1));
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
