package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RowFn} (a norm, or the attention softmax) over X[M, N] laid out {@code L_y E_x}: PE
 * (x, y) holds rows y·mt… and columns x·nt… of X. Each pass computes the PE's per-row partial
 * statistic, then a K-tree all-reduce along the PE's row of the mesh (WEST/EAST) combines the
 * partials, so every PE of the row holds the row's total; after the last pass each PE finishes
 * its own tile. Rows of the mesh run the same rules on their own (the same five colours, routes
 * only east–west). This is the "norms with all-reduce" and "softmax with max/sum all-reduce" of
 * WaferLLM's prefill; with M = 1 it is the decode norm.
 *
 * <p>The problem is (M, 1, N); inputs are "X" (M×N), "W" and "B" (1×N) and "Mask" (M×N), the
 * output "C" is Y (M×N).
 */
public final class RowWise implements KernelTemplate {
  private final RowFn fn;
  private final Problem problem;
  private final int width;
  private final int height;
  private final int mt;
  private final int nt;
  private final KTreeAllReduce tree;
  private final boolean fp32Input;

  /**
   * @param fp32Input X arrives in fp32, as the scores a dist-GEMM-T leaves in its fp32
   *                  accumulator for the softmax; else X is fp16, as every stored activation
   */
  public RowWise(RowFn fn, long rows, int width, int height, boolean fp32Input) {
    if (fn.width() < 1 || rows < 1) {
      throw new IllegalArgumentException("empty row function " + rows + "x" + fn.width());
    }
    this.fn = fn;
    this.fp32Input = fp32Input;
    this.problem = new Problem(rows, 1, fn.width());
    this.width = width;
    this.height = height;
    this.mt = Tiles.tile(rows, height);
    this.nt = Tiles.tile(fn.width(), width);
    this.tree = new KTreeAllReduce(width, KTree.defaultGroups(width), 0, Dir.WEST, Dir.EAST);
  }

  public RowFn fn() {
    return fn;
  }

  @Override
  public String algorithm() {
    return fn.kind().name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public Problem problem() {
    return problem;
  }

  @Override
  public int width() {
    return width;
  }

  @Override
  public int height() {
    return height;
  }

  @Override
  public Problem padded() {
    return new Problem((long) mt * height, 1, (long) nt * width);
  }

  /** Statistics are always fp32; the tiles are fp16. */
  @Override
  public boolean fp32Accumulate() {
    return true;
  }

  @Override
  public long[] inputShape(String tensor) {
    return switch (tensor) {
      case "X", "Mask" -> new long[] {problem.m(), problem.n()};
      case "W", "B" -> new long[] {1, problem.n()};
      default -> throw new IllegalArgumentException(algorithm() + " has no input " + tensor);
    };
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    List<Buffer> b = new ArrayList<>();
    b.add(new Buffer("x", mt * nt, fp32Input));
    if (fn.weighted()) {
      b.add(Buffer.half(RowFn.WEIGHT, nt));
    }
    if (fn.biased()) {
      b.add(Buffer.half(RowFn.BIAS, nt));
    }
    if (fn.masked()) {
      b.add(Buffer.half(RowFn.MASK, mt * nt));
    }
    for (int p = 0; p < fn.passes(); p++) {
      b.add(new Buffer(RowFn.STATS[p], mt, true));
    }
    b.add(Buffer.half("y", mt * nt));
    return b;
  }

  @Override
  public List<Route> routes(int x, int y) {
    return tree.routes(x);
  }

  private int treeRounds() {
    return width < 2 ? 0 : tree.rounds();
  }

  /** Each pass's all-reduce, one after the other, then the finish. */
  @Override
  public int rounds() {
    return fn.passes() * treeRounds() + 1;
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    int r = treeRounds();
    long row0 = (long) y * mt;
    long col0 = (long) x * nt;
    List<Action> a = new ArrayList<>(3);
    for (int p = 0; p < fn.passes(); p++) {
      if (round == p * r) {
        a.add(new Action.RowStats(fn, p, "x", mt, nt, row0, col0));
      }
      if (round >= p * r && round < (p + 1) * r) {
        a.addAll(tree.actions(round - p * r, x, RowFn.STATS[p], mt, fn.combine(p)));
      }
    }
    if (round == fn.passes() * r) {
      a.add(new Action.RowFinish(fn, "x", "y", mt, nt, row0, col0));
    }
    return a;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    List<TileMap> in = new ArrayList<>(4);
    in.add(TileMap.of("x", "X", y * mt, x * nt, mt, nt));
    if (fn.weighted()) {
      in.add(TileMap.of(RowFn.WEIGHT, "W", 0, x * nt, 1, nt));
    }
    if (fn.biased()) {
      in.add(TileMap.of(RowFn.BIAS, "B", 0, x * nt, 1, nt));
    }
    if (fn.masked()) {
      in.add(TileMap.of(RowFn.MASK, "Mask", y * mt, x * nt, mt, nt));
    }
    return in;
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return List.of(TileMap.of("y", "C", y * mt, x * nt, mt, nt));
  }

  @Override
  public int colors() {
    return width < 2 ? 0 : tree.colors();
  }

  @Override
  public long maxBytesPerPe() {
    return buffers(0, 0).stream().mapToLong(Buffer::bytes).sum();
  }

  @Override
  public int maxColorsPerPe() {
    int m = 0;
    for (int x = 0; x < width; x++) { // a 1-D rule: O(width)
      m = Math.max(m, tree.routes(x).size());
    }
    return m;
  }

  @Override
  public int maxHopsPerTransfer() {
    return width < 2 ? 0 : tree.maxHops();
  }

  /** The local passes and finish over the tile, and one all-reduce of mt fp32 values per pass. */
  @Override
  public Estimate estimate(MachineSpec m) {
    double compute = finishCycles(m, fn, mt, nt);
    for (int p = 0; p < fn.passes(); p++) {
      compute += statsCycles(m, fn, mt, nt, p);
    }
    double comm = fn.passes() * tree.cycles(m, m.wavelets(2L * mt));
    return new Estimate(compute + (width < 2 ? 0 : comm), compute, width < 2 ? 0 : comm);
  }

  /** Cycles of one pass's local statistic over the tile (the runtime charges the same). */
  public static double statsCycles(MachineSpec m, RowFn fn, int rows, int cols, int pass) {
    return Math.ceil((double) rows * cols * opsOf(fn, pass) / m.fmacsPerCycle());
  }

  /** Cycles of the finish over the tile. */
  public static double finishCycles(MachineSpec m, RowFn fn, int rows, int cols) {
    return Math.ceil((double) rows * cols * opsOf(fn, fn.passes()) / m.fmacsPerCycle());
  }

  /** Operations per element of pass {@code pass} ({@code passes()} is the finish). */
  private static int opsOf(RowFn fn, int pass) {
    return switch (fn.kind()) {
      case RMS_NORM -> pass == 0 ? 1 : 2;
      case LAYER_NORM -> pass == 0 ? 1 : 2 + (pass == 2 ? 1 : 0);
      case SOFTMAX -> 2;
    };
  }
}
