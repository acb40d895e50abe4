package dev.meshc.ir.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * WaferLLM's K-tree all-reduce with K = 2 along a line of {@code n} PEs: the line is cut into
 * groups of {@code g} consecutive PEs; in phase 1 each group reduces from both ends toward its
 * middle PE by one-hop relay chains; in phase 2 the group roots reduce toward the middle group's
 * root, their messages passing the PEs in between on hardware routes; then that root broadcasts
 * the result to the whole line by hardware multicast. About g/2 + G/2 software relay stages
 * instead of n. Five colours: two for the phase-1 chains, two for phase 2, one for the broadcast,
 * which the root multicasts both ways at once (every other PE forwards it away from the root).
 * A chain's links alternate between its two colours; a link from the low end (j → j + 1) takes
 * colour (j + 1) mod 2 and one from the high end (j → j − 1) colour j mod 2, so a root's two
 * incoming links differ and each relay takes in one colour and sends on the other (WaferLLM's
 * WSE-3 decode uses the same five, which lets one set serve both axes by re-routing).
 *
 * <p>{@code lo}/{@code hi} are the ports toward index − 1 and + 1 (NORTH/SOUTH for a column).
 */
public final class KTree {
  /** Colour offsets within the tree's five: the phase-1 pair, the phase-2 pair, the broadcast. */
  static final int P1 = 0;
  static final int P2 = 2;
  static final int B = 4;
  public static final int COLORS = 5;

  private final int n;
  private final int g;
  private final int groups;
  private final int base;
  private final Dir lo;
  private final Dir hi;
  private final int rootGroup;

  /**
   * @param n      PEs on the line
   * @param groups requested group count (clamped to [1, n]); the group size is ⌈n / groups⌉
   * @param base   first of the five colours
   */
  public KTree(int n, int groups, int base, Dir lo, Dir hi) {
    this.n = n;
    this.g = (n + Math.max(1, Math.min(groups, n)) - 1) / Math.max(1, Math.min(groups, n));
    this.groups = (n + g - 1) / g;
    this.base = base;
    this.lo = lo;
    this.hi = hi;
    this.rootGroup = this.groups / 2;
  }

  /** The group count ⌈√n⌉ rounded so groups are about √n long: WaferLLM's choice (18×20 at 360). */
  public static final IntUnaryOperator SQRT_GROUPS = n -> (int) Math.round(Math.sqrt(n));

  private static final ThreadLocal<IntUnaryOperator> RULE = ThreadLocal.withInitial(() -> SQRT_GROUPS);

  /**
   * Groups of a K-tree over {@code n} PEs, by the rule in force ({@link #SQRT_GROUPS} unless
   * {@link #withGroupRule} says otherwise), between 1 and n. Every K-tree a kernel builds without
   * an explicit group count takes it from here: the planner's estimates, the runtime's routes and
   * actions and the CSL backend's tables alike.
   */
  public static int defaultGroups(int n) {
    return Math.max(1, Math.min(Math.max(1, n), RULE.get().applyAsInt(n)));
  }

  /**
   * Runs {@code body} on this thread with {@code rule} as the K-tree's group rule: one change that
   * the planner, the runtime and the CSL backend all see (an experiment with the tree's shape).
   */
  public static <T> T withGroupRule(IntUnaryOperator rule, Supplier<T> body) {
    IntUnaryOperator before = RULE.get();
    RULE.set(rule);
    try {
      return body.get();
    } finally {
      RULE.set(before);
    }
  }

  public int groupSize() {
    return g;
  }

  public int groupCount() {
    return groups;
  }

  private int start(int q) {
    return q * g;
  }

  private int end(int q) {
    return Math.min(n, (q + 1) * g);
  }

  /** The root (middle PE) of group q. */
  public int root(int q) {
    return start(q) + (end(q) - start(q)) / 2;
  }

  /** The PE that ends up with the total first and broadcasts it. */
  public int globalRoot() {
    return root(rootGroup);
  }

  private int phase1Rounds() {
    int r = 0;
    for (int q = 0; q < groups; q++) {
      r = Math.max(r, Math.max(root(q) - start(q), end(q) - 1 - root(q)));
    }
    return r;
  }

  private int phase2Rounds() {
    return Math.max(rootGroup, groups - 1 - rootGroup);
  }

  /** The colour of a chain's link from j toward j + 1 (the low end's chain) of the pair at offset pair. */
  private int fromLow(int pair, int j) {
    return base + pair + (j + 1) % 2;
  }

  /** The colour of a chain's link from j toward j − 1 (the high end's chain). */
  private int fromHigh(int pair, int j) {
    return base + pair + j % 2;
  }

  /** Rounds of the whole all-reduce: phase 1, phase 2, broadcast. */
  public int rounds() {
    return n < 2 ? 0 : phase1Rounds() + phase2Rounds() + 1;
  }

  /**
   * The router entries PE i needs. Colour IDs are {@code base + offset}.
   */
  public List<Route> routes(int i) {
    List<Route> r = new ArrayList<>();
    if (n < 2) {
      return r;
    }
    int q = i / g;
    int root = root(q);
    if (i < root) {
      if (i > start(q)) {
        r.add(Route.of(fromLow(P1, i - 1), lo, Dir.RAMP));
      }
      r.add(Route.of(fromLow(P1, i), Dir.RAMP, hi));
    } else if (i > root) {
      if (i < end(q) - 1) {
        r.add(Route.of(fromHigh(P1, i + 1), hi, Dir.RAMP));
      }
      r.add(Route.of(fromHigh(P1, i), Dir.RAMP, lo));
    } else {
      if (i > start(q)) {
        r.add(Route.of(fromLow(P1, i - 1), lo, Dir.RAMP));
      }
      if (i < end(q) - 1) {
        r.add(Route.of(fromHigh(P1, i + 1), hi, Dir.RAMP));
      }
    }
    // phase 2: roots chain toward the root group's root; the PEs between pass through
    if (i == root) {
      if (q < rootGroup) {
        if (q > 0) {
          r.add(Route.of(fromLow(P2, q - 1), lo, Dir.RAMP));
        }
        r.add(Route.of(fromLow(P2, q), Dir.RAMP, hi));
      } else if (q > rootGroup) {
        if (q < groups - 1) {
          r.add(Route.of(fromHigh(P2, q + 1), hi, Dir.RAMP));
        }
        r.add(Route.of(fromHigh(P2, q), Dir.RAMP, lo));
      } else {
        if (q > 0) {
          r.add(Route.of(fromLow(P2, q - 1), lo, Dir.RAMP));
        }
        if (q < groups - 1) {
          r.add(Route.of(fromHigh(P2, q + 1), hi, Dir.RAMP));
        }
      }
    } else {
      int above = i < root ? q - 1 : q; // the group whose root is just above i
      if (above >= 0 && above < rootGroup && root(above) < i && i < root(above + 1)) {
        r.add(Route.of(fromLow(P2, above), lo, hi));
      }
      int below = i > root ? q + 1 : q; // the group whose root is just below i
      if (below < groups && below > rootGroup && root(below - 1) < i && i < root(below)) {
        r.add(Route.of(fromHigh(P2, below), hi, lo));
      }
    }
    // broadcast: the global root multicasts both ways; the others forward it away from the root
    int r2 = globalRoot();
    if (i < r2) {
      r.add(i > 0 ? Route.of(base + B, hi, Dir.RAMP, lo) : Route.of(base + B, hi, Dir.RAMP));
    } else if (i > r2) {
      r.add(i < n - 1 ? Route.of(base + B, lo, Dir.RAMP, hi) : Route.of(base + B, lo, Dir.RAMP));
    } else {
      r.add(i == 0 ? Route.of(base + B, Dir.RAMP, hi) : i == n - 1 ? Route.of(base + B, Dir.RAMP, lo)
          : Route.of(base + B, Dir.RAMP, lo, hi));
    }
    return r;
  }

  /**
   * PE i's actions in round {@code round} of the all-reduce of {@code buffer}[0, len) (rounds
   * count from 0 at the start of the all-reduce).
   */
  public List<Action> actions(int round, int i, String buffer, int len, Combine op) {
    List<Action> a = new ArrayList<>(2);
    if (n < 2) {
      return a;
    }
    int p1 = phase1Rounds();
    int p2 = phase2Rounds();
    int q = i / g;
    int root = root(q);
    if (round < p1) {
      if (i < root) {
        int d = i - start(q);
        if (d == 0 && round == 0) {
          a.add(new Action.Send(fromLow(P1, i), buffer, 0, len));
        } else if (d > 0 && round == d - 1) {
          a.add(new Action.Relay(fromLow(P1, i - 1), fromLow(P1, i), buffer, 0, len, op));
        }
      } else if (i > root) {
        int e = end(q) - 1 - i;
        if (e == 0 && round == 0) {
          a.add(new Action.Send(fromHigh(P1, i), buffer, 0, len));
        } else if (e > 0 && round == e - 1) {
          a.add(new Action.Relay(fromHigh(P1, i + 1), fromHigh(P1, i), buffer, 0, len, op));
        }
      } else {
        if (i > start(q) && round == root - start(q) - 1) {
          a.add(new Action.Recv(fromLow(P1, i - 1), buffer, 0, len, op));
        }
        if (i < end(q) - 1 && round == end(q) - 1 - root - 1) {
          a.add(new Action.Recv(fromHigh(P1, i + 1), buffer, 0, len, op));
        }
      }
      return a;
    }
    int t = round - p1;
    if (t < p2) {
      if (i != root) {
        return a;
      }
      if (q < rootGroup) {
        if (q == 0 && t == 0) {
          a.add(new Action.Send(fromLow(P2, q), buffer, 0, len));
        } else if (q > 0 && t == q - 1) {
          a.add(new Action.Relay(fromLow(P2, q - 1), fromLow(P2, q), buffer, 0, len, op));
        }
      } else if (q > rootGroup) {
        int e = groups - 1 - q;
        if (e == 0 && t == 0) {
          a.add(new Action.Send(fromHigh(P2, q), buffer, 0, len));
        } else if (e > 0 && t == e - 1) {
          a.add(new Action.Relay(fromHigh(P2, q + 1), fromHigh(P2, q), buffer, 0, len, op));
        }
      } else {
        if (q > 0 && t == q - 1) {
          a.add(new Action.Recv(fromLow(P2, q - 1), buffer, 0, len, op));
        }
        if (q < groups - 1 && t == groups - 1 - q - 1) {
          a.add(new Action.Recv(fromHigh(P2, q + 1), buffer, 0, len, op));
        }
      }
      return a;
    }
    if (t == p2) {
      int r2 = globalRoot();
      if (i == r2) {
        a.add(new Action.Send(base + B, buffer, 0, len));
      } else {
        a.add(new Action.Recv(base + B, buffer, 0, len, Combine.STORE));
      }
    }
    return a;
  }

  /** The longest hardware path of one transfer: a phase-2 hop between roots, or the broadcast. */
  public int maxHops() {
    if (n < 2) {
      return 0;
    }
    int m = 1;
    for (int q = 0; q + 1 < groups; q++) {
      m = Math.max(m, root(q + 1) - root(q));
    }
    int r2 = globalRoot();
    return Math.max(m, Math.max(r2, n - 1 - r2));
  }
}
