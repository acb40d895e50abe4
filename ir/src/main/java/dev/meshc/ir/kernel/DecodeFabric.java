package dev.meshc.ir.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * The router program of one decode region (P×P PEs): what every layer of WaferLLM's decode
 * chain needs at once, so the colours stay put from token to token. A K-tree along each column
 * (the GEMVs whose input lies split along Y, the softmax and p·V reductions over the sequence,
 * the norms) on logical colours 0–8, a K-tree along each row (the pre-transposed GEMVs, the score
 * reduction over head dims) on 9–17, and the KV cache's one-hop northward shift on 18–19: a row
 * sends on its parity's colour and takes the row below's on the other.
 */
public final class DecodeFabric {
  public static final int Y_BASE = 0;
  public static final int X_BASE = KTree.COLORS;
  public static final int SHIFT_BASE = 2 * KTree.COLORS;
  public static final int COLORS = SHIFT_BASE + 2;

  private final int p;
  private final KTree column;
  private final KTree row;

  public DecodeFabric(int p, int groups) {
    this.p = p;
    int g = groups > 0 ? groups : KTree.defaultGroups(p);
    this.column = new KTree(p, g, Y_BASE, Dir.NORTH, Dir.SOUTH);
    this.row = new KTree(p, g, X_BASE, Dir.WEST, Dir.EAST);
  }

  public KTree column() {
    return column;
  }

  public KTree row() {
    return row;
  }

  /** PE (x, y)'s router entries, in logical colours. */
  public List<Route> routes(int x, int y) {
    List<Route> r = new ArrayList<>(column.routes(y));
    r.addAll(row.routes(x));
    if (p > 1) {
      if (y > 0) {
        r.add(Route.of(SHIFT_BASE + y % 2, Dir.RAMP, Dir.NORTH));
      }
      if (y < p - 1) {
        r.add(Route.of(SHIFT_BASE + (y + 1) % 2, Dir.SOUTH, Dir.RAMP));
      }
    }
    return r;
  }

  /** The most router entries on one PE. */
  public int maxColorsPerPe() {
    int m = 0;
    for (int i = 0; i < p; i++) {
      m = Math.max(m, column.routes(i).size());
    }
    int n = 0;
    for (int i = 0; i < p; i++) {
      n = Math.max(n, row.routes(i).size());
    }
    return m + n + (p > 1 ? 2 : 0);
  }
}
