package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The router program of one decode region (P×P PEs): what every layer of WaferLLM's decode
 * chain needs. A K-tree along each column (the GEMVs whose input lies split along Y, the softmax
 * and p·V reductions over the sequence, the norms), a K-tree along each row (the pre-transposed
 * GEMVs, the score reduction over head dims), and the KV cache's one-hop northward shift: a row
 * sends on its parity's colour and takes the row below's on the other.
 *
 * <p>Two ways to lay this on the routers. <b>Static</b> (WSE-2): every route at once, so the
 * colours stay put from token to token: the column tree on logical colours 0–4, the row tree on
 * 5–9, the shift on 10–11. <b>Re-routed</b> (WSE-3, where each input queue binds one colour for
 * good and a PE has six to spare): five colours, which the program switches between three
 * configurations at run time, as WaferLLM's WSE-3 decode does: {@code column}, {@code row}, and
 * {@code shift} (the shift on colours 0–1; the rest carry nothing).
 */
public final class DecodeFabric {
  public static final int Y_BASE = 0;
  public static final int X_BASE = KTree.COLORS;
  public static final int SHIFT_BASE = 2 * KTree.COLORS;
  public static final int COLORS = SHIFT_BASE + 2;
  /** The configurations of a re-routed region, in the order its program names them. */
  public static final List<String> CONFIGS = List.of("column", "row", "shift");

  private final int p;
  private final boolean rerouted;
  private final KTree column;
  private final KTree row;

  public DecodeFabric(int p, int groups) {
    this(p, groups, false);
  }

  public DecodeFabric(int p, int groups, boolean rerouted) {
    this.p = p;
    this.rerouted = rerouted;
    int g = groups > 0 ? groups : KTree.defaultGroups(p);
    this.column = new KTree(p, g, Y_BASE, Dir.NORTH, Dir.SOUTH);
    this.row = new KTree(p, g, rerouted ? Y_BASE : X_BASE, Dir.WEST, Dir.EAST);
  }

  public KTree column() {
    return column;
  }

  public KTree row() {
    return row;
  }

  public boolean rerouted() {
    return rerouted;
  }

  /** Logical colours the region uses. */
  public int colors() {
    return colors(rerouted);
  }

  /** Logical colours a region uses, static or re-routed: a hand-off between regions takes the next. */
  public static int colors(boolean rerouted) {
    return rerouted ? KTree.COLORS : COLORS;
  }

  /** The run-time configurations (none when static). */
  public List<String> configurations() {
    return rerouted ? CONFIGS : List.of();
  }

  /** PE (x, y)'s router entries as the program loads, in logical colours: all of them, or none when re-routed. */
  public List<Route> routes(int x, int y) {
    if (rerouted) {
      return List.of(); // the program sets every route, switching to its first configuration
    }
    List<Route> r = new ArrayList<>(column.routes(y));
    r.addAll(row.routes(x));
    r.addAll(shift(y, SHIFT_BASE));
    return r;
  }

  /** PE (x, y)'s router entries in configuration {@code config} of a re-routed region. */
  public List<Route> routes(String config, int x, int y) {
    return switch (config) {
      case "column" -> column.routes(y);
      case "row" -> row.routes(x);
      case "shift" -> shift(y, Y_BASE);
      default -> throw new IllegalArgumentException("no configuration " + config);
    };
  }

  private List<Route> shift(int y, int base) {
    List<Route> r = new ArrayList<>(2);
    if (p > 1) {
      if (y > 0) {
        r.add(Route.of(base + y % 2, Dir.RAMP, Dir.NORTH));
      }
      if (y < p - 1) {
        r.add(Route.of(base + (y + 1) % 2, Dir.SOUTH, Dir.RAMP));
      }
    }
    return r;
  }

  /**
   * The logical colours PE (x, y)'s router takes at load or in any configuration, as bits: a PE
   * needs a queue for every colour it ever routes, so a re-routed region's configurations count
   * together. The column tree and the shift go by the row, the row tree by the column.
   */
  public long colorsAt(int x, int y) {
    return byRow(y) | byColumn(x);
  }

  private long byRow(int y) {
    return mask(column.routes(y)) | mask(shift(y, rerouted ? Y_BASE : SHIFT_BASE));
  }

  private long byColumn(int x) {
    return mask(row.routes(x));
  }

  private static long mask(List<Route> routes) {
    long m = 0;
    for (Route r : routes) {
      m |= 1L << r.color();
    }
    return m;
  }

  // A PE has input and output queues 0–7, of which memcpy keeps 0 and 1 (Cerebras SDK docs,
  // "Task IDs"; csl-examples benchmarks/7pt-stencil-spmv/src/kernel.csl). On WSE-2 a queue may
  // serve colours used one after another (its ID is also the microthread of an async op); on
  // WSE-3 @initialize_queue binds each queue to one colour for good.

  /**
   * Which queue each route of a decode PE's program goes through; {@code rerouted}: WSE-3's
   * five colours, each bound to its own queue.
   */
  public record Queues(boolean rerouted) {
    /** The first queue ID the program may take (memcpy keeps those below) and the most there are. */
    public static final int FIRST = 2;
    public static final int COUNT = 8;
    /** The most a PE's program may take each way. */
    public static final int FREE = COUNT - FIRST;

    /** The input queue of colour {@code k} of a K-tree's five, on either axis (re-routed: the colour's own). */
    public int treeInput(int k) {
      return FIRST + k;
    }

    /**
     * The output queue of colour {@code k} of a K-tree's five: static, the phase pairs share one
     * (2, 2, 3, 3, and the broadcast 4; a PE sends on one colour of a pair at a time); re-routed,
     * the colour's own.
     */
    public int treeOutput(int k) {
      return FIRST + (rerouted ? k : k / 2);
    }

    /** The KV shift's output queue for parity {@code parity} (re-routed: its colour is the tree's colour {@code parity}). */
    public int shiftOutput(int parity) {
      return rerouted ? treeOutput(parity) : FIRST + 3;
    }

    /** The KV shift's input queue for parity {@code parity}. */
    public int shiftInput(int parity) {
      return rerouted ? treeInput(parity) : COUNT - 1;
    }

    /**
     * The hand-off's input queue: the last (static: the shift's too, never at the same time, as a
     * region takes the residual in before its first layer).
     */
    public int handoffInput() {
      return COUNT - 1;
    }

    /** The hand-off's output queue: the last on WSE-3, where a queue binds its colour; 6 beside the shift's 5 on WSE-2. */
    public int handoffOutput() {
      return rerouted ? COUNT - 1 : FIRST + 4;
    }

    /** How many distinct input and output queues a PE names. */
    public record Count(int inputs, int outputs) {}

    /**
     * The distinct input and output queues a PE of the region names: the
     * two K-trees' and the shift's, and the hand-off's where its wafer carries hand-offs on the
     * fabric ({@code handoffs}; every PE of such a wafer's program declares them).
     */
    public Count count(boolean handoffs) {
      Set<Integer> in = new HashSet<>();
      Set<Integer> out = new HashSet<>();
      for (int k = 0; k < KTree.COLORS; k++) {
        in.add(treeInput(k));
        out.add(treeOutput(k));
      }
      for (int parity = 0; parity < 2; parity++) {
        in.add(shiftInput(parity));
        out.add(shiftOutput(parity));
      }
      if (handoffs) {
        in.add(handoffInput());
        out.add(handoffOutput());
      }
      return new Count(in.size(), out.size());
    }
  }

  /** The most colours one PE routes ({@link #colorsAt}). */
  public int maxColorsPerPe() {
    Set<Long> rows = new HashSet<>();
    Set<Long> columns = new HashSet<>();
    for (int i = 0; i < p; i++) {
      rows.add(byRow(i));
      columns.add(byColumn(i));
    }
    int most = 0;
    for (long a : rows) {
      for (long b : columns) {
        most = Math.max(most, Long.bitCount(a | b));
      }
    }
    return most;
  }

  /**
   * A hand-off on the fabric from region {@code from} to region {@code to} (plan indices), both on
   * {@code wafer}, on logical colour {@code color}.
   */
  public record Lane(int from, int to, int wafer, Handoff handoff, int color) {}

  /**
   * The hand-offs between consecutive decode regions ({@code {index, wafer, x, y, p}} each, in plan
   * order, on any wafers) that {@link Handoff#between} lays on the fabric: two regions of one
   * wafer and one side, each hand-off on the first logical colour after the regions' own that no
   * hand-off sharing a PE of its wafer with it has taken (its routes or buffers); one that finds
   * none within the machine's budget stays with the host, as do the others.
   */
  public static List<Lane> lanes(List<int[]> regions, long width, MachineSpec m) {
    int base = colors(m.queuePerColor());
    int extent = 1;
    for (int[] r : regions) {
      extent = Math.max(extent, Math.max(r[2], r[3]) + r[4]);
    }
    List<Lane> lanes = new ArrayList<>();
    List<BitSet> used = new ArrayList<>();
    for (int i = 0; i + 1 < regions.size(); i++) {
      int[] a = regions.get(i);
      int[] b = regions.get(i + 1);
      if (a[1] != b[1] || a[4] != b[4] || b[0] != a[0] + 1) {
        continue;
      }
      Handoff h = Handoff.between(a[2], a[3], b[2], b[3], a[4], width, 0);
      if (!h.onFabric()) {
        continue;
      }
      BitSet pes = new BitSet();
      for (int y = 0; y < h.height(); y++) {
        for (int x = 0; x < h.width(); x++) {
          if (!h.routes(x, y).isEmpty() || !h.buffers(x, y).isEmpty()) {
            pes.set((h.originY() + y) * extent + h.originX() + x);
          }
        }
      }
      int color = base;
      for (boolean free = false; !free; color += free ? 0 : 1) {
        free = true;
        for (int j = 0; j < lanes.size() && free; j++) {
          Lane o = lanes.get(j);
          free = o.wafer() != a[1] || o.color() != color || !used.get(j).intersects(pes);
        }
      }
      if (color < m.colorBudget()) {
        lanes.add(new Lane(a[0], b[0], a[1], h, color));
        used.add(pes);
      }
    }
    return lanes;
  }

  /**
   * The most colours one PE of the region of side {@code p} at ({@code x0}, {@code y0}) routes:
   * its own fabric's ({@link #colorsAt}) and those of the {@code lanes} (of its wafer) whose
   * routes pass it.
   */
  public static int colorsWith(int x0, int y0, int p, boolean rerouted, List<Lane> lanes) {
    DecodeFabric f = new DecodeFabric(p, 0, rerouted);
    long[] extra = new long[p * p];
    for (Lane l : lanes) {
      Handoff h = l.handoff();
      for (int y = Math.max(y0, h.originY()); y < Math.min(y0 + p, h.originY() + h.height()); y++) {
        for (int x = Math.max(x0, h.originX()); x < Math.min(x0 + p, h.originX() + h.width()); x++) {
          if (!h.routes(x - h.originX(), y - h.originY()).isEmpty()) {
            extra[(y - y0) * p + x - x0] |= 1L << l.color();
          }
        }
      }
    }
    int most = f.maxColorsPerPe();
    for (int i = 0; i < extra.length; i++) {
      if (extra[i] != 0) {
        most = Math.max(most, Long.bitCount(f.colorsAt(i % p, i / p) | extra[i]));
      }
    }
    return most;
  }
}
