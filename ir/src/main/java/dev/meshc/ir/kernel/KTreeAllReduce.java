package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/** The K-tree (K = 2) as an {@link AllReduce}; see {@link KTree}. */
public final class KTreeAllReduce implements AllReduce {
  private final KTree tree;
  private final int n;

  public KTreeAllReduce(int n, int groups, int base, Dir lo, Dir hi) {
    this.tree = new KTree(n, groups, base, lo, hi);
    this.n = n;
  }

  public KTree tree() {
    return tree;
  }

  @Override
  public String name() {
    return "ktree";
  }

  @Override
  public int rounds() {
    return tree.rounds();
  }

  @Override
  public int colors() {
    return KTree.COLORS;
  }

  @Override
  public List<Route> routes(int i) {
    return tree.routes(i);
  }

  @Override
  public List<Action> actions(int round, int i, String buffer, int len, Combine op) {
    return tree.actions(round, i, buffer, len, op);
  }

  @Override
  public int maxHops() {
    return tree.maxHops();
  }

  /**
   * Phase 1: the longest chain, one hop and (after the first) one relay per stage; phase 2: the
   * same over group roots, g hops per stage; then the broadcast's longest branch. The message
   * streams once per phase (cut-through relays).
   */
  @Override
  public double cycles(MachineSpec m, long w) {
    if (n < 2) {
      return 0;
    }
    int g = tree.groupSize();
    int groups = tree.groupCount();
    int h1 = 0;
    for (int q = 0; q < groups; q++) {
      int start = q * g;
      int end = Math.min(n, start + g);
      int root = tree.root(q);
      h1 = Math.max(h1, Math.max(root - start, end - 1 - root));
    }
    int q2 = groups / 2;
    int h2 = Math.max(q2, groups - 1 - q2);
    int r2 = tree.globalRoot();
    double phase1 = h1 == 0 ? 0 : h1 * m.alpha() + (h1 - 1) * m.beta() + w;
    double phase2 = h2 == 0 ? 0 : h2 * (g * m.alpha()) + (h2 - 1) * m.beta() + w;
    double bcast = Math.max(r2, n - 1 - r2) * m.alpha() + w;
    return phase1 + phase2 + bcast;
  }
}
