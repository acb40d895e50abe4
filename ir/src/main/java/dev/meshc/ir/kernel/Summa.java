package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * SUMMA, the Cerebras "GEMM with collectives" baseline: P steps; at step s column s broadcasts
 * its A tiles along the rows and row s its B tiles along the columns, by relay chains (each PE
 * stores the tile and passes it on), and every PE accumulates the product. The farthest PE is
 * P − 1 relays away. Colours: row chains 0–3, column chains 4–7.
 */
public final class Summa extends SquareGemm {
  static final int XC = 0;
  static final int YC = 4;

  public Summa(Problem problem, int p, boolean fp32) {
    super(problem, p, fp32);
  }

  @Override
  public String algorithm() {
    return "summa";
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return List.of(Buffer.half("a", mt * kt), Buffer.half("a_in", mt * kt), Buffer.half("b", kt * nt),
        Buffer.half("b_in", kt * nt), new Buffer("c", mt * nt, fp32));
  }

  @Override
  public List<Route> routes(int x, int y) {
    List<Route> r = new ArrayList<>(Chains.routes(x, p, XC, Dir.WEST, Dir.EAST));
    r.addAll(Chains.routes(y, p, YC, Dir.NORTH, Dir.SOUTH));
    return r;
  }

  @Override
  public int rounds() {
    return p;
  }

  /** Step s's program at PE (x, y) is keyed by its places on the row and column chains rooted at s. */
  private final ActionCache programs = new ActionCache(2 * Chains.PLACES * Chains.PLACES, this::build);

  @Override
  public List<Action> actions(int s, int x, int y) {
    return programs.get((s == 0 ? 1 : 0) | Chains.place(x, p, s) << 1 | Chains.place(y, p, s) << 6);
  }

  private List<Action> build(int key) {
    int px = key >> 1 & (Chains.PLACES - 1);
    int py = key >> 6;
    List<Action> issue = new ArrayList<>(6);
    List<Action> receive = new ArrayList<>(4);
    if ((key & 1) != 0) {
      issue.add(new Action.Zero("c"));
    }
    Chains.broadcast(issue, receive, px, XC, "a", "a_in", mt * kt);
    Chains.broadcast(issue, receive, py, YC, "b", "b_in", kt * nt);
    receive.add(new Action.Gemm(Chains.isRoot(px) ? "a" : "a_in", Chains.isRoot(py) ? "b" : "b_in", "c", mt, kt, nt,
        false));
    issue.addAll(receive);
    return issue;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    return List.of(TileMap.of("a", "A", y * mt, x * kt, mt, kt), TileMap.of("b", "B", y * kt, x * nt, kt, nt));
  }

  @Override
  public int colors() {
    return p < 2 ? 0 : 2 * Chains.COLORS;
  }

  @Override
  public long maxBytesPerPe() {
    return 4L * mt * kt + 4L * kt * nt + (long) mt * nt * (fp32 ? 4 : 2);
  }

  @Override
  public int maxColorsPerPe() {
    int c = 0;
    for (int i = 0; i < p; i++) { // the same rule on both axes: O(P)
      c = Math.max(c, Chains.routes(i, p, XC, Dir.WEST, Dir.EAST).size());
    }
    return 2 * c;
  }

  @Override
  public int maxHopsPerTransfer() {
    return p < 2 ? 0 : 1;
  }

  /**
   * Each step every PE relays an A tile and a B tile (both serial on its core) and computes; the
   * broadcast waves of successive steps settle into a steady state of about six relay stages and
   * two tiles per step beyond the compute. This closed form is that steady state (fitted to the
   * runtime, within 10% for P ≥ 32), not a derivation.
   */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comp = tileCycles(m);
    if (p == 1) {
      return single(m);
    }
    long w = m.wavelets(Math.max((long) mt * kt, (long) kt * nt));
    double step = comp + Math.min(6, p - 1) * (m.alpha() + m.beta()) + 2 * w;
    double total = p * step;
    double compute = p * comp;
    return new Estimate(total, compute, total - compute);
  }
}
