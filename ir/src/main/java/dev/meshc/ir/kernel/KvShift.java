package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * One decode step's moves of the shift-based KV cache (WaferLLM §4.3) on a region: each move
 * carries one token's K/V entry north, from a slot of row {@code from} to a free slot of row
 * {@code to}, every PE of the row sending its columns of the entry. A row sends at most one entry
 * and takes at most one per step; once the cache holds a token on every row all moves are one hop
 * and run at once, and only while it fills does the new token pass over empty rows to the first
 * row that keeps it (routers forward it; the PEs there do nothing).
 *
 * <p>Colours: a move into row r travels on colour (r + 1) mod 2, so a row that takes one entry and
 * passes another on uses both colours, one each, and the kernel needs two, as the planner counts
 * for the KV shift.
 *
 * <p>The problem is (height · slots, 1, entry): input "A" and output "C" are the cache as [row ·
 * slots + slot, entry], columns of the entry split along X.
 */
public final class KvShift implements Move {
  /** One entry's move: from slot {@code fromSlot} of row {@code from} to slot {@code toSlot} of row {@code to}. */
  public record Move(int from, int fromSlot, int to, int toSlot) {
    public Move {
      if (to >= from || to < 0) {
        throw new IllegalArgumentException("a KV entry moves north: row " + from + " to " + to);
      }
    }

    int color() {
      return (to + 1) % 2;
    }
  }

  private final List<Move> moves;
  private final int slots;
  private final Problem problem;
  private final int width;
  private final int height;
  private final int et;

  public KvShift(List<Move> moves, int slots, long entry, int width, int height) {
    for (Move m : moves) {
      if (m.from() >= height || m.fromSlot() >= slots || m.toSlot() >= slots || m.fromSlot() < 0 || m.toSlot() < 0) {
        throw new IllegalArgumentException("move " + m + " leaves the " + height + " rows of " + slots + " slots");
      }
    }
    this.moves = List.copyOf(moves);
    this.slots = slots;
    this.problem = new Problem((long) height * slots, 1, entry);
    this.width = width;
    this.height = height;
    this.et = Tiles.tile(entry, width);
  }

  /**
   * A step once the cache holds a token on every row: each row below the top sends one entry a
   * hop north at once (the figure a decode plan prices per token; while the cache fills, fewer
   * and longer moves run).
   */
  public static KvShift steady(int slots, long entry, int width, int height) {
    List<Move> moves = new ArrayList<>(Math.max(0, height - 1));
    for (int r = 1; r < height; r++) {
      moves.add(new Move(r, 0, r - 1, slots > 1 ? 1 : 0));
    }
    return new KvShift(moves, slots, entry, width, height);
  }

  /** Token slots of each row. */
  public int slots() {
    return slots;
  }

  @Override
  public String algorithm() {
    return "kv_shift";
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
    return new Problem(problem.m(), 1, (long) et * width);
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return List.of(Buffer.half("kv", slots * et));
  }

  @Override
  public List<Route> routes(int x, int y) {
    List<Route> r = new ArrayList<>(2);
    for (Move m : moves) {
      if (y == m.from()) {
        r.add(Route.of(m.color(), Dir.RAMP, Dir.NORTH));
      } else if (y == m.to()) {
        r.add(Route.of(m.color(), Dir.SOUTH, Dir.RAMP));
      } else if (y > m.to() && y < m.from()) {
        r.add(Route.of(m.color(), Dir.SOUTH, Dir.NORTH));
      }
    }
    return r;
  }

  @Override
  public int rounds() {
    return 1;
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    List<Action> a = new ArrayList<>(2);
    for (Move m : moves) {
      if (y == m.from()) {
        a.add(new Action.Send(m.color(), "kv", m.fromSlot() * et, et));
      }
    }
    for (Move m : moves) {
      if (y == m.to()) {
        a.add(new Action.Recv(m.color(), "kv", m.toSlot() * et, et, Combine.STORE));
      }
    }
    return a;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    return List.of(TileMap.of("kv", "A", y * slots, x * et, slots, et));
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return List.of(TileMap.of("kv", "C", y * slots, x * et, slots, et));
  }

  @Override
  public int colors() {
    return moves.stream().mapToInt(Move::color).max().orElse(-1) + 1;
  }

  @Override
  public long maxBytesPerPe() {
    return 2L * slots * et;
  }

  @Override
  public int maxColorsPerPe() {
    int most = 0;
    for (int y = 0; y < height; y++) { // moves are per row: O(height · moves)
      most = Math.max(most, routes(0, y).size());
    }
    return most;
  }

  @Override
  public int maxHopsPerTransfer() {
    return moves.stream().mapToInt(m -> m.from() - m.to()).max().orElse(0);
  }

  @Override
  public boolean columnsIndependent() {
    return true;
  }

  /** The longest move: its hops, then its wavelets. */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comm = moves.isEmpty() ? 0 : maxHopsPerTransfer() * m.alpha() + m.wavelets(et);
    return new Estimate(comm, 0, comm);
  }
}
