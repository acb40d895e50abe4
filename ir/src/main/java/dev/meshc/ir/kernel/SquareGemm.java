package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/**
 * What the P×P GEMM templates share: the problem cut into Mt×Kt, Kt×Nt and Mt×Nt tiles (padded),
 * PE (x, y) keeping C block (y, x), and the tile product's cost.
 */
abstract class SquareGemm implements KernelTemplate {
  protected final Problem problem;
  protected final int p;
  protected final boolean fp32;
  protected final int mt;
  protected final int kt;
  protected final int nt;

  SquareGemm(Problem problem, int p, boolean fp32) {
    this.problem = problem;
    this.p = p;
    this.fp32 = fp32;
    this.mt = Tiles.tile(problem.m(), p);
    this.kt = Tiles.tile(problem.k(), p);
    this.nt = Tiles.tile(problem.n(), p);
  }

  @Override
  public Problem problem() {
    return problem;
  }

  @Override
  public int width() {
    return p;
  }

  @Override
  public int height() {
    return p;
  }

  @Override
  public Problem padded() {
    return new Problem((long) mt * p, (long) kt * p, (long) nt * p);
  }

  @Override
  public boolean fp32Accumulate() {
    return fp32;
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    return List.of(TileMap.of("c", "C", y * mt, x * nt, mt, nt));
  }

  /** Cycles of one Mt×Kt×Nt tile product. */
  protected double tileCycles(MachineSpec m) {
    return (double) mt * kt * nt / m.fmacsPerCycle();
  }

  /** The estimate of a one-PE grid: just the product. */
  protected Estimate single(MachineSpec m) {
    double c = tileCycles(m);
    return new Estimate(c, c, 0);
  }
}
