package dev.meshc.compiler.plan;

import com.google.ortools.Loader;
import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.IntervalVar;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import com.google.ortools.sat.Literal;
import com.google.ortools.sat.NoOverlap2dConstraint;
import dev.meshc.backends.csl.DecodeMemory;
import dev.meshc.compiler.plan.CostModel.UnitCost;
import dev.meshc.compiler.plan.ModelShape.LayerShape;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Chooses the pipeline regions with CP-SAT: how many square regions, their grids and places on
 * the wafers (no two overlap, each inside the usable kernel area), which contiguous layers each
 * holds (the last also the LM head), so that per-PE memory fits and the predicted time per token
 * (decode) or per prompt (prefill) plus the hand-offs is least; ties go to fewer PEs. At batch 1
 * one region works at a time, so the time is the sum over regions.
 *
 * <p>Two searches: first the regions' counts per grid without places ({@link RegionCounts}: a
 * relaxation whose optimum bounds every plan, laid out in shelves); when that plan is within the
 * gap of the bound it is the answer, else the full model below, with places, searches.
 *
 * <p>Deterministic: one worker, a fixed seed and a deterministic-time limit (CP-SAT's own work
 * measure), so the same input gives the same plan on any machine. When the limit stops the search,
 * the best plan is returned with its optimality gap.
 */
public final class Planner {
  /**
   * Where the search may look. {@code grid} fixes every region's side; {@code wafers} 0 is auto;
   * {@code limit} is CP-SAT's deterministic time; the search stops once the plan is within
   * {@code gap} (relative) of the proven bound. {@code workers} searches with places run side by
   * side, each one CP-SAT worker with its own seed (seed, seed + 1, …), and the best is kept (the
   * first by seed among equals): the same plan for the same N, on any machine.
   */
  public record Options(int grid, int wafers, double limit, double gap, long seed, int workers) {
    public Options {
      if (workers < 1) {
        throw MeshcException.input("--workers %d: at least 1", workers);
      }
    }

    public Options(int grid, int wafers, double limit, double gap, long seed) {
      this(grid, wafers, limit, gap, seed, 1);
    }

    public static Options defaults() {
      return new Options(0, 0, 10, 0.02, 1);
    }
  }

  /** The most wafers {@code --wafers auto} tries. */
  public static final int MAX_WAFERS = 64;
  private static final int MAX_REGIONS = 32;

  private final ModelShape model;
  private final MachineSpec m;
  private final Workload w;
  private final Options o;
  private final CostModel cost;
  private final LayerShape layer;
  private final int units;

  /**
   * The per-grid figures the model is built from: one candidate side P. {@code transientBytes}:
   * what a region holds besides its layers' resident bytes; {@code headBytes}: what the head adds.
   */
  record Candidate(int grid, UnitCost layer, UnitCost head, long transientBytes, long headBytes, long budget,
      int capacity, boolean headFits, int perWafer, int colors) {}

  public Planner(ModelShape model, MachineSpec m, Workload w, Options o) {
    this.model = model;
    this.m = m;
    this.w = w;
    this.o = o;
    this.cost = new CostModel(m, w, model.storage());
    this.layer = model.envelope();
    this.units = model.layers().size() + (model.head() == null ? 0 : 1);
  }

  private Consumer<String> log;

  /** Sends CP-SAT's search log, line by line, to {@code sink} (meshc compile --verbose). */
  public Planner log(Consumer<String> sink) {
    this.log = sink;
    return this;
  }

  public CostModel costModel() {
    return cost;
  }

  /** The grid sides the solver chooses among: about 25 steps up to the largest square. */
  public List<Integer> grids() {
    int most = m.maxSquareGrid();
    if (o.grid() > 0) {
      if (o.grid() > most) {
        throw MeshcException.input("--grid %d does not fit %s: the largest square kernel is %dx%d", o.grid(), m.name(),
            most, most);
      }
      return List.of(o.grid());
    }
    int step = Math.max(1, most / 25);
    List<Integer> g = new ArrayList<>();
    for (int p = step; p <= most; p += step) {
      g.add(p);
    }
    if (g.get(g.size() - 1) != most) {
      g.add(most);
    }
    return g;
  }

  Candidate candidate(int p) {
    UnitCost l = cost.layer(layer, p);
    UnitCost h = model.head() == null ? null : cost.head(model.head(), layer.normed(), p);
    // the decode program declares the head's buffers beside the layers'; the templates' are reused
    long trans = cost.declared() || h == null ? l.transientBytes() : Math.max(l.transientBytes(), h.transientBytes());
    long headBytes = h == null ? 0 : h.residentBytes() + (cost.declared() ? h.transientBytes() : 0);
    long budget = m.bufferBudget() - trans;
    int cap = budget <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, budget / Math.max(1, l.residentBytes()));
    boolean headFits = h == null || headBytes <= budget;
    int perWafer = WaferPackings.most(p, m.kernelWidth(), m.kernelHeight());
    int colors = Math.max(l.colors(), h == null ? 0 : h.colors());
    return new Candidate(p, l, h, trans, headBytes, budget, cap, headFits, perWafer, colors);
  }

  /** Regions of side P the model needs for memory alone (the head shares the last when it fits). */
  static int regionsNeeded(Candidate c, int layers, boolean head) {
    if (c.capacity() < 1) {
      return Integer.MAX_VALUE;
    }
    int r = (layers + c.capacity() - 1) / c.capacity();
    if (head) {
      long left = c.budget() - (long) (layers - (long) (r - 1) * c.capacity()) * c.layer().residentBytes();
      if (!c.headFits()) {
        return Integer.MAX_VALUE;
      }
      if (c.headBytes() > left) {
        r++;
      }
    }
    return r;
  }

  public Plan plan() {
    long start = System.nanoTime();
    List<Candidate> all = new ArrayList<>();
    for (int p : grids()) {
      all.add(candidate(p));
    }
    List<Candidate> usable = usable(all);
    int layers = model.layers().size();
    boolean head = model.head() != null;
    Explain explain = new Explain(model, m, w, cost, layer, all);
    if (usable.isEmpty()) {
      return Plan.infeasible(model.name(), m.name(), w, "PRECHECK", seconds(start), explain.nothingFits());
    }
    // A lower bound on wafers valid for any mix of grids: each layer takes at least the area per
    // layer of the most area-thrifty grid.
    double perLayer = Double.MAX_VALUE;
    for (Candidate c : usable) {
      perLayer = Math.min(perLayer, (double) c.grid() * c.grid() / Math.min(layers, c.capacity()));
    }
    double need = layers * perLayer;
    int least = (int) Math.max(1, Math.ceil(need / ((double) m.kernelWidth() * m.kernelHeight()) - 1e-9));
    if (o.wafers() > 0 && least > o.wafers()) {
      return Plan.infeasible(model.name(), m.name(), w, "PRECHECK", seconds(start), explain.tooBig(o.wafers(), usable));
    }
    if (o.wafers() > 0) {
      return solve(usable, o.wafers(), o.limit(), start, explain, false);
    }
    // auto: a uniform grid gives a wafer count that surely fits; fewer are tried with a short search
    int surely = Integer.MAX_VALUE;
    for (Candidate c : usable) {
      int r = regionsNeeded(c, layers, head);
      if (o.grid() > 0 || r <= Math.min(units, MAX_REGIONS)) { // a free search places at most MAX_REGIONS
        surely = (int) Math.min(surely, ((long) r + c.perWafer() - 1) / c.perWafer());
      }
    }
    for (int n = least; n < Math.min(surely, MAX_WAFERS + 1); n++) {
      Plan p = solve(usable, n, Math.min(o.limit(), 2), start, explain, true);
      if (p.feasible()) {
        return solve(usable, n, o.limit(), start, explain, false);
      }
    }
    if (surely > MAX_WAFERS) {
      return Plan.infeasible(model.name(), m.name(), w, "PRECHECK", seconds(start), explain.tooBig(0, usable));
    }
    return solve(usable, surely, o.limit(), start, explain, false);
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  /** The regions a plan on {@code wafers} wafers may have. */
  private int maxRegions(List<Candidate> cands, int wafers) {
    int fit = 0;
    for (Candidate c : cands) {
      fit = Math.max(fit, c.perWafer());
    }
    // with one grid, the regions it needs are enough (more would only add hand-offs)
    return Math.min(o.grid() > 0 ? regionsNeeded(cands.get(0), model.layers().size(), model.head() != null)
        : Math.min(units, MAX_REGIONS), fit * wafers);
  }

  /** The search of counts without places on {@code wafers} wafers, over every usable grid (tests read its bound). */
  RegionCounts counts(int wafers) {
    List<Candidate> all = new ArrayList<>();
    for (int p : grids()) {
      all.add(candidate(p));
    }
    return counts(usable(all), wafers);
  }

  private RegionCounts counts(List<Candidate> cands, int wafers) {
    Loader.loadNativeLibraries();
    long[] streams = new long[cands.size()];
    for (int j = 0; j < cands.size(); j++) {
      streams[j] = (long) Math.ceil(cost.handoffCycles(layer.width(), cands.get(j).grid()));
    }
    return new RegionCounts(cands, model.layers().size(), model.head() != null, wafers, maxRegions(cands, wafers),
        m.kernelWidth(), m.kernelHeight(), Math.round(m.alpha()), streams,
        (long) Math.ceil(cost.waferCycles(layer.width())), o.seed(), o.gap(), this::packings);
  }

  /** A wafer's packings of these sides, {tests, lowest side index}: listed once for every wafer count tried. */
  private final Map<String, WaferPackings.Family> packings = new HashMap<>();

  private WaferPackings.Family packings(int[] sides, int[] limits) {
    return packings.computeIfAbsent(Arrays.toString(sides) + Arrays.toString(limits),
        s -> WaferPackings.of(sides, m.kernelWidth(), m.kernelHeight(), o.seed(), limits[0], limits[1]));
  }

  /** The candidates whose colours fit and that hold a layer and the head. */
  private List<Candidate> usable(List<Candidate> all) {
    List<Candidate> usable = new ArrayList<>();
    for (Candidate c : all) {
      if (c.colors() <= m.colorBudget() && c.capacity() >= 1 && c.headFits()) {
        usable.add(c);
      }
    }
    return usable;
  }

  /**
   * The best plan on {@code wafers} wafers: the counts first ({@link RegionCounts}), the full
   * model with places when their laid-out plan is not within the gap. A {@code probe} (is there
   * any plan on this many wafers?) takes the relaxation's no for an answer.
   */
  private Plan solve(List<Candidate> cands, int wafers, double limit, long start, Explain explain, boolean probe) {
    Loader.loadNativeLibraries();
    int kw = m.kernelWidth();
    int kh = m.kernelHeight();
    int layers = model.layers().size();
    boolean hasHead = model.head() != null;
    int smallest = cands.get(0).grid();
    int rMax = maxRegions(cands, wafers);
    int quantum = 0;
    for (Candidate c : cands) {
      quantum = gcd(quantum, c.grid());
    }
    int k = cands.size();
    long alpha = Math.round(m.alpha());
    long cross = (long) Math.ceil(cost.waferCycles(layer.width()));
    RegionCounts.Result counts = counts(cands, wafers).solve();
    if (counts == null) { // the relaxation has no solution: neither has the full model
      return Plan.infeasible(model.name(), m.name(), w, "INFEASIBLE", seconds(start), probe
          ? "no plan on " + wafers + " wafer(s)" : explain.infeasible(wafers, cands, List.of("memory")));
    }
    if (counts != null && counts.regions() != null && counts.gap() <= o.gap()) {
      return countsPlan(counts, counts.gap(), start);
    }

    CpModel cp = new CpModel();
    BoolVar memory = cp.newBoolVar("memory fits");
    BoolVar area = cp.newBoolVar("regions inside the wafer");
    BoolVar[] used = new BoolVar[rMax];
    BoolVar[][] z = new BoolVar[rMax][k];
    BoolVar[] last = new BoolVar[rMax];
    IntVar[] n = new IntVar[rMax];
    IntVar[] side = new IntVar[rMax];
    IntVar[] x = new IntVar[rMax];
    IntVar[] y = new IntVar[rMax];
    IntVar[] wafer = new IntVar[rMax];
    IntVar[] t = new IntVar[rMax];
    long[] sizes = new long[k];
    long[] areas = new long[k];
    long tMax = 0;
    for (int j = 0; j < k; j++) {
      Candidate c = cands.get(j);
      sizes[j] = c.grid();
      areas[j] = (long) c.grid() * c.grid();
      tMax = Math.max(tMax, cyclesOf(c.layer()) * layers + (c.head() == null ? 0 : cyclesOf(c.head())));
    }
    // The objective is time · peScale + PEs. Where its largest value could leave 2^60 (CP-SAT
    // refuses a model whose objective might overflow: a 72B prefill of 4096 tokens on 480²),
    // time is counted in quanta of q cycles; PlanMetrics recomputes the chosen plan's cycles exactly.
    long peScale = (long) wafers * kw * kh + 1; // time first; PEs break ties
    long streamMax = 0;
    for (Candidate c : cands) {
      streamMax = Math.max(streamMax, (long) Math.ceil(cost.handoffCycles(layer.width(), c.grid())));
    }
    double timeBound = (double) rMax * (tMax + streamMax + alpha * (kw + kh) + cross) + 1;
    long q = Math.max(1, (long) Math.ceil(timeBound * peScale / (double) (1L << 60)));
    tMax = quanta(tMax, q);
    NoOverlap2dConstraint packing = cp.addNoOverlap2D();
    LinearExprBuilder[] layersOnGrid = new LinearExprBuilder[k];
    for (int j = 0; j < k; j++) {
      layersOnGrid[j] = LinearExpr.newBuilder();
    }
    LinearExprBuilder time = LinearExpr.newBuilder();
    LinearExprBuilder pes = LinearExpr.newBuilder();
    LinearExprBuilder layerSum = LinearExpr.newBuilder();
    LinearExprBuilder lastSum = LinearExpr.newBuilder();
    for (int r = 0; r < rMax; r++) {
      used[r] = cp.newBoolVar("used" + r);
      last[r] = cp.newBoolVar("head" + r);
      n[r] = cp.newIntVar(0, layers, "layers" + r);
      side[r] = cp.newIntVar(0, m.maxSquareGrid(), "side" + r);
      // corners on a lattice of the sides' common divisor: no packing of such squares needs finer
      IntVar xq = cp.newIntVar(0, (kw - smallest) / quantum, "xq" + r);
      IntVar yq = cp.newIntVar(0, (kh - smallest) / quantum, "yq" + r);
      x[r] = cp.newIntVar(0, kw - smallest, "x" + r);
      y[r] = cp.newIntVar(0, kh - smallest, "y" + r);
      cp.addEquality(x[r], LinearExpr.term(xq, quantum));
      cp.addEquality(y[r], LinearExpr.term(yq, quantum));
      wafer[r] = cp.newIntVar(0, wafers - 1, "wafer" + r);
      t[r] = cp.newIntVar(0, tMax, "cycles" + r);
      LinearExprBuilder one = LinearExpr.newBuilder();
      for (int j = 0; j < k; j++) {
        z[r][j] = cp.newBoolVar("grid" + r + "_" + sizes[j]);
        one.add(z[r][j]);
        pes.addTerm(z[r][j], areas[j]);
      }
      cp.addEquality(one, used[r]);
      cp.addEquality(side[r], LinearExpr.weightedSum(z[r], sizes));
      cp.addLessOrEqual(LinearExpr.newBuilder().add(n[r]).addTerm(used[r], -layers), 0);
      cp.addGreaterOrEqual(LinearExpr.newBuilder().add(n[r]).add(last[r]), used[r]);
      layerSum.add(n[r]);
      lastSum.add(last[r]);
      if (r > 0) {
        cp.addLessOrEqual(used[r], used[r - 1]);
        cp.addGreaterOrEqual(wafer[r], wafer[r - 1]).onlyEnforceIf(used[r]);
      }
      cp.addLessOrEqual(last[r], used[r]);
      // Layers and head split by grid (nk, hk are zero unless the region has grid j): time and
      // memory are then linear, and the LP bound is all layers on the fastest grid that holds them.
      LinearExprBuilder nSum = LinearExpr.newBuilder();
      LinearExprBuilder hSum = LinearExpr.newBuilder();
      LinearExprBuilder cyc = LinearExpr.newBuilder();
      for (int j = 0; j < k; j++) {
        Candidate c = cands.get(j);
        IntVar nk = cp.newIntVar(0, Math.min(layers, c.capacity()), "layers" + r + "_" + sizes[j]);
        cp.addLessOrEqual(LinearExpr.newBuilder().add(nk).addTerm(z[r][j], -Math.min(layers, c.capacity())), 0);
        nSum.add(nk);
        LinearExprBuilder bytes = LinearExpr.newBuilder().addTerm(nk, c.layer().residentBytes());
        cyc.addTerm(nk, quanta(cyclesOf(c.layer()), q));
        if (c.head() != null) {
          BoolVar hk = cp.newBoolVar("head" + r + "_" + sizes[j]);
          cp.addLessOrEqual(hk, z[r][j]);
          hSum.add(hk);
          bytes.addTerm(hk, c.headBytes());
          cyc.addTerm(hk, quanta(cyclesOf(c.head()), q));
        }
        cp.addLessOrEqual(bytes.addTerm(z[r][j], -c.budget()), 0).onlyEnforceIf(memory);
        layersOnGrid[j].add(nk);
      }
      cp.addEquality(nSum, n[r]);
      if (hasHead) {
        cp.addEquality(hSum, last[r]);
      }
      cp.addEquality(t[r], cyc);
      cp.addEquality(t[r], 0).onlyEnforceIf(used[r].not());
      cp.addEquality(x[r], 0).onlyEnforceIf(used[r].not());
      cp.addEquality(y[r], 0).onlyEnforceIf(used[r].not());
      cp.addEquality(wafer[r], 0).onlyEnforceIf(used[r].not());
      cp.addLessOrEqual(LinearExpr.sum(new IntVar[] {x[r], side[r]}), kw).onlyEnforceIf(area);
      cp.addLessOrEqual(LinearExpr.sum(new IntVar[] {y[r], side[r]}), kh).onlyEnforceIf(area);
      // wafers sit side by side along X in one coordinate space, so regions on two wafers never overlap
      IntVar gx = cp.newIntVar(0, (long) wafers * kw + m.maxSquareGrid(), "gx" + r);
      cp.addEquality(gx, LinearExpr.newBuilder().addTerm(wafer[r], kw).add(x[r]));
      IntVar gxEnd = cp.newIntVar(0, (long) wafers * kw + 2L * m.maxSquareGrid(), "gx_end" + r);
      IntVar yEnd = cp.newIntVar(0, kh + m.maxSquareGrid(), "y_end" + r);
      IntervalVar xi = cp.newOptionalIntervalVar(gx, side[r], gxEnd, used[r], "xi" + r);
      IntervalVar yi = cp.newOptionalIntervalVar(y[r], side[r], yEnd, used[r], "yi" + r);
      packing.addRectangle(xi, yi);
      time.add(t[r]);
    }
    if (hasHead) { // the head goes in the last used region
      for (int r = 0; r + 1 < rMax; r++) {
        cp.addLessOrEqual(LinearExpr.newBuilder().add(last[r]).add(used[r + 1]), 1);
        cp.addGreaterOrEqual(LinearExpr.newBuilder().add(last[r]).add(used[r + 1]), used[r]);
      }
      cp.addEquality(last[rMax - 1], used[rMax - 1]);
    }
    cp.addEquality(layerSum, layers);
    cp.addEquality(lastSum, hasHead ? 1 : 0);
    for (int r = 0; r + 1 < rMax; r++) { // the hand-off from region r to r + 1
      IntVar dx = cp.newIntVar(0, kw, "dx" + r);
      IntVar dy = cp.newIntVar(0, kh, "dy" + r);
      cp.addAbsEquality(dx, LinearExpr.newBuilder().add(x[r + 1]).addTerm(x[r], -1));
      cp.addAbsEquality(dy, LinearExpr.newBuilder().add(y[r + 1]).addTerm(y[r], -1));
      IntVar hops = cp.newIntVar(0, kw + kh, "hops" + r);
      cp.addGreaterOrEqual(hops, LinearExpr.sum(new IntVar[] {dx, dy})).onlyEnforceIf(used[r + 1]);
      cp.addGreaterOrEqual(hops, 1).onlyEnforceIf(used[r + 1]); // Handoff.hops: at least one
      IntVar stream = cp.newIntVar(0, tMax, "handoff" + r);
      for (int j = 0; j < k; j++) {
        long c = quanta((long) Math.ceil(cost.handoffCycles(layer.width(), cands.get(j).grid())), q);
        cp.addGreaterOrEqual(stream, LinearExpr.newBuilder().addTerm(z[r][j], c).addTerm(used[r + 1], c).add(-c));
      }
      BoolVar crossing = cp.newBoolVar("crossing" + r);
      cp.addLessOrEqual(LinearExpr.newBuilder().add(wafer[r + 1]).addTerm(wafer[r], -1)
          .addTerm(crossing, -(wafers - 1)), 0);
      time.addTerm(hops, q == 1 ? alpha : 0).add(stream).addTerm(crossing, quanta(cross, q));
    }
    // redundant, for the bound: the regions' area fits the wafers' (NoOverlap2D implies it), and a
    // layer on grid j takes at least P_j²/capacity_j of that area
    cp.addLessOrEqual(pes.build(), (long) wafers * kw * kh).onlyEnforceIf(area);
    LinearExprBuilder perLayer = LinearExpr.newBuilder();
    for (int j = 0; j < k; j++) {
      perLayer.addTerm(layersOnGrid[j].build(), areas[j] / Math.min(layers, cands.get(j).capacity()));
    }
    cp.addLessOrEqual(perLayer.build(), (long) wafers * kw * kh).onlyEnforceIf(area);
    // redundant, for the bound: no more regions of side P_j or larger than squares of side P_j
    // fit the wafers (axis-parallel equal squares pack at most floor(W/P)·floor(H/P)), so the LP
    // cannot put every layer on the fastest grid when that grid's squares do not pack
    for (int j = 0; j < k; j++) {
      LinearExprBuilder count = LinearExpr.newBuilder();
      for (int r = 0; r < rMax; r++) {
        for (int i = 0; i < k; i++) {
          if (sizes[i] >= sizes[j]) {
            count.add(z[r][i]);
          }
        }
      }
      cp.addLessOrEqual(count.build(), (long) cands.get(j).perWafer() * wafers).onlyEnforceIf(area);
    }
    cp.minimize(LinearExpr.newBuilder().addTerm(time.build(), peScale).add(pes.build()));
    cp.addAssumptions(new Literal[] {memory, area});
    hint(cp, cands, wafers, used, z, n, last, x, y, wafer);
    completeHint(cp, limit);

    CpSolver[] solvers = new CpSolver[o.workers()];
    CpModel[] models = new CpModel[o.workers()];
    for (int i = 0; i < solvers.length; i++) {
      solvers[i] = new CpSolver();
      solvers[i].getParameters().setNumWorkers(1).setRandomSeed((int) o.seed() + i).setMaxDeterministicTime(limit)
          .setRelativeGapLimit(o.gap()).setMaxTimeInSeconds(Math.max(60, 6 * limit));
      models[i] = i == 0 ? cp : cp.getClone(); // cloned here, one thread, before any solve reads them
    }
    if (log != null) { // the first search's log
      solvers[0].getParameters().setLogSearchProgress(true).setLogToStdout(false);
      solvers[0].setLogCallback(log);
    }
    CpSolverStatus[] statuses = new CpSolverStatus[solvers.length];
    java.util.stream.IntStream.range(0, solvers.length).parallel()
        .forEach(i -> statuses[i] = solvers[i].solve(models[i]));
    int pick = -1; // the best plan, the first by seed among equals
    double bestBound = Double.NEGATIVE_INFINITY; // every search's bound holds: the best of them
    for (int i = 0; i < solvers.length; i++) {
      if (statuses[i] == CpSolverStatus.OPTIMAL || statuses[i] == CpSolverStatus.FEASIBLE) {
        bestBound = Math.max(bestBound, solvers[i].bestObjectiveBound());
        if (pick < 0 || solvers[i].objectiveValue() < solvers[pick].objectiveValue()) {
          pick = i;
        }
      }
    }
    if (pick < 0) { // no plan: a search's proof of infeasibility, if one has it, else the first's status
      pick = 0;
      for (int i = solvers.length - 1; i >= 0; i--) {
        if (statuses[i] == CpSolverStatus.INFEASIBLE) {
          pick = i;
        }
      }
    }
    CpSolver solver = solvers[pick];
    CpSolverStatus status = statuses[pick];
    if (status == CpSolverStatus.INFEASIBLE) {
      List<String> core = new ArrayList<>();
      for (int i : solver.sufficientAssumptionsForInfeasibility()) {
        core.add(i == memory.getIndex() ? "memory" : i == area.getIndex() ? "area" : "?");
      }
      return Plan.infeasible(model.name(), m.name(), w, status.name(), seconds(start),
          explain.infeasible(wafers, cands, core));
    }
    if (status == CpSolverStatus.MODEL_INVALID) { // a bound or coefficient the planner got wrong: a bug
      throw new IllegalStateException("the planner built an invalid CP-SAT model: " + cp.validate());
    }
    if (status != CpSolverStatus.OPTIMAL && status != CpSolverStatus.FEASIBLE && !probe && counts != null
        && counts.regions() != null) { // the full model found nothing within its limit; the laid-out counts stand
      // (not for a probe: the wafer count stays the one the full model finds a plan on)
      return countsPlan(counts, counts.gap(), start);
    }
    if (status != CpSolverStatus.OPTIMAL && status != CpSolverStatus.FEASIBLE) {
      return Plan.infeasible(model.name(), m.name(), w, status.name(), seconds(start), String.format(
          "the solver found no plan within its limit (%s after %.1f s); raise --time-limit", status, seconds(start)));
    }
    List<Plan.Region> regions = new ArrayList<>();
    int first = 0;
    for (int r = 0; r < rMax; r++) {
      if (!solver.booleanValue(used[r])) {
        continue;
      }
      Candidate c = null;
      for (int j = 0; j < k; j++) {
        if (solver.booleanValue(z[r][j])) {
          c = cands.get(j);
        }
      }
      int layersHere = (int) solver.value(n[r]);
      regions.add(region(regions.size(), c, (int) solver.value(wafer[r]), (int) solver.value(x[r]),
          (int) solver.value(y[r]), first, layersHere, solver.booleanValue(last[r])));
      first += layersHere;
    }
    // OPTIMAL also means "within the gap limit": report the gap that was proven
    double gap = solver.objectiveValue() <= 0 ? 0
        : Math.max(0, (solver.objectiveValue() - bestBound) / solver.objectiveValue());
    String st = status == CpSolverStatus.OPTIMAL && gap > 1e-9 ? "FEASIBLE" : status.name();
    Plan full = PlanMetrics.finish(model.name(), m, w, cost, layer.width(), regions, st, gap, seconds(start));
    if (counts != null && counts.regions() != null) {
      // where the laid-out counts beat what the full model found within its limit, they are the
      // plan, against the better of the two proven bounds (the full model's in its time quanta)
      long bound = Math.max(counts.bound(), (long) Math.floor(bestBound / peScale) * q);
      Plan laid = countsPlan(counts, Math.max(0, (double) (counts.time() - bound) / counts.time()), start);
      if (laid.cycles() < full.cycles()) {
        return laid;
      }
    }
    return full;
  }

  /** The laid-out counts as a plan, with the gap proven for them. */
  private Plan countsPlan(RegionCounts.Result counts, double gap, long start) {
    List<Plan.Region> regions = new ArrayList<>();
    int first = 0;
    for (RegionCounts.Laid r : counts.regions()) {
      regions.add(region(regions.size(), r.c(), r.wafer(), r.x(), r.y(), first, r.layers(), r.head()));
      first += r.layers();
    }
    return PlanMetrics.finish(model.name(), m, w, cost, layer.width(), regions, gap > 1e-9 ? "FEASIBLE" : "OPTIMAL",
        gap, seconds(start));
  }

  /** Region {@code index} of candidate c at (x, y) of its wafer, holding layers from {@code first} on. */
  private Plan.Region region(int index, Candidate c, int wafer, int x, int y, int first, int layersHere,
      boolean headHere) {
    long weights = layersHere * c.layer().weightBytes() + (headHere ? c.head().weightBytes() : 0);
    long kv = layersHere * c.layer().kvBytes();
    long trans = c.transientBytes();
    DecodeMemory.Bytes declared = cost.declared(c.grid(), layersHere, headHere);
    if (declared != null) { // exactly what the region's PEs declare (the model above bounds it)
      weights = declared.weights();
      kv = declared.kv();
      trans = declared.other();
    }
    return new Plan.Region(index, wafer, x, y, c.grid(), first, first + layersHere, headHere, weights, kv, trans,
        c.colors(), c.layer().cycles(), c.head() == null ? 0 : c.head().cycles(), 0,
        kvSlots(c, layersHere, weights + trans), null);
  }

  /**
   * Tokens one row of the region holds: the memory beside weights and buffers over one token's K
   * and V on a PE (its dims, fp16, every layer of the region). Decode only; 0 otherwise.
   */
  private long kvSlots(Candidate c, int layersHere, long besidesKv) {
    if (w.phase() != Workload.Phase.DECODE || layersHere == 0) {
      return 0;
    }
    long perToken = layersHere * c.layer().kvBytesPerToken(w.maxContext());
    return Math.max(0, m.bufferBudget() - besidesKv) / perToken;
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }

  /** Cycles in quanta of q, rounded up. */
  private static long quanta(long cycles, long q) {
    return (cycles + q - 1) / q;
  }

  static long cyclesOf(UnitCost u) {
    return (long) Math.ceil(u.cycles());
  }

  /**
   * A plan to start from: the single grid with the least time whose regions fill the wafers
   * row by row; CP-SAT then improves on it.
   */
  /**
   * The uniform-plan hint made whole: with the hinted variables fixed, a short deterministic solve
   * completes the rest (times, hops, packing), and that solution becomes the hint, so the search
   * starts from a plan at least as good as the best uniform one.
   */
  private void completeHint(CpModel cp, double limit) {
    if (cp.getBuilder().getSolutionHint().getVarsCount() == 0) {
      return;
    }
    CpSolver s = new CpSolver();
    s.getParameters().setNumWorkers(1).setRandomSeed((int) o.seed()).setFixVariablesToTheirHintedValue(true)
        .setStopAfterFirstSolution(true).setMaxDeterministicTime(Math.min(1, limit / 10))
        .setMaxTimeInSeconds(Math.max(10, limit));
    CpSolverStatus st = s.solve(cp);
    if (st != CpSolverStatus.OPTIMAL && st != CpSolverStatus.FEASIBLE) {
      return; // the uniform plan does not fit as hinted: the partial hint stays
    }
    var hint = cp.getBuilder().getSolutionHintBuilder().clear();
    for (int i = 0; i < cp.getBuilder().getVariablesCount(); i++) {
      hint.addVars(i).addValues(s.response().getSolution(i));
    }
  }

  /**
   * The hand-offs of {@code r} regions of candidate {@code c} placed as the hint places them
   * (row by row on each wafer, then the next wafer), as the objective counts them: the per-grid
   * rest, α per hop between corners, and the wafers' link where the next region is on the next.
   */
  private double handoffs(Candidate c, int r) {
    int cols = Math.max(1, m.kernelWidth() / c.grid());
    double t = 0;
    for (int i = 1; i < r; i++) {
      int a = (i - 1) % c.perWafer();
      int b = i % c.perWafer();
      t += cost.handoffCycles(layer.width(), c.grid()) + m.alpha() * Handoff.hops((long) (a % cols) * c.grid(),
          (long) (a / cols) * c.grid(), (long) (b % cols) * c.grid(), (long) (b / cols) * c.grid())
          + (b == 0 ? cost.waferCycles(layer.width()) : 0);
    }
    return t;
  }

  private void hint(CpModel cp, List<Candidate> cands, int wafers, BoolVar[] used, BoolVar[][] z, IntVar[] n,
      BoolVar[] last, IntVar[] x, IntVar[] y, IntVar[] wafer) {
    int layers = model.layers().size();
    boolean head = model.head() != null;
    int best = -1;
    double bestTime = Double.MAX_VALUE;
    for (int j = 0; j < cands.size(); j++) {
      Candidate c = cands.get(j);
      int r = regionsNeeded(c, layers, head);
      if (r > used.length || r > c.perWafer() * wafers) {
        continue;
      }
      double time = layers * c.layer().cycles() + (head ? c.head().cycles() : 0) + handoffs(c, r);
      if (time < bestTime) {
        bestTime = time;
        best = j;
      }
    }
    if (best < 0) {
      return;
    }
    Candidate c = cands.get(best);
    int r = regionsNeeded(c, layers, head);
    int cols = m.kernelWidth() / c.grid();
    int left = layers;
    for (int i = 0; i < used.length; i++) {
      boolean on = i < r;
      cp.addHint(used[i], on);
      for (int j = 0; j < cands.size(); j++) {
        cp.addHint(z[i][j], on && j == best);
      }
      int here = on ? Math.min(c.capacity(), left) : 0;
      left -= here;
      cp.addHint(n[i], here);
      cp.addHint(last[i], head && i == r - 1);
      int slot = i % c.perWafer();
      cp.addHint(x[i], on ? (long) (slot % cols) * c.grid() : 0);
      cp.addHint(y[i], on ? (long) (slot / cols) * c.grid() : 0);
      cp.addHint(wafer[i], on ? i / c.perWafer() : 0);
    }
  }
}
