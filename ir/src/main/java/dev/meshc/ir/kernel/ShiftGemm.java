package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * C = A·B on a P×P grid by Cannon's scheme in ring coordinates: PE (x, y) keeps C block (y, x);
 * B arrives pre-skewed from the host (PE (x, y) starts with K-block ring[(pos x + pos y) mod P]);
 * A is aligned on the mesh, each row shifting along its ring the shorter way round (≤ ⌈P/2⌉
 * shifts, forward or reverse); then P compute-shift steps, A rotating along X and B along Y while
 * each PE multiplies the tiles it holds. Ping-pong buffers: 2·A + 2·B + C tiles.
 *
 * <p>With the interleaved ring this is MeshGEMM (every transfer ≤ 2 hops); with the natural ring
 * it is Cannon (the wrap-around crosses P − 1 hops). Colours: X ring 0–2, Y ring 3–5, reverse X
 * ring 6–8.
 */
public final class ShiftGemm extends SquareGemm {
  static final int X = 0;
  static final int Y = 3;
  static final int XR = 6;

  private final String algorithm;
  private final LineRing ring;
  private final int align;
  // send and receive colours per index along an axis, for the forward and the reverse ring
  private final int[] sendF;
  private final int[] recvF;
  private final int[] sendR;
  private final int[] recvR;

  private ShiftGemm(String algorithm, Problem problem, int p, boolean fp32, IntFunction<LineRing> ring) {
    super(problem, p, fp32);
    this.algorithm = algorithm;
    this.ring = ring.apply(p);
    int a = 0;
    for (int y = 0; y < p; y++) {
      a = Math.max(a, shifts(y));
    }
    this.align = a;
    this.sendF = new int[p];
    this.recvF = new int[p];
    this.sendR = new int[p];
    this.recvR = new int[p];
    for (int i = 0; i < p && p > 1; i++) {
      for (Route r : this.ring.routes(i, 0, Dir.WEST, Dir.EAST, true)) {
        if (r.sends()) {
          sendF[i] = r.color();
        } else if (r.receives()) {
          recvF[i] = r.color();
        }
      }
      for (Route r : this.ring.routes(i, 0, Dir.WEST, Dir.EAST, false)) {
        if (r.sends()) {
          sendR[i] = r.color();
        } else if (r.receives()) {
          recvR[i] = r.color();
        }
      }
    }
  }

  public static ShiftGemm meshGemm(Problem problem, int p, boolean fp32) {
    return new ShiftGemm("meshgemm", problem, p, fp32, LineRing::interleaved);
  }

  public static ShiftGemm cannon(Problem problem, int p, boolean fp32) {
    return new ShiftGemm("cannon", problem, p, fp32, LineRing::natural);
  }

  /** Ring shifts row y needs to align A: pos(y) forward or P − pos(y) reverse, the fewer. */
  int shifts(int y) {
    int d = ring.pos(y);
    return Math.min(d, p - d);
  }

  private boolean forward(int y) {
    int d = ring.pos(y);
    return d <= p - d;
  }

  @Override
  public String algorithm() {
    return algorithm;
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return List.of(Buffer.half("a", mt * kt), Buffer.half("a_next", mt * kt), Buffer.half("b", kt * nt),
        Buffer.half("b_next", kt * nt), new Buffer("c", mt * nt, fp32));
  }

  @Override
  public List<Route> routes(int x, int y) {
    List<Route> r = new ArrayList<>(9);
    r.addAll(ring.routes(x, X, Dir.WEST, Dir.EAST, true));
    r.addAll(ring.routes(y, Y, Dir.NORTH, Dir.SOUTH, true));
    r.addAll(ring.routes(x, XR, Dir.WEST, Dir.EAST, false));
    return r;
  }

  private int sendColor(int i, int base, boolean forward) {
    return base + (forward ? sendF[i] : sendR[i]);
  }

  private int recvColor(int i, int base, boolean forward) {
    return base + (forward ? recvF[i] : recvR[i]);
  }

  @Override
  public int rounds() {
    return align + p;
  }

  /**
   * The program of a PE depends on its coordinates only through its ring colours and phase, so
   * the few distinct lists are built once and shared (a 720×720 run asks for 5·10⁸ of them).
   */
  @SuppressWarnings("unchecked")
  private final List<Action>[] cache = new List[40 + 3 * 81];

  @Override
  public List<Action> actions(int round, int x, int y) {
    int phase;
    int key;
    if (p == 1) {
      key = 0;
    } else if (round < align) {
      if (round >= shifts(y)) {
        return List.of();
      }
      boolean fwd = forward(y);
      key = 1 + 2 * (sendColor(x, 0, fwd) + 3 * recvColor(x, 0, fwd) + 9 * (fwd ? 1 : 0));
    } else {
      int s = round - align;
      phase = s == 0 ? 0 : s == p - 1 ? 2 : 1;
      key = 40 + phase + 3 * (sendF[x] + 3 * (recvF[x] + 3 * (sendF[y] + 3 * recvF[y])));
    }
    List<Action> a = cache[key];
    if (a == null) {
      a = List.copyOf(build(round, x, y));
      cache[key] = a;
    }
    return a;
  }

  /**
   * Alignment rounds repeat until each row has made its shifts (then the row idles); the
   * compute-shift steps between the first and the last repeat.
   */
  @Override
  public int sameProgramUntil(int round) {
    if (p > 1 && round < align) {
      return align;
    }
    int s = round - align;
    return p > 2 && s >= 1 && s < p - 1 ? align + p - 1 : round + 1;
  }

  private List<Action> build(int round, int x, int y) {
    List<Action> a = new ArrayList<>(7);
    if (p == 1) {
      a.add(new Action.Zero("c"));
      a.add(new Action.Gemm("a", "b", "c", mt, kt, nt, false));
      return a;
    }
    if (round < align) {
      if (round < shifts(y)) {
        boolean fwd = forward(y);
        a.add(new Action.Send(sendColor(x, fwd ? X : XR, fwd), "a", 0, mt * kt));
        a.add(new Action.Recv(recvColor(x, fwd ? X : XR, fwd), "a_next", 0, mt * kt, Combine.STORE));
        a.add(new Action.Swap("a", "a_next"));
      }
      return a;
    }
    int s = round - align;
    boolean last = s == p - 1;
    if (!last) {
      a.add(new Action.Send(sendColor(x, X, true), "a", 0, mt * kt));
      a.add(new Action.Send(sendColor(y, Y, true), "b", 0, kt * nt));
    }
    if (s == 0) {
      a.add(new Action.Zero("c"));
    }
    a.add(new Action.Gemm("a", "b", "c", mt, kt, nt, false));
    if (!last) {
      a.add(new Action.Recv(recvColor(x, X, true), "a_next", 0, mt * kt, Combine.STORE));
      a.add(new Action.Recv(recvColor(y, Y, true), "b_next", 0, kt * nt, Combine.STORE));
      a.add(new Action.Swap("a", "a_next"));
      a.add(new Action.Swap("b", "b_next"));
    }
    return a;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    int kb = ring.at((ring.pos(x) + ring.pos(y)) % p); // the host pre-skews B in ring coordinates
    return List.of(TileMap.of("a", "A", y * mt, x * kt, mt, kt), TileMap.of("b", "B", kb * kt, x * nt, kt, nt));
  }

  @Override
  public int colors() {
    return p < 2 ? 0 : 9;
  }

  @Override
  public long maxBytesPerPe() {
    return 4L * mt * kt + 4L * kt * nt + (long) mt * nt * (fp32 ? 4 : 2); // 2·A + 2·B in fp16, and C
  }

  @Override
  public int maxColorsPerPe() {
    if (p < 2) {
      return 0;
    }
    int m = 0;
    for (int i = 0; i < p; i++) { // rules over one axis: O(P)
      m = Math.max(m, ring.routes(i, X, Dir.WEST, Dir.EAST, true).size()
          + ring.routes(i, XR, Dir.WEST, Dir.EAST, false).size());
    }
    int yMax = 0;
    for (int i = 0; i < p; i++) {
      yMax = Math.max(yMax, ring.routes(i, Y, Dir.NORTH, Dir.SOUTH, true).size());
    }
    return m + yMax;
  }

  @Override
  public int maxHopsPerTransfer() {
    return ring.maxHops();
  }

  /**
   * Alignment: the most shifts any row makes, each a tile across the longest edge; then P − 1
   * steps of max(compute, transfer of the larger tile across the longest edge), and a last
   * compute. Transfers wait for the receiver, so the longest edge sets the pace.
   */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comp = tileCycles(m);
    if (p == 1) {
      return single(m);
    }
    long wa = m.wavelets((long) mt * kt);
    long wb = m.wavelets((long) kt * nt);
    double edge = ring.maxHops() * m.alpha();
    double alignCycles = align * (edge + wa);
    double step = Math.max(comp, edge + Math.max(wa, wb));
    double total = alignCycles + (p - 1) * step + comp;
    double compute = p * comp;
    return new Estimate(total, compute, total - compute);
  }
}
