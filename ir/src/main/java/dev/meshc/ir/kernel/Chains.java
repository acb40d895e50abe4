package dev.meshc.ir.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * One-hop relay chains along a line in both directions, rooted anywhere: toward-hi chains use
 * colours base+0/1 and toward-lo chains base+2/3, alternating by parity, so the routes do not
 * depend on the root and one static configuration serves every step. Used by dist-GEMM-T's
 * reduce-to-owner and SUMMA's broadcasts.
 */
final class Chains {
  private Chains() {}

  static final int COLORS = 4;

  /** PE i's entries: receive from lo / send to hi (hi-bound), receive from hi / send to lo (lo-bound). */
  static List<Route> routes(int i, int n, int base, Dir lo, Dir hi) {
    List<Route> r = new ArrayList<>(4);
    if (n < 2) {
      return r;
    }
    if (i > 0) {
      r.add(Route.of(base + (i - 1) % 2, lo, Dir.RAMP));
      r.add(Route.of(base + 2 + i % 2, Dir.RAMP, lo));
    }
    if (i < n - 1) {
      r.add(Route.of(base + i % 2, Dir.RAMP, hi));
      r.add(Route.of(base + 2 + (i + 1) % 2, hi, Dir.RAMP));
    }
    return r;
  }

  /**
   * Where PE i stands on a chain of n PEs rooted at {@code root}, which is all its actions on the
   * chain depend on: the side (root, above or below it), whether it has a neighbour below and
   * above, and its parity (which picks the colours). Five bits; a line of one PE is a root with
   * no neighbours and does nothing.
   */
  static int place(int i, int n, int root) {
    int side = i == root ? ROOT : i > root ? ABOVE : BELOW;
    return side | (i > 0 ? HAS_LO : 0) | (i < n - 1 ? HAS_HI : 0) | (i % 2) << 4;
  }

  static final int PLACES = 32;
  private static final int ROOT = 0;
  private static final int ABOVE = 1;
  private static final int BELOW = 2;
  private static final int HAS_LO = 4;
  private static final int HAS_HI = 8;

  static boolean isRoot(int place) {
    return (place & 3) == ROOT;
  }

  /**
   * Reduce toward the root: the ends send, the PEs between relay (combining their own
   * {@code buffer}), the root receives from both sides into {@code into}.
   */
  static void reduce(List<Action> issue, List<Action> receive, int place, int base, String buffer, String into,
      int len) {
    int par = place >> 4; // i % 2; (i ± 1) % 2 is 1 − par
    boolean lo = (place & HAS_LO) != 0;
    boolean hi = (place & HAS_HI) != 0;
    switch (place & 3) {
      case BELOW -> {
        if (!lo) {
          issue.add(new Action.Send(base + par, buffer, 0, len));
        } else {
          receive.add(new Action.Relay(base + 1 - par, base + par, buffer, 0, len, Combine.ADD));
        }
      }
      case ABOVE -> {
        if (!hi) {
          issue.add(new Action.Send(base + 2 + par, buffer, 0, len));
        } else {
          receive.add(new Action.Relay(base + 3 - par, base + 2 + par, buffer, 0, len, Combine.ADD));
        }
      }
      default -> {
        if (lo) {
          receive.add(new Action.Recv(base + 1 - par, into, 0, len, Combine.ADD));
        }
        if (hi) {
          receive.add(new Action.Recv(base + 3 - par, into, 0, len, Combine.ADD));
        }
      }
    }
  }

  /** Broadcast from the root's {@code own} buffer: every other PE stores it into {@code into} and passes it on. */
  static void broadcast(List<Action> issue, List<Action> receive, int place, int base, String own, String into,
      int len) {
    int par = place >> 4;
    boolean lo = (place & HAS_LO) != 0;
    boolean hi = (place & HAS_HI) != 0;
    switch (place & 3) {
      case ABOVE -> receive.add(hi ? new Action.Relay(base + 1 - par, base + par, into, 0, len, Combine.STORE)
          : new Action.Recv(base + 1 - par, into, 0, len, Combine.STORE));
      case BELOW -> receive.add(lo ? new Action.Relay(base + 3 - par, base + 2 + par, into, 0, len, Combine.STORE)
          : new Action.Recv(base + 3 - par, into, 0, len, Combine.STORE));
      default -> {
        if (hi) {
          issue.add(new Action.Send(base + par, own, 0, len));
        }
        if (lo) {
          issue.add(new Action.Send(base + 2 + par, own, 0, len));
        }
      }
    }
  }
}
