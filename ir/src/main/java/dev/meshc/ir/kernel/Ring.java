package dev.meshc.ir.kernel;

/**
 * The interleaved ring of MeshGEMM on a line of {@code p} PEs: ring order 0, 2, 4, …, (last even),
 * (last odd), …, 3, 1, so every ring edge spans at most two physical hops (the two ends turn with
 * one). Tiles flow from ring position k to k − 1 ({@link #next}); the reverse ring flows the other
 * way. Colours: a two-hop flow takes colour (its middle PE mod 3); the one-hop flows take 0
 * (between PEs 0 and 1) and (p − 1) mod 3 (between the last even and last odd). At every PE the
 * colours it sends, receives and passes are then distinct, and no link carries two flows of one
 * colour, in either direction of travel; tests check both for every p.
 */
public final class Ring {
  private Ring() {}

  /** The ring position of physical index i. */
  public static int pos(int i, int p) {
    return i % 2 == 0 ? i / 2 : p - (i + 1) / 2;
  }

  /** The physical index at ring position k. */
  public static int at(int k, int p) {
    int evens = (p + 1) / 2;
    return k < evens ? 2 * k : 2 * (p - k) - 1;
  }

  /** Where PE i sends on the forward ring (ring position − 1); i itself when p = 1. */
  public static int next(int i, int p) {
    return at(Math.floorMod(pos(i, p) - 1, p), p);
  }

  /** Where PE i receives from on the forward ring. */
  public static int prev(int i, int p) {
    return at((pos(i, p) + 1) % p, p);
  }

  /**
   * The colour (0, 1 or 2 within its set of three) of the forward flow from s to next(s), which
   * its reverse flow keeps.
   */
  public static int color(int s, int p) {
    int t = next(s, p);
    if (Math.abs(s - t) == 2) {
      return ((s + t) / 2) % 3;
    }
    return s == 0 ? 0 : (p - 1) % 3; // 0 → 1, or the last odd ↔ last even turn
  }

  /**
   * The router entries of PE i for one ring on one axis: send, receive and pass-through, over
   * colours {@code base + 0..2}. {@code lo} and {@code hi} are the ports toward i − 1 and i + 1
   * (WEST/EAST or NORTH/SOUTH); {@code forward} picks the direction of travel.
   */
  public static java.util.List<Route> routes(int i, int p, int base, Dir lo, Dir hi, boolean forward) {
    java.util.List<Route> r = new java.util.ArrayList<>(3);
    if (p < 2) {
      return r;
    }
    int to = forward ? next(i, p) : prev(i, p);
    int from = forward ? prev(i, p) : next(i, p);
    // a reverse flow keeps the colour of the forward flow it mirrors
    r.add(Route.of(base + color(forward ? i : to, p), Dir.RAMP, to < i ? lo : hi));
    r.add(Route.of(base + color(forward ? from : i, p), from < i ? lo : hi, Dir.RAMP));
    // the two-hop flow that passes through i, if any: between i − 1 and i + 1
    if (i > 0 && i < p - 1) {
      int a = i - 1;
      int b = i + 1;
      boolean aToB = forward ? next(a, p) == b : prev(a, p) == b;
      boolean bToA = forward ? next(b, p) == a : prev(b, p) == a;
      if (aToB) {
        r.add(Route.of(base + i % 3, lo, hi));
      } else if (bToA) {
        r.add(Route.of(base + i % 3, hi, lo));
      }
    }
    return r;
  }
}
