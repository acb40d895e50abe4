package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link LocalFn} over X[M, N] where the operands already lie: every PE computes its own tile, no
 * colour, no transfer. This is how activations, residual adds and RoPE run in WaferLLM ("RoPE
 * local"): the layout that the neighbouring kernels leave puts the operands of each output element
 * on one PE.
 *
 * <p>Layouts ({@link Layout}): prefill's {@code L_y E_x} (rows split along Y, columns along X), and
 * decode's vector split along X or along Y and replicated on the other axis (every PE of the other
 * axis computes the same tile; the runtime checks that replicas agree).
 *
 * <p>RoPE pairs channel i with i + rotaryDim/2. A PE holding columns of the first half holds their
 * partners too: column block c is the pairs c·w … c·w + w − 1 of both halves (w = ⌈rotaryDim/2 /
 * blocks⌉), which on the wafer is a permutation of the Q and K projections' output columns, chosen
 * when their weights are placed; q·kᵀ does not change under it, since q and k share it. Interleaved
 * RoPE keeps its pairs adjacent. Channels past rotaryDim pass through.
 *
 * <p>The problem is (M, 1, N); inputs "A" (M×N), "B" (M×N, the second operand of a binary
 * function), "COS" and "SIN" (M×rotaryDim, row r holding row r's position); output "C" (M×N).
 */
public final class Local implements KernelTemplate {
  /** Where X's tiles lie. */
  public enum Layout {
    /** Prefill's {@code L_y E_x}: rows split along Y, columns along X. */
    ROWS_Y_COLS_X,
    /** A decode vector split along X, replicated along Y: every PE row holds all rows. */
    COLS_X,
    /** A decode vector split along Y, replicated along X. */
    COLS_Y
  }

  private final LocalFn fn;
  private final Layout layout;
  private final Problem problem;
  private final int width;
  private final int height;
  private final int blocks;
  private final int mt;
  /** Columns per block (non-RoPE), or pairs per block (RoPE). */
  private final int w;
  /** Pass-through columns per block (RoPE past rotaryDim). */
  private final int wp;

  public Local(LocalFn fn, long rows, long cols, Layout layout, int width, int height) {
    if (fn.rope() && fn.rotaryDim() > cols) {
      throw new IllegalArgumentException("rotary dim " + fn.rotaryDim() + " exceeds the row " + cols);
    }
    this.fn = fn;
    this.layout = layout;
    this.problem = new Problem(rows, 1, cols);
    this.width = width;
    this.height = height;
    this.blocks = layout == Layout.COLS_Y ? height : width;
    this.mt = layout == Layout.ROWS_Y_COLS_X ? Tiles.tile(rows, height) : Tiles.tile(rows, 1);
    this.w = fn.rope() ? Tiles.tile(fn.rotaryDim() / 2, blocks) : Tiles.tile(cols, blocks);
    this.wp = fn.rope() && cols > fn.rotaryDim() ? Tiles.tile(cols - fn.rotaryDim(), blocks) : 0;
  }

  public LocalFn fn() {
    return fn;
  }

  @Override
  public String algorithm() {
    return fn.algorithm();
  }

  @Override
  public Problem problem() {
    return problem;
  }

  @Override
  public int width() {
    return width;
  }

  @Override
  public int height() {
    return height;
  }

  @Override
  public Problem padded() {
    long rows = layout == Layout.ROWS_Y_COLS_X ? (long) mt * height : problem.m();
    long cols = fn.rope() ? 2L * w * blocks + (long) wp * blocks : (long) w * blocks;
    return new Problem(rows, 1, cols);
  }

  /** Inputs and outputs are fp16 tiles; nothing accumulates. */
  @Override
  public boolean fp32Accumulate() {
    return false;
  }

  @Override
  public long[] inputShape(String tensor) {
    return switch (tensor) {
      case "A" -> new long[] {problem.m(), problem.n()};
      case "B" -> {
        if (!fn.binary()) {
          throw new IllegalArgumentException(algorithm() + " has no input B");
        }
        yield new long[] {problem.m(), problem.n()};
      }
      case "COS", "SIN" -> {
        if (!fn.rope()) {
          throw new IllegalArgumentException(algorithm() + " has no input " + tensor);
        }
        yield new long[] {problem.m(), fn.rotaryDim()};
      }
      default -> throw new IllegalArgumentException(algorithm() + " has no input " + tensor);
    };
  }

  private int block(int x, int y) {
    return layout == Layout.COLS_Y ? y : x;
  }

  private int row0(int y) {
    return layout == Layout.ROWS_Y_COLS_X ? y * mt : 0;
  }

  /** Of {@code per} columns (or pairs) per block over {@code total}, how many block c really has. */
  private static int clip(long total, int per, int c) {
    return (int) Math.max(0, Math.min(per, total - (long) c * per));
  }

  /** Buffers, the same on every PE (sized for a full block). Cos and sin tables are fp32. */
  @Override
  public List<Buffer> buffers(int x, int y) {
    List<Buffer> b = new ArrayList<>();
    int t = mt * w;
    switch (fn.kind()) {
      case ROPE -> {
        for (String s : new String[] {"x1", "x2"}) {
          b.add(Buffer.half(s, t));
        }
        for (String s : new String[] {"cos1", "sin1", "cos2", "sin2"}) {
          b.add(new Buffer(s, t, true));
        }
        b.add(Buffer.half("y1", t));
        b.add(Buffer.half("y2", t));
      }
      case ROPE_INTERLEAVED -> {
        b.add(Buffer.half("x", 2 * t));
        b.add(new Buffer("cos", 2 * t, true));
        b.add(new Buffer("sin", 2 * t, true));
        b.add(Buffer.half("y", 2 * t));
      }
      default -> {
        b.add(Buffer.half("a", t));
        if (fn.binary()) {
          b.add(Buffer.half("b", t));
        }
        b.add(Buffer.half("c", t));
      }
    }
    if (wp > 0) {
      b.add(Buffer.half("pass", mt * wp));
    }
    return b;
  }

  @Override
  public List<Route> routes(int x, int y) {
    return List.of();
  }

  @Override
  public int rounds() {
    return 1;
  }

  @Override
  public List<Action> actions(int round, int x, int y) {
    int c = block(x, y);
    // RoPE's blocks are clipped to the pairs there are; other tiles are padded to w columns
    int real = clip(fn.rope() ? fn.rotaryDim() / 2 : problem.n(), w, c);
    int n = mt * (fn.rope() ? real : w);
    if (real == 0) {
      return List.of();
    }
    return switch (fn.kind()) {
      case ROPE -> List.of(new Action.Map(fn, 0, List.of("x1", "x2", "cos1", "sin1"), "y1", n),
          new Action.Map(fn, 1, List.of("x1", "x2", "cos2", "sin2"), "y2", n));
      case ROPE_INTERLEAVED -> List.of(new Action.Map(fn, 0, List.of("x", "cos", "sin"), "y", 2 * n));
      default -> List.of(new Action.Map(fn, 0, fn.binary() ? List.of("a", "b") : List.of("a"), "c", n));
    };
  }

  @Override
  public List<TileMap> inputs(int x, int y) {
    int c = block(x, y);
    int r0 = row0(y);
    List<TileMap> in = new ArrayList<>(7);
    if (fn.kind() == LocalFn.Kind.ROPE) {
      long half = fn.rotaryDim() / 2;
      int n = clip(half, w, c);
      if (n > 0) {
        int lo = c * w;
        int hi = (int) half + c * w;
        in.add(TileMap.of("x1", "A", r0, lo, mt, n));
        in.add(TileMap.of("x2", "A", r0, hi, mt, n));
        in.add(TileMap.of("cos1", "COS", r0, lo, mt, n));
        in.add(TileMap.of("sin1", "SIN", r0, lo, mt, n));
        in.add(TileMap.of("cos2", "COS", r0, hi, mt, n));
        in.add(TileMap.of("sin2", "SIN", r0, hi, mt, n));
      }
    } else if (fn.kind() == LocalFn.Kind.ROPE_INTERLEAVED) {
      int n = clip(fn.rotaryDim() / 2, w, c);
      if (n > 0) {
        in.add(TileMap.of("x", "A", r0, 2 * c * w, mt, 2 * n));
        in.add(TileMap.of("cos", "COS", r0, 2 * c * w, mt, 2 * n));
        in.add(TileMap.of("sin", "SIN", r0, 2 * c * w, mt, 2 * n));
      }
    } else {
      in.add(TileMap.of("a", "A", r0, c * w, mt, w));
      if (fn.binary()) {
        in.add(TileMap.of("b", "B", r0, c * w, mt, w));
      }
    }
    passThrough(c, r0, "A", in);
    return in;
  }

  @Override
  public List<TileMap> outputs(int x, int y) {
    int c = block(x, y);
    int r0 = row0(y);
    List<TileMap> out = new ArrayList<>(3);
    if (fn.kind() == LocalFn.Kind.ROPE) {
      int n = clip(fn.rotaryDim() / 2, w, c);
      if (n > 0) {
        out.add(TileMap.of("y1", "C", r0, c * w, mt, n));
        out.add(TileMap.of("y2", "C", r0, (int) (fn.rotaryDim() / 2) + c * w, mt, n));
      }
    } else if (fn.kind() == LocalFn.Kind.ROPE_INTERLEAVED) {
      int n = clip(fn.rotaryDim() / 2, w, c);
      if (n > 0) {
        out.add(TileMap.of("y", "C", r0, 2 * c * w, mt, 2 * n));
      }
    } else {
      out.add(TileMap.of("c", "C", r0, c * w, mt, w));
    }
    passThrough(c, r0, "C", out);
    return out;
  }

  /** Channels past rotaryDim: loaded into "pass" and read back unchanged. */
  private void passThrough(int c, int r0, String tensor, List<TileMap> maps) {
    int n = wp == 0 ? 0 : clip(problem.n() - fn.rotaryDim(), wp, c);
    if (n > 0) {
      maps.add(TileMap.of("pass", tensor, r0, (int) fn.rotaryDim() + c * wp, mt, n));
    }
  }

  @Override
  public int colors() {
    return 0;
  }

  @Override
  public long maxBytesPerPe() {
    return buffers(0, 0).stream().mapToLong(Buffer::bytes).sum();
  }

  @Override
  public int maxColorsPerPe() {
    return 0;
  }

  @Override
  public int maxHopsPerTransfer() {
    return 0;
  }

  @Override
  public boolean columnsIndependent() {
    return true;
  }

  /** Cycles of one PE's part (the runtime charges the same per action). */
  public static double cycles(MachineSpec m, LocalFn fn, int elements) {
    return Math.ceil((double) elements * fn.opsPerElement() / m.fmacsPerCycle());
  }

  /** The fullest PE's tile; no communication. */
  @Override
  public Estimate estimate(MachineSpec m) {
    double compute = 0;
    for (Action a : actions(0, 0, 0)) {
      compute += cycles(m, fn, ((Action.Map) a).elements());
    }
    return new Estimate(compute, compute, 0);
  }
}
