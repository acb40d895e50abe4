package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * dist-GEMM-T: C[M,N] = A[M,K] · B[N,K]ᵀ with no transpose, for q·kᵀ in prefill. A and B lie the
 * same way (rows along Y, K along X), as Q and K come out of their projections; PE (x, y) keeps
 * C block (y, x). P steps: at step s PE (x, y) holds B's row block ring[(pos y + s) mod P], forms
 * the partial A(y, x)·B(nb, x)ᵀ, and row y reduces the partials to the owner x = nb by relay
 * chains from both ends; meanwhile B rotates one step along the Y ring. Colours: Y ring 0–2,
 * chains 3–6.
 */
public final class DistGemmT extends SquareGemm {
  static final int Y = 0;
  static final int CH = 3;

  public DistGemmT(Problem problem, int p, boolean fp32) {
    super(problem, p, fp32);
  }

  @Override
  public String algorithm() {
    return "gemmt";
  }

  /** B is [N, K]: K's rows lie like Q's. */
  @Override
  public long[] inputShape(String tensor) {
    return tensor.equals("B") ? new long[] {problem().n(), problem().k()} : super.inputShape(tensor);
  }

  @Override
  public List<Buffer> buffers(int x, int y) {
    return List.of(Buffer.half("a", mt * kt), Buffer.half("b", nt * kt), Buffer.half("b_next", nt * kt),
        new Buffer("t", mt * nt, fp32), new Buffer("c", mt * nt, fp32));
  }

  @Override
  public List<Route> routes(int x, int y) {
    List<Route> r = new ArrayList<>(Ring.routes(y, p, Y, Dir.NORTH, Dir.SOUTH, true));
    r.addAll(Chains.routes(x, p, CH, Dir.WEST, Dir.EAST));
    return r;
  }

  /** The owner (column) of the C block row y completes at step s. */
  int root(int y, int s) {
    return Ring.at((Ring.pos(y, p) + s) % p, p);
  }

  @Override
  public int rounds() {
    return p;
  }

  /**
   * Step s's program at PE (x, y) is keyed by x's place on the row chain rooted at the owner, the
   * ring colours y sends and receives B on, and whether it is the last step.
   */
  private final ActionCache programs = new ActionCache(2 * 4 * 4 * Chains.PLACES, this::build);

  @Override
  public List<Action> actions(int s, int x, int y) {
    return programs.get((s == p - 1 ? 1 : 0) | Ring.color(y, p) << 1 | Ring.color(Ring.prev(y, p), p) << 3
        | Chains.place(x, p, root(y, s)) << 5);
  }

  private List<Action> build(int key) {
    boolean last = (key & 1) != 0;
    int send = key >> 1 & 3;
    int recv = key >> 3 & 3;
    int place = key >> 5;
    List<Action> issue = new ArrayList<>(6);
    List<Action> receive = new ArrayList<>(4);
    if (!last) {
      issue.add(new Action.Send(Y + send, "b", 0, nt * kt));
    }
    String into = Chains.isRoot(place) ? "c" : "t";
    issue.add(new Action.Zero(into));
    issue.add(new Action.Gemm("a", "b", into, mt, kt, nt, true));
    Chains.reduce(issue, receive, place, CH, "t", "c", mt * nt);
    if (!last) {
      receive.add(new Action.Recv(Y + recv, "b_next", 0, nt * kt, Combine.STORE));
      receive.add(new Action.Swap("b", "b_next"));
    }
    issue.addAll(receive);
    return issue;
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    return List.of(TileMap.of("a", "A", y * mt, x * kt, mt, kt), TileMap.of("b", "B", y * nt, x * kt, nt, kt));
  }

  @Override
  public int colors() {
    return p < 2 ? 0 : 3 + Chains.COLORS;
  }

  @Override
  public long maxBytesPerPe() {
    return 2L * mt * kt + 4L * nt * kt + 2L * mt * nt * (fp32 ? 4 : 2);
  }

  @Override
  public int maxColorsPerPe() {
    int m = 0;
    for (int i = 0; i < p; i++) { // both parts are rules over one axis: O(P)
      m = Math.max(m, Ring.routes(i, p, Y, Dir.NORTH, Dir.SOUTH, true).size());
    }
    int c = 0;
    for (int i = 0; i < p; i++) {
      c = Math.max(c, Chains.routes(i, p, CH, Dir.WEST, Dir.EAST).size());
    }
    return m + c;
  }

  @Override
  public int maxHopsPerTransfer() {
    return p < 2 ? 0 : Math.min(2, p - 1);
  }

  /**
   * Each step: the partial, then relays along the row toward a root that moves every step. In the
   * runtime the relay waves settle into a steady state of about max(compute + one relay stage +
   * 1.5 partial tiles, four relay stages + a tile) per step; this closed form is that steady state
   * (fitted to the runtime, within 10% for P ≥ 16), not a derivation.
   */
  @Override
  public Estimate estimate(MachineSpec m) {
    double comp = tileCycles(m);
    if (p == 1) {
      return single(m);
    }
    long wt = m.wavelets((long) mt * nt * (fp32 ? 2 : 1));
    double stage = m.alpha() + m.beta();
    double step = Math.max(comp + stage + 1.5 * wt, Math.min(4, p / 2) * stage + wt);
    double total = p * step;
    double compute = p * comp;
    return new Estimate(total, compute, total - compute);
  }
}
