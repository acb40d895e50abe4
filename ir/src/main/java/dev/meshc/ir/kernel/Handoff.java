package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/**
 * The activation handed from one region to the next on the fabric: each of the {@code lines}
 * rows of the sending region streams its {@code values} at once, {@code hops} hops east over
 * the routers between the two regions (α each; the path's length is the distance between the
 * regions' corners, as the planner places them), into the receiving PE, which stores it for the
 * next region's first kernel. The lines run side by side on their own rows, one colour.
 *
 * <p>Decode hands on the residual vector: a line per row of the region, each row's slice of the
 * width. Prefill hands on the [tokens, width] activation: a line per row of the region, each
 * carrying its rows of tokens across the whole width. Between wafers the system's link is crossed
 * as well ({@link MachineSpec#waferLinkCycles}).
 *
 * <p>The problem is (lines, 1, values): input "A" and output "C" are [lines, values].
 */
public final class Handoff implements Move {
  private static final int COLOR = 0;

  private final int hops;
  private final int lines;
  private final int values;

  public Handoff(int hops, int lines, long values) {
    if (hops < 1 || lines < 1 || values < 1 || values > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a hand-off of " + lines + " lines of " + values + " values over " + hops
          + " hops");
    }
    this.hops = hops;
    this.lines = lines;
    this.values = (int) values;
  }

  /** Hops between two regions' corners (x, y): the path the activation takes, at least one. */
  public static int hops(long ax, long ay, long bx, long by) {
    return (int) Math.max(1, Math.abs(bx - ax) + Math.abs(by - ay));
  }

  /**
   * The hand-off out of a region of side {@code p}: decode's vector of {@code width} values split
   * along Y ({@code tokens} 0), or prefill's {@code tokens} × {@code width} activation, its rows of
   * tokens split along Y.
   */
  public static Handoff of(int hops, int p, long width, long tokens) {
    long perLine = tokens <= 0 ? Tiles.tile(width, p) : (long) Tiles.tile(tokens, p) * width;
    return new Handoff(hops, p, perLine);
  }

  /** Values each line carries. */
  public int values() {
    return values;
  }

  @Override
  public String algorithm() {
    return "handoff";
  }

  @Override
  public Problem problem() {
    return new Problem(lines, 1, values);
  }

  @Override
  public int width() {
    return hops + 1;
  }

  @Override
  public int height() {
    return lines;
  }

  @Override
  public Problem padded() {
    return problem();
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return x == 0 || x == hops ? List.of(Buffer.half("buf", values)) : List.of();
  }

  @Override
  public List<Route> routes(int x, int y) {
    if (x == 0) {
      return List.of(Route.of(COLOR, Dir.RAMP, Dir.EAST));
    }
    return List.of(x == hops ? Route.of(COLOR, Dir.WEST, Dir.RAMP) : Route.of(COLOR, Dir.WEST, Dir.EAST));
  }

  @Override
  public int rounds() {
    return 1;
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    if (x == 0) {
      return List.of(new Action.Send(COLOR, "buf", 0, values));
    }
    return x == hops ? List.of(new Action.Recv(COLOR, "buf", 0, values, Combine.STORE)) : List.of();
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    return x == 0 ? List.of(TileMap.of("buf", "A", y, 0, 1, values)) : List.of();
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return x == hops ? List.of(TileMap.of("buf", "C", y, 0, 1, values)) : List.of();
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

  @Override
  public int maxHopsPerTransfer() {
    return hops;
  }

  @Override
  public boolean columnsIndependent() {
    return false;
  }

  /** The hops, then the wavelets of one line (the lines run at once). */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comm = hops * m.alpha() + m.wavelets(values);
    return new Estimate(comm, 0, comm);
  }
}
