package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The Cerebras GEMV demo's all-reduce: a relay chain from the first PE of the line to the last
 * (n − 1 software stages, one hop each), then a hardware broadcast back (n − 1 hops). Three
 * colours: the chain's two (alternating by parity) and the broadcast's.
 */
public final class PipelineAllReduce implements AllReduce {
  private final int n;
  private final int base;
  private final Dir lo;
  private final Dir hi;

  public PipelineAllReduce(int n, int base, Dir lo, Dir hi) {
    this.n = n;
    this.base = base;
    this.lo = lo;
    this.hi = hi;
  }

  @Override
  public String name() {
    return "pipeline";
  }

  @Override
  public int rounds() {
    return n < 2 ? 0 : n;
  }

  @Override
  public int colors() {
    return 3;
  }

  @Override
  public List<Route> routes(int i) {
    List<Route> r = new ArrayList<>();
    if (n < 2) {
      return r;
    }
    if (i > 0) {
      r.add(Route.of(base + (i - 1) % 2, lo, Dir.RAMP));
    }
    if (i < n - 1) {
      r.add(Route.of(base + i % 2, Dir.RAMP, hi));
      r.add(i > 0 ? Route.of(base + 2, hi, Dir.RAMP, lo) : Route.of(base + 2, hi, Dir.RAMP));
    } else {
      r.add(Route.of(base + 2, Dir.RAMP, lo));
    }
    return r;
  }

  @Override
  public List<Action> actions(int round, int i, String buffer, int len, Combine op) {
    List<Action> a = new ArrayList<>(1);
    if (n < 2) {
      return a;
    }
    if (round < n - 1) {
      if (i == 0 && round == 0) {
        a.add(new Action.Send(base, buffer, 0, len));
      } else if (i > 0 && i < n - 1 && round == i - 1) {
        a.add(new Action.Relay(base + (i - 1) % 2, base + i % 2, buffer, 0, len, op));
      } else if (i == n - 1 && round == n - 2) {
        a.add(new Action.Recv(base + (i - 1) % 2, buffer, 0, len, op));
      }
    } else if (round == n - 1) {
      a.add(i == n - 1 ? new Action.Send(base + 2, buffer, 0, len)
          : new Action.Recv(base + 2, buffer, 0, len, Combine.STORE));
    }
    return a;
  }

  @Override
  public int maxHops() {
    return n < 2 ? 0 : n - 1;
  }

  @Override
  public double cycles(MachineSpec m, long w) {
    if (n < 2) {
      return 0;
    }
    return (n - 1) * m.alpha() + (n - 2) * m.beta() + w + (n - 1) * m.alpha() + w;
  }
}
