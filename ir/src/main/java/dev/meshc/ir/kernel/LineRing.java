package dev.meshc.ir.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * A ring over a line of PEs along which shift-based GEMMs rotate tiles: tiles flow from ring
 * position k to k − 1 (forward) or k + 1 (reverse). MeshGEMM's interleaved ring keeps every edge
 * within two hops; Cannon's natural ring closes with one edge across the whole line.
 */
public interface LineRing {
  int pos(int i);

  int at(int k);

  /** Where PE i sends on the forward ring. */
  int next(int i);

  /** Where PE i receives from on the forward ring. */
  int prev(int i);

  /** The router entries of PE i over colours base..base+2. */
  List<Route> routes(int i, int base, Dir lo, Dir hi, boolean forward);

  /** The longest edge, in hops. */
  int maxHops();

  /** MeshGEMM's ring (see {@link Ring}). */
  static LineRing interleaved(int p) {
    return new LineRing() {
      @Override
      public int pos(int i) {
        return Ring.pos(i, p);
      }

      @Override
      public int at(int k) {
        return Ring.at(k, p);
      }

      @Override
      public int next(int i) {
        return Ring.next(i, p);
      }

      @Override
      public int prev(int i) {
        return Ring.prev(i, p);
      }

      @Override
      public List<Route> routes(int i, int base, Dir lo, Dir hi, boolean forward) {
        return Ring.routes(i, p, base, lo, hi, forward);
      }

      @Override
      public int maxHops() {
        return p < 2 ? 0 : Math.min(2, p - 1);
      }
    };
  }

  /**
   * Cannon's ring: PE i sends to i − 1 one hop away, and PE 0 sends to PE p − 1 across the line,
   * passing every PE between on hardware routes. Colours: the one-hop flows alternate 0 and 1 by
   * parity, the wrap-around takes 2.
   */
  static LineRing natural(int p) {
    return new LineRing() {
      @Override
      public int pos(int i) {
        return i;
      }

      @Override
      public int at(int k) {
        return k;
      }

      @Override
      public int next(int i) {
        return Math.floorMod(i - 1, p);
      }

      @Override
      public int prev(int i) {
        return (i + 1) % p;
      }

      @Override
      public List<Route> routes(int i, int base, Dir lo, Dir hi, boolean forward) {
        List<Route> r = new ArrayList<>(3);
        if (p < 2) {
          return r;
        }
        int wrapFrom = forward ? 0 : p - 1;
        int wrapTo = forward ? p - 1 : 0;
        Dir step = forward ? lo : hi; // the one-hop direction of travel
        Dir wrapDir = forward ? hi : lo;
        if (i == wrapFrom) {
          r.add(Route.of(base + 2, Dir.RAMP, wrapDir));
        } else {
          r.add(Route.of(base + i % 2, Dir.RAMP, step));
        }
        if (i == wrapTo) {
          r.add(Route.of(base + 2, step, Dir.RAMP));
        } else {
          int from = forward ? i + 1 : i - 1;
          r.add(Route.of(base + from % 2, wrapDir, Dir.RAMP));
        }
        if (i != wrapFrom && i != wrapTo) {
          r.add(Route.of(base + 2, step, wrapDir));
        }
        return r;
      }

      @Override
      public int maxHops() {
        return p < 2 ? 0 : p - 1;
      }
    };
  }
}
