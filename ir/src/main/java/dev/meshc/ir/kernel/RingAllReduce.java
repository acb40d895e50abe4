package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The GPU-style ring all-reduce on the interleaved ring of the line (so ring edges are ≤ 2 hops):
 * reduce-scatter in n − 1 steps, then all-gather in n − 1 steps, each step one chunk of
 * ⌈len / n⌉ elements and one software stage (cut-through relays). Three colours (one ring).
 */
public final class RingAllReduce implements AllReduce {
  private final int n;
  private final int base;
  private final Dir lo;
  private final Dir hi;

  public RingAllReduce(int n, int base, Dir lo, Dir hi) {
    this.n = n;
    this.base = base;
    this.lo = lo;
    this.hi = hi;
  }

  @Override
  public String name() {
    return "ring";
  }

  @Override
  public int rounds() {
    return n < 2 ? 0 : 2 * (n - 1);
  }

  @Override
  public int colors() {
    return 3;
  }

  /** Elements per chunk of a buffer of {@code len}: the buffer is padded to n chunks. */
  public int chunk(int len) {
    return (len + n - 1) / n;
  }

  @Override
  public List<Route> routes(int i) {
    return Ring.routes(i, n, base, lo, hi, true);
  }

  private int sendColor(int i) {
    return base + Ring.color(i, n);
  }

  private int recvColor(int i) {
    return base + Ring.color(Ring.prev(i, n), n);
  }

  /**
   * Reduce-scatter: position k sends chunk k, then at step t receives chunk k + 1 + t (summed by
   * the t + 1 positions after it), adds its own and passes it on; it ends holding chunk k − 1
   * whole. All-gather: k sends chunk k − 1, then at step t receives chunk k + t and passes it on. {@code len} must be n·chunk(len) when
   * the buffer is allocated (the template pads it).
   */
  @Override
  public List<Action> actions(int round, int i, String buffer, int len, Combine op) {
    List<Action> a = new ArrayList<>(1);
    if (n < 2) {
      return a;
    }
    int cs = chunk(len);
    int k = Ring.pos(i, n);
    int steps = n - 1;
    boolean gather = round >= steps;
    int t = gather ? round - steps : round;
    int c = gather ? Math.floorMod(k - 1, n) : k; // what k sends first
    int in = gather ? Math.floorMod(k + t, n) : Math.floorMod(k + 1 + t, n); // what arrives at step t
    Combine how = gather ? Combine.STORE : op;
    if (t == 0) {
      a.add(new Action.Send(sendColor(i), buffer, c * cs, cs));
    }
    if (t < steps - 1) {
      // the chunk arriving now is passed on, combined with (or stored as) this PE's own
      a.add(new Action.Relay(recvColor(i), sendColor(i), buffer, in * cs, cs, how));
    } else {
      a.add(new Action.Recv(recvColor(i), buffer, in * cs, cs, how));
    }
    return a;
  }

  @Override
  public int maxHops() {
    return n < 2 ? 0 : Math.min(2, n - 1);
  }

  @Override
  public double cycles(MachineSpec m, long w) {
    if (n < 2) {
      return 0;
    }
    long wc = (w + n - 1) / n;
    // each phase: n − 1 cut-through stages of up to two hops and a relay; the chunk streams once
    return 2.0 * ((n - 1) * (2 * m.alpha() + m.beta()) + wc);
  }
}
