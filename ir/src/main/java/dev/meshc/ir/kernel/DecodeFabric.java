package dev.meshc.ir.kernel;

import java.util.ArrayList;
import java.util.List;

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

  /** The most router entries on one PE (in any one configuration). */
  public int maxColorsPerPe() {
    int m = 0;
    for (int i = 0; i < p; i++) {
      m = Math.max(m, column.routes(i).size());
    }
    int n = 0;
    for (int i = 0; i < p; i++) {
      n = Math.max(n, row.routes(i).size());
    }
    return rerouted ? Math.max(m, n) : m + n + (p > 1 ? 2 : 0);
  }
}
