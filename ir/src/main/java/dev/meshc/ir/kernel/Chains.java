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
   * Reduce toward {@code root}: the ends send, the PEs between relay (combining their own
   * {@code buffer}), the root receives from both sides into {@code into}.
   */
  static void reduce(List<Action> issue, List<Action> receive, int i, int n, int root, int base, String buffer,
      String into, int len) {
    if (n < 2) {
      return;
    }
    if (i < root) {
      if (i == 0) {
        issue.add(new Action.Send(base, buffer, 0, len));
      } else {
        receive.add(new Action.Relay(base + (i - 1) % 2, base + i % 2, buffer, 0, len, Combine.ADD));
      }
    } else if (i > root) {
      if (i == n - 1) {
        issue.add(new Action.Send(base + 2 + i % 2, buffer, 0, len));
      } else {
        receive.add(new Action.Relay(base + 2 + (i + 1) % 2, base + 2 + i % 2, buffer, 0, len, Combine.ADD));
      }
    } else {
      if (i > 0) {
        receive.add(new Action.Recv(base + (i - 1) % 2, into, 0, len, Combine.ADD));
      }
      if (i < n - 1) {
        receive.add(new Action.Recv(base + 2 + (i + 1) % 2, into, 0, len, Combine.ADD));
      }
    }
  }

  /** Broadcast from {@code root}'s {@code own} buffer: every other PE stores it into {@code into} and passes it on. */
  static void broadcast(List<Action> issue, List<Action> receive, int i, int n, int root, int base, String own,
      String into, int len) {
    if (n < 2) {
      return;
    }
    if (i == root) {
      if (i < n - 1) {
        issue.add(new Action.Send(base + i % 2, own, 0, len));
      }
      if (i > 0) {
        issue.add(new Action.Send(base + 2 + i % 2, own, 0, len));
      }
    } else if (i > root) {
      receive.add(i < n - 1 ? new Action.Relay(base + (i - 1) % 2, base + i % 2, into, 0, len, Combine.STORE)
          : new Action.Recv(base + (i - 1) % 2, into, 0, len, Combine.STORE));
    } else {
      receive.add(i > 0 ? new Action.Relay(base + 2 + (i + 1) % 2, base + 2 + i % 2, into, 0, len, Combine.STORE)
          : new Action.Recv(base + 2 + (i + 1) % 2, into, 0, len, Combine.STORE));
    }
  }
}
