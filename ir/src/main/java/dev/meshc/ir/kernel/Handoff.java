package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/**
 * The activation handed from one region to the next on the fabric, as the two regions lie: row k
 * of the sending region A holds line k (decode: its slice of the residual, split along Y and
 * copied along the row; prefill: its rows of tokens across the width), and every PE of row k of
 * the receiving region B (same side) needs it. Line k leaves one PE of A's row k, travels along
 * its column to B's row k, turns toward B and crosses B's row, each of B's PEs taking it off the
 * router as it passes (a multicast), all on one colour.
 *
 * <p>The PE a line leaves from is on A's diagonal (column k) or anti-diagonal (column P − 1 − k),
 * chosen by where B lies, so that no two lines share a router: with B below and to the west, line
 * k's column (x = ax + k) only meets rows of lines k' ≤ k, whose turns toward the west end before
 * it (x ≤ ax + k'). Every line then reaches B's far end in |Δx| + |Δy| + P − 1 hops (corner to
 * corner, plus B's width): what the planner adds per hop.
 *
 * <p>That holds when B's columns are disjoint from A's and B's rows are A's or disjoint from them
 * ({@link #onFabric}). For any other placement (and between wafers) the template is the same
 * line abstracted: each line crosses {@code hops} routers east and then B's row; the cost is the
 * same formula, and the CSL backend hands such an activation on through the host.
 *
 * <p>The problem is (lines, 1, values): input "A" and output "C" are [lines, values].
 */
public final class Handoff implements Move {
  private static final int COLOR = 0;

  private final int p;
  private final int values;
  private final int hops; // corner to corner
  private final boolean fabric;
  // the two corners in the template's own grid (the regions' bounding box), and where B lies
  private final int ax;
  private final int ay;
  private final int x0; // the grid's corner on the fabric (0, 0 for the abstract form)
  private final int y0;
  private final int bx;
  private final int by;
  private final int width;
  private final int height;
  private final Dir across;
  private final Dir along; // null when B is on A's rows
  private final boolean diagonal;

  /** The abstract form: each of {@code lines} lines crosses {@code hops} routers east, then B's row of {@code lines} PEs. */
  public Handoff(int hops, int lines, long values) {
    this(0, 0, hops, 0, lines, values, false);
  }

  private Handoff(int ax, int ay, int bx, int by, int p, long values, boolean fabric) {
    if (p < 1 || values < 1 || values > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a hand-off of " + p + " lines of " + values + " values");
    }
    this.p = p;
    this.values = (int) values;
    this.fabric = fabric;
    this.hops = hops(ax, ay, bx, by);
    if (!fabric) { // A's line of senders at x = 0, B's row starting hops to the east
      this.ax = 0;
      this.ay = 0;
      this.x0 = 0;
      this.y0 = 0;
      this.bx = this.hops;
      this.by = 0;
      this.width = this.hops + p;
      this.height = p;
      this.across = Dir.EAST;
      this.along = null;
      this.diagonal = false;
      return;
    }
    int x0 = Math.min(ax, bx);
    int y0 = Math.min(ay, by);
    this.x0 = x0;
    this.y0 = y0;
    this.ax = ax - x0;
    this.ay = ay - y0;
    this.bx = bx - x0;
    this.by = by - y0;
    this.width = Math.max(ax, bx) + p - x0;
    this.height = Math.max(ay, by) + p - y0;
    this.across = bx > ax ? Dir.EAST : Dir.WEST;
    this.along = by == ay ? null : by > ay ? Dir.SOUTH : Dir.NORTH;
    // diagonal when B is west and below or east and above, else anti-diagonal (see the class doc)
    this.diagonal = (across == Dir.WEST) == (along != Dir.NORTH);
  }

  /** Hops between two regions' corners (x, y): the path the activation takes, at least one. */
  public static int hops(long ax, long ay, long bx, long by) {
    return (int) Math.max(1, Math.abs(bx - ax) + Math.abs(by - ay));
  }

  /**
   * The hand-off from the region of side {@code p} at (ax, ay) to the one of the same side at
   * (bx, by) on the same wafer: decode's vector of {@code width} values split along Y ({@code
   * tokens} 0), or prefill's {@code tokens} × {@code width} activation, its rows of tokens split
   * along Y. On the fabric as the regions lie when they lie so ({@link #onFabric}).
   */
  public static Handoff between(int ax, int ay, int bx, int by, int p, long width, long tokens) {
    boolean disjointX = bx >= ax + p || bx + p <= ax;
    boolean rows = by == ay || by >= ay + p || by + p <= ay;
    return new Handoff(ax, ay, bx, by, p, perLine(p, width, tokens), disjointX && rows);
  }

  /** The abstract hand-off over {@code hops} routers (between wafers, or as the planner prices one per hop). */
  public static Handoff of(int hops, int p, long width, long tokens) {
    return new Handoff(hops, p, perLine(p, width, tokens));
  }

  private static long perLine(int p, long width, long tokens) {
    return tokens <= 0 ? Tiles.tile(width, p) : (long) Tiles.tile(tokens, p) * width;
  }

  /** Whether the lines run as the two regions lie (else the abstract line, and the CSL's host copy). */
  public boolean onFabric() {
    return fabric;
  }

  /** Values each line carries. */
  public int values() {
    return values;
  }

  /** Line k's sending PE, in the template's grid. */
  public int senderX(int k) {
    return !fabric ? 0 : diagonal ? ax + k : ax + p - 1 - k;
  }

  /** Line k's sending PE's column within the sending region (0 to P − 1). */
  public int senderColumn(int k) {
    return senderX(k) - ax;
  }

  /** The template grid's corner on the fabric: PE (x, y) of the grid is (originX + x, originY + y) there. */
  public int originX() {
    return x0;
  }

  /** See {@link #originX}. */
  public int originY() {
    return y0;
  }

  @Override
  public String algorithm() {
    return "handoff";
  }

  @Override
  public Problem problem() {
    return new Problem(p, 1, values);
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
    return problem();
  }

  /** The line through (x, y), or -1. */
  private int line(int x, int y) {
    int k = y - by;
    if (k >= 0 && k < p && between(x, senderX(k), across == Dir.EAST ? bx + p - 1 : bx)) {
      return k;
    }
    if (along != null) {
      k = diagonal ? x - ax : ax + p - 1 - x;
      if (k >= 0 && k < p && between(y, ay + k, by + k)) {
        return k;
      }
    }
    return -1;
  }

  private static boolean between(int v, int a, int b) {
    return v >= Math.min(a, b) && v <= Math.max(a, b);
  }

  private boolean inB(int x, int y) {
    return x >= bx && x < bx + p && y >= by && y < by + p;
  }

  private boolean sender(int x, int y) {
    int k = y - ay;
    return k >= 0 && k < p && x == senderX(k);
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return sender(x, y) || inB(x, y) ? List.of(Buffer.half("buf", values)) : List.of();
  }

  @Override
  public List<Route> routes(int x, int y) {
    int k = line(x, y);
    if (k < 0) {
      return List.of();
    }
    int sx = senderX(k);
    int far = across == Dir.EAST ? bx + p - 1 : bx;
    if (sender(x, y)) {
      return List.of(Route.of(COLOR, Dir.RAMP, along != null ? along : across));
    }
    if (along != null && x == sx) { // on the column toward B's row; the turn at its end
      return List.of(Route.of(COLOR, along.opposite(), y == by + k ? across : along));
    }
    if (inB(x, y)) {
      return List.of(x == far ? Route.of(COLOR, across.opposite(), Dir.RAMP)
          : Route.of(COLOR, across.opposite(), Dir.RAMP, across));
    }
    return List.of(Route.of(COLOR, across.opposite(), across));
  }

  @Override
  public int rounds() {
    return 1;
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    if (sender(x, y)) {
      return List.of(new Action.Send(COLOR, "buf", 0, values));
    }
    return inB(x, y) ? List.of(new Action.Recv(COLOR, "buf", 0, values, Combine.STORE)) : List.of();
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    return sender(x, y) ? List.of(TileMap.of("buf", "A", y - ay, 0, 1, values)) : List.of();
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return inB(x, y) ? List.of(TileMap.of("buf", "C", y - by, 0, 1, values)) : List.of();
  }

  @Override
  public int colors() {
    return 1;
  }

  @Override
  public long maxBytesPerPe() {
    return 2L * values;
  }

  @Override
  public int maxColorsPerPe() {
    return 1;
  }

  /** Every line reaches B's far end after the corners' distance and B's width less one. */
  @Override
  public int maxHopsPerTransfer() {
    return hops + p - 1;
  }

  @Override
  public boolean columnsIndependent() {
    return false;
  }

  /** The hops to B's far end, then the wavelets of one line (the lines run at once). */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comm = maxHopsPerTransfer() * m.alpha() + m.wavelets(values);
    return new Estimate(comm, 0, comm);
  }
}
