package dev.meshc.backends.mesh;

import dev.meshc.ir.Const;
import dev.meshc.ir.DType;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.eval.ReferenceEvaluator;
import dev.meshc.ir.eval.WeightStore;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.kernel.Local;
import dev.meshc.ir.kernel.RowFn;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.RmsNorm;
import dev.meshc.ir.op.Embedding;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.Rope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decode on the mesh runtime, one token per step: the model lifted at one token, placed with its
 * decode plan, every projection a functional MeshGEMV on its region's grid (fp16 operands), every
 * norm the row all-reduce kernel at one row, attention per head as MeshGEMV (q·Kᵀ, K stored as
 * rows, nothing transposed), the softmax row kernel and MeshGEMV (p·V), activations, RoPE and
 * residual adds the local kernel on the vector where the previous kernel left it. Each attention
 * keeps its K and V across steps in a {@link MeshKvCache}: the shift-based policy puts each token
 * on a row of its region (occupancy within one entry), the KV-shift kernel carries entries north on
 * the mesh runtime, and the attention kernels read them from the rows and slots where they lie.
 * What the one-token trace froze at position 0 is moved to the step's position: RoPE tables (from
 * θ, which the longer trace gave) and position-embedding lookups of a constant index.
 */
public final class MeshDecoder {
  private final Module step;
  private final Placement plan;
  private final float[] theta;
  private final WeightStore weights;
  private final MachineSpec machine;
  private final boolean fp32;
  private final Map<Integer, MeshKvCache> rows = new HashMap<>();
  private final Map<String, Const> consts = new HashMap<>();
  private final java.util.Set<String> weightNames;
  private final int context;
  private int position;
  private double meshCycles;
  private int spread;
  private final int[] gemvs = new int[2]; // Y → X, X → Y

  /**
   * @param step     the model lifted at one token, with a {@code decode} placement
   * @param theta    RoPE θ of each rope op of the body, in order (from a trace long enough to show it)
   * @param context  the most tokens the cache is sized for
   */
  public MeshDecoder(Module step, float[] theta, WeightStore weights, MachineSpec machine, boolean fp32,
      int context) {
    this.step = step;
    this.plan = step.placements().stream().filter(p -> p.phase().equals("decode")).findFirst()
        .orElseThrow(() -> MeshcException.input("%s has no decode placement", step.name()));
    this.theta = theta.clone();
    this.weights = weights;
    this.machine = machine;
    this.fp32 = fp32;
    step.consts().forEach(c -> consts.put(c.value().name(), c));
    this.weightNames = step.weightNames();
    this.context = context;
  }

  public int position() {
    return position;
  }

  /** Simulated cycles of every mesh kernel so far. */
  public double meshCycles() {
    return meshCycles;
  }

  /** The largest difference in occupancy between two rows of any KV cache, over all steps. */
  public int occupancySpread() {
    return spread;
  }

  /** MeshGEMVs run so far: {Y → X (input split along Y), X → Y (the pre-transposed ones)}. */
  public int[] gemvAxes() {
    return gemvs.clone();
  }

  /** Runs one token at the next position; returns the model's outputs (the logits). */
  public Map<String, Tensor> next(Map<String, Tensor> token) {
    int[] rope = {0};
    // which values lie split along X: a GEMV's output is split on the axis its input was not;
    // every other op leaves its result where its first operand lies (inputs and norms: along Y)
    java.util.Set<String> onX = new java.util.HashSet<>();
    Map<String, Tensor> out = ReferenceEvaluator.run(step, token, weights, (op, r) -> { }, (i, op, args) -> {
      boolean inX = !op.operands().isEmpty() && onX.contains(op.operands().get(0).name())
          && !(op instanceof LayerNorm || op instanceof RmsNorm);
      if (op instanceof Linear l) {
        int grid = gridOf(i);
        if (grid > 0) {
          if (!inX) {
            onX.add(l.result().name());
          }
          return List.of(MeshExecutor.fp16(gemv(l, args, grid, inX)));
        }
      }
      if (inX) {
        op.results().forEach(v -> onX.add(v.name()));
      }
      if (op instanceof Linear) {
        return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
      } else if (op instanceof Rope r) {
        float th = theta[rope[0]++];
        float[][] t = Rope.tables(th > 0 ? th : r.theta(), (int) r.rotaryDim(), r.interleaved(), 1, position);
        Shape s = Shape.of(1, r.rotaryDim());
        args = List.of(args.get(0), Tensor.ofFloats(DType.F32, s, t[0]), Tensor.ofFloats(DType.F32, s, t[1]));
      } else if (op instanceof Embedding e && consts.containsKey(e.ids().name())) {
        // a constant index at one token is the position the trace froze, position 0 plus the
        // model's offset (OPT's learned positions start at 2): look up this step's
        Tensor ids = args.get(0);
        long[] at = new long[ids.size()];
        for (int k = 0; k < at.length; k++) {
          at[k] = ids.getLong(k) + position;
        }
        args = List.of(Tensor.ofLongs(ids.dtype(), ids.shape(), at), args.get(1));
      } else if (op instanceof Attention a) {
        int grid = gridOf(i);
        withCache(i, args);
        if (grid > 0) {
          return List.of(MeshExecutor.fp16(attend(a, args.get(0), i, grid)));
        }
        // on the host: every position so far as [.., n, d]
        args = List.of(args.get(0), positions(a, rows.get(i), 0), positions(a, rows.get(i), 1));
      } else if (op instanceof Generic g && g.type().equals("Slice") && weightNames.contains(g.operands().get(0).name())) {
        return List.of(MeshExecutor.fp16(atPosition(g, args.get(0))));
      } else if (op instanceof LayerNorm || op instanceof RmsNorm) {
        int grid = gridOf(i);
        if (grid > 0) {
          RunResult r = MeshExecutor.norm(op, op.name() + " (decode)", args, grid, machine);
          meshCycles += r.cycles();
          return List.of(Tensor.ofFloats(DType.F32, op.result().shape(), r.c()));
        }
      }
      int grid = MeshExecutor.localFn(op) != null ? gridOf(i) : 0;
      if (grid > 0) { // the vector lies split along one axis and replicated along the other
        RunResult r = MeshExecutor.local(op, op.name() + " (decode)", args,
            inX ? Local.Layout.COLS_X : Local.Layout.COLS_Y, grid, machine);
        meshCycles += r.cycles();
        return List.of(Tensor.ofFloats(DType.F32, op.result().shape(), r.c()));
      }
      return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
    });
    position++;
    return out;
  }

  /**
   * A slice of a per-position weight table (a static export's folded learned positions, see
   * {@link dev.meshc.ir.Resequence}): the trace's first rows, moved to this step's position.
   */
  private Tensor atPosition(Generic g, Tensor table) {
    long[] starts = g.attrs().getInts("starts").clone();
    long[] sizes = g.attrs().getInts("sizes");
    int axis = (int) g.attrs().getInts("axes")[0];
    long rows = table.shape().dim(axis);
    if (starts[0] + position + sizes[0] > rows) {
      throw MeshcException.input("position %d is past the %d positions of %s, which the export fixed: export the "
          + "model with a dynamic sequence length (or a longer fixed one) to generate further", position, rows,
          g.operands().get(0).name());
    }
    starts[0] += position;
    Generic moved = new Generic(g.type(), g.operands(), g.attrs().toBuilder().put("starts", starts).build(),
        g.results(), g.loc());
    return ReferenceEvaluator.eval(moved, List.of(table)).get(0);
  }

  /**
   * This step's K and V appended to the op's cache, and placed on its region's rows by the
   * shift-based cache.
   */
  private void withCache(int op, List<Tensor> args) {
    int grid = Math.max(1, gridOf(op)); // the rows of the region that holds this attention's layer
    float[] k = args.get(1).floats();
    float[] v = args.get(2).floats();
    MeshKvCache r = rows.computeIfAbsent(op, x -> new MeshKvCache(grid, grid, (context + grid - 1) / grid,
        k.length + v.length));
    float[] entry = java.util.Arrays.copyOf(k, k.length + v.length);
    System.arraycopy(v, 0, entry, k.length, v.length);
    double before = r.cycles();
    r.append(entry, machine);
    meshCycles += r.cycles() - before;
    int[] o = r.policy().occupancy();
    spread = Math.max(spread, java.util.stream.IntStream.of(o).max().orElse(0)
        - java.util.stream.IntStream.of(o).min().orElse(0));
  }

  /**
   * K ({@code which} 0) or V (1) of every position so far, read from the cache's slots, as [..,
   * heads, n, d]: what attention on the host takes.
   */
  private static Tensor positions(Attention a, MeshKvCache kc, int which) {
    Value step = which == 0 ? a.k() : a.v();
    long[] dims = step.shape().toArray();
    int d = (int) dims[dims.length - 1];
    int heads = (int) (step.shape().elements() / d);
    int n = kc.policy().tokens();
    int off = which == 0 ? 0 : (int) a.k().shape().elements(); // an entry holds K, then V
    dims[dims.length - 2] = n;
    float[] out = new float[heads * n * d];
    for (int y = 0; y < kc.rows(); y++) {
      for (int slot = 0; slot < kc.extent(); slot++) {
        int t = kc.token(y, slot);
        for (int e = 0; t >= 0 && e < heads * d; e++) {
          out[(e / d * n + t) * d + e % d] = kc.value(y, slot, off + e);
        }
      }
    }
    return Tensor.ofFloats(step.dtype(), Shape.of(dims), out);
  }

  /**
   * One token's attention, head by head, on the region's grid, with K and V where the cache keeps
   * them: row y of the region holds the tokens the shift-based policy gave row y, a token's K and V
   * in one slot of that row, every row read up to the highest slot in use (the free ones masked
   * out). So scores = q · Kᵀ is the MeshGEMV split along X whose weight rows lie along Y: each PE
   * reads its slots' keys as stored, nothing is transposed; the softmax row kernel (K-tree max and
   * sum, the free slots hidden) runs on the fp32 scores; p · V is the MeshGEMV whose weight rows
   * (the slots) lie along Y, the same rows. A query head reads its group's kv head.
   */
  private Tensor attend(Attention a, Tensor query, int op, int grid) {
    MeshKvCache kc = rows.get(op);
    int per = kc.extent();
    int slots = per * grid;
    int[] token = new int[slots];
    float[] mask = new float[slots];
    for (int y = 0; y < grid; y++) {
      for (int s = 0; s < per; s++) {
        token[y * per + s] = kc.token(y, s);
      }
    }
    for (int s = 0; s < slots; s++) {
      mask[s] = token[s] < 0 ? Float.NEGATIVE_INFINITY : 0f;
    }
    float[] q = query.floats();
    int heads = (int) a.heads();
    int kvHeads = (int) a.kvHeads();
    int d = (int) a.headDim();
    int dv = (int) a.v().shape().dim(-1);
    int kSize = (int) a.k().shape().elements(); // an entry holds K, then V
    int batch = q.length / (heads * d);
    RowFn fn = RowFn.softmax(slots, a.scale(), false, 0, true);
    float[] out = new float[batch * heads * dv];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int kh = b * kvHeads + h / (heads / kvHeads);
        String what = a.name() + " head " + h + " (decode)";
        float[] qh = java.util.Arrays.copyOfRange(q, (b * heads + h) * d, (b * heads + h + 1) * d);
        float[] keys = new float[d * slots]; // Kᵀ [d, slots] as the GEMV reads it: slot s is row s / per's
        float[] values = new float[slots * dv];
        for (int s = 0; s < slots; s++) {
          if (token[s] >= 0) { // K's values come first in an entry, then V's
            for (int c = 0; c < d; c++) {
              keys[c * slots + s] = kc.value(s / per, s % per, kh * d + c);
            }
            for (int c = 0; c < dv; c++) {
              values[s * dv + c] = kc.value(s / per, s % per, kSize + kh * dv + c);
            }
          }
        }
        RunResult sc = MeshExecutor.run(GemvKernel.transposed(new KernelTemplate.Problem(1, d, slots), grid, grid,
            fp32, 0), Map.of("A", qh, "B", keys), what + " q·kᵀ", grid, machine);
        RunResult p = MeshExecutor.run(new RowWise(fn, 1, grid, grid, fp32), Map.of("X", sc.c(), "Mask", mask),
            what + " softmax", grid, machine);
        RunResult o = MeshExecutor.run(gemv(slots, dv, grid), Map.of("A", p.c(), "B", values), what + " p·v", grid,
            machine);
        System.arraycopy(o.c(), 0, out, (b * heads + h) * dv, dv);
        meshCycles += sc.cycles() + p.cycles() + o.cycles();
      }
    }
    return Tensor.ofFloats(DType.F32, a.result().shape(), out);
  }

  private KernelTemplate gemv(long k, long n, int grid) {
    return Kernels.create("meshgemv", new KernelTemplate.Problem(1, k, n), grid, grid, fp32, 0);
  }

  private int gridOf(int i) {
    return MeshExecutor.gridOf(step, plan, i, step.layers().isEmpty() ? 0
        : step.layers().get(step.layers().size() - 1).end());
  }

  /**
   * x[1, K] · W[K, N] as a MeshGEMV (the bias added on the PEs' tiles): x split along Y, or, when
   * {@code inX}, along X with W placed pre-transposed.
   */
  private Tensor gemv(Linear op, List<Tensor> args, int grid, boolean inX) {
    long k = args.get(1).shape().dim(0);
    if (args.get(0).shape().elements() != k) {
      throw new IllegalStateException(op.name() + " at one token reads " + args.get(0).shape() + ", not one row of "
          + k);
    }
    KernelTemplate.Problem p = new KernelTemplate.Problem(1, k, args.get(1).shape().dim(1));
    KernelTemplate t = inX ? GemvKernel.transposed(p, grid, grid, fp32, 0) : gemv(p.k(), p.n(), grid);
    RunResult r = MeshExecutor.run(t, Map.of("A", args.get(0).floats(), "B", args.get(1).floats()),
        op.name() + " (decode)", grid, machine);
    meshCycles += r.cycles();
    gemvs[inX ? 1 : 0]++;
    return Tensor.ofFloats(DType.F32, op.result().shape(), MeshExecutor.addBias(r.c(), args, true));
  }

  /** RoPE θ of each rope op of {@code trace}'s body, in order; null when one has only tables. */
  public static float[] thetas(Module trace) {
    List<Float> t = new ArrayList<>();
    for (Op op : trace.ops()) {
      if (op instanceof Rope r) {
        if (r.theta() <= 0) {
          return null;
        }
        t.add(r.theta());
      }
    }
    float[] a = new float[t.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = t.get(i);
    }
    return a;
  }
}
