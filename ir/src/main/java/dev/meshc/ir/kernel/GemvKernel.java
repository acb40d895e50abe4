package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * c[1,N] = a[1,K] · B[K,N] on a width × height grid, WaferLLM's decode layout: a is split along Y
 * and copied along X, B is split on both (PE (x, y) holds block (y, x)), every PE does its local
 * GEMV, and an all-reduce along each column leaves c split along X and copied along Y, ready to
 * be the next GEMV's input on the other axis. MeshGEMV uses the K-tree all-reduce; the baselines
 * swap in the pipeline or ring all-reduce.
 *
 * <p>{@link #transposed} is the same kernel turned a quarter: a split along X, B placed
 * pre-transposed (PE (x, y) holds block (x, y): K along X), the all-reduce along each row, c split
 * along Y. Decode chains the two (Y → X → Y), placing W_O and W_down this way, so one GEMV's output
 * is the next one's input where it lies and nothing is transposed per token.
 */
public final class GemvKernel implements KernelTemplate {
  private final String algorithm;
  private final Problem problem;
  private final int width;
  private final int height;
  private final boolean fp32;
  private final AllReduce reduce;
  private final int kt;
  private final int nt;
  private final int accLen;
  private final boolean alongX;

  private GemvKernel(String algorithm, Problem problem, int width, int height, boolean fp32, AllReduce reduce,
      boolean alongX) {
    if (problem.m() != 1) {
      throw new IllegalArgumentException(algorithm + " computes a vector-matrix product: M must be 1, not "
          + problem.m());
    }
    this.algorithm = algorithm;
    this.problem = problem;
    this.width = width;
    this.height = height;
    this.fp32 = fp32;
    this.reduce = reduce;
    this.alongX = alongX;
    this.kt = Tiles.tile(problem.k(), line());
    this.nt = Tiles.tile(problem.n(), across());
    this.accLen = reduce instanceof RingAllReduce ring ? ring.chunk(nt) * line() : nt;
  }

  /** PEs along the all-reduce's line (a column; a row when transposed), and across it. */
  private int line() {
    return alongX ? width : height;
  }

  private int across() {
    return alongX ? height : width;
  }

  /** PE (x, y)'s index along its line, and its line's index. */
  private int at(int x, int y) {
    return alongX ? x : y;
  }

  private int lineOf(int x, int y) {
    return alongX ? y : x;
  }

  /** MeshGEMV: the K-tree all-reduce with {@code groups} groups per column. */
  public static GemvKernel meshGemv(Problem p, int width, int height, boolean fp32, int groups) {
    return new GemvKernel("meshgemv", p, width, height, fp32,
        new KTreeAllReduce(height, groups, 0, Dir.NORTH, Dir.SOUTH), false);
  }

  /** MeshGEMV turned a quarter: a split along X, B pre-transposed, K-tree along each row. */
  public static GemvKernel transposed(Problem p, int width, int height, boolean fp32, int groups) {
    return new GemvKernel("meshgemv", p, width, height, fp32,
        new KTreeAllReduce(width, groups > 0 ? groups : KTree.defaultGroups(width), 0, Dir.WEST, Dir.EAST), true);
  }

  /** Whether this is the {@link #transposed} kernel. */
  public boolean alongX() {
    return alongX;
  }

  /** The Cerebras GEMV demo's pipeline all-reduce. */
  public static GemvKernel pipeline(Problem p, int width, int height, boolean fp32) {
    return new GemvKernel("pipeline", p, width, height, fp32,
        new PipelineAllReduce(height, 0, Dir.NORTH, Dir.SOUTH), false);
  }

  /** Ring all-reduce over the interleaved ring of each column. */
  public static GemvKernel ring(Problem p, int width, int height, boolean fp32) {
    return new GemvKernel("ring", p, width, height, fp32, new RingAllReduce(height, 0, Dir.NORTH, Dir.SOUTH), false);
  }

  public AllReduce allReduce() {
    return reduce;
  }

  @Override
  public String algorithm() {
    return algorithm;
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
    return new Problem(1, (long) kt * line(), (long) nt * across());
  }

  @Override
  public boolean fp32Accumulate() {
    return fp32;
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return List.of(Buffer.half("a", kt), Buffer.half("w", kt * nt), new Buffer("acc", accLen, fp32));
  }

  @Override
  public List<Route> routes(int x, int y) {
    return reduce.routes(at(x, y));
  }

  @Override
  public int rounds() {
    return Math.max(1, reduce.rounds());
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    List<Action> r = reduce.actions(round, at(x, y), "acc", accLen, Combine.ADD);
    if (round != 0) {
      return r;
    }
    List<Action> a = new ArrayList<>(r.size() + 2);
    a.add(new Action.Zero("acc"));
    a.add(new Action.Gemv("a", "w", "acc", kt, nt));
    a.addAll(r);
    return a;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    int i = at(x, y);
    int j = lineOf(x, y);
    return List.of(TileMap.of("a", "A", 0, i * kt, 1, kt), TileMap.of("w", "B", i * kt, j * nt, kt, nt));
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return List.of(TileMap.of("acc", "C", 0, lineOf(x, y) * nt, 1, nt));
  }

  @Override
  public int colors() {
    return line() < 2 ? 0 : reduce.colors();
  }

  @Override
  public long maxBytesPerPe() {
    return 2L * kt + 2L * kt * nt + (long) accLen * (fp32 ? 4 : 2);
  }

  @Override
  public int maxColorsPerPe() {
    int m = 0;
    for (int i = 0; i < line(); i++) { // the reductions are 1-D rules: O(line) is fine
      m = Math.max(m, reduce.routes(i).size());
    }
    return m;
  }

  /** Columns all-reduce on their own, and the rules depend on y alone (not when transposed). */
  @Override
  public boolean columnsIndependent() {
    return !alongX;
  }

  @Override
  public int maxHopsPerTransfer() {
    return reduce.maxHops();
  }

  /** The local GEMV, then the all-reduce of the partial sums (fp32 partials take twice the wavelets). */
  @Override
  public Estimate estimate(MachineSpec m) {
    double compute = Math.ceil((double) kt * nt / m.fmacsPerCycle());
    long wavelets = m.wavelets((long) accLen * (fp32 ? 2 : 1));
    double comm = reduce.cycles(m, wavelets);
    return new Estimate(compute + comm, compute, comm);
  }
}
