package dev.meshc.backends.mesh;

import dev.meshc.ir.Const;
import dev.meshc.ir.DType;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import dev.meshc.ir.eval.WeightStore;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.kernel.RowFn;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.RmsNorm;
import dev.meshc.ir.op.Embedding;
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
 * norm the row all-reduce kernel at one row, attention MeshGEMV (q·Kᵀ over K kept transposed),
 * the softmax row kernel and MeshGEMV (p·V) per head. Each attention keeps its K and V across
 * steps, between kernels on the host for now, with the rows of its region tracked by a {@link
 * ShiftKvCache} (occupancy stays within one entry). What the one-token trace
 * froze at position 0 is moved to the step's position: RoPE tables (from θ, which the longer trace
 * gave) and position-embedding lookups of a constant index.
 */
public final class MeshDecoder {
  private final Module step;
  private final Placement plan;
  private final float[] theta;
  private final WeightStore weights;
  private final MachineSpec machine;
  private final boolean fp32;
  private final Map<Integer, List<Tensor[]>> cache = new HashMap<>();
  private final Map<Integer, ShiftKvCache> rows = new HashMap<>();
  private final Map<String, Const> consts = new HashMap<>();
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
    this.context = context;
  }

  public int position() {
    return position;
  }

  /** Simulated cycles of every MeshGEMV so far. */
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
        float[][] t = Rope.tables(th > 0 ? th : r.theta(), (int) r.rotaryDim(), 1, position);
        Shape s = Shape.of(1, r.rotaryDim());
        args = List.of(args.get(0), Tensor.ofFloats(DType.F32, s, t[0]), Tensor.ofFloats(DType.F32, s, t[1]));
      } else if (op instanceof Embedding e && consts.containsKey(e.ids().name())) {
        // a constant index at one token is the position the trace froze: look up this step's
        Tensor ids = args.get(0);
        long[] at = new long[ids.size()];
        java.util.Arrays.fill(at, position);
        args = List.of(Tensor.ofLongs(ids.dtype(), ids.shape(), at), args.get(1));
      } else if (op instanceof Attention a) {
        int grid = gridOf(i);
        args = withCache(i, args);
        if (grid > 0) {
          return List.of(MeshExecutor.fp16(attend(a, args, grid)));
        }
        args = args.subList(0, 3);
      } else if (op instanceof LayerNorm || op instanceof RmsNorm) {
        int grid = gridOf(i);
        if (grid > 0) {
          RunResult r = MeshExecutor.norm(op, op.name() + " (decode)", args, grid, machine);
          meshCycles += r.cycles();
          return List.of(Tensor.ofFloats(DType.F32, op.result().shape(), r.c()));
        }
      }
      return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
    });
    position++;
    return out;
  }

  /** This step's K and V appended to the op's cache; attention then reads every position so far. */
  private List<Tensor> withCache(int op, List<Tensor> args) {
    List<Tensor[]> kv = cache.computeIfAbsent(op, k -> new ArrayList<>());
    kv.add(new Tensor[] {args.get(1), args.get(2)});
    int grid = gridOf(op); // the rows of the region that holds this attention's layer
    ShiftKvCache r = rows.computeIfAbsent(op, k -> new ShiftKvCache(grid, (context + grid - 1) / grid));
    r.append();
    int[] o = r.occupancy();
    spread = Math.max(spread, java.util.stream.IntStream.of(o).max().orElse(0)
        - java.util.stream.IntStream.of(o).min().orElse(0));
    // no mask: the last token sees every key
    return List.of(args.get(0), concat(kv, 0, false), concat(kv, 1, false), concat(kv, 0, true));
  }

  /**
   * Steps' [.., heads, 1, d] tensors joined along the sequence axis ([.., heads, n, d]), or, for
   * the K cache as the mesh keeps it, transposed: a new key is a new column of [.., heads, d, n],
   * so q·Kᵀ is a plain GEMV and nothing is transposed per token.
   */
  private static Tensor concat(List<Tensor[]> steps, int which, boolean columns) {
    Tensor first = steps.get(0)[which];
    long[] dims = first.shape().toArray();
    int d = (int) dims[dims.length - 1];
    int heads = first.size() / d;
    int n = steps.size();
    dims[dims.length - 2] = columns ? d : n;
    dims[dims.length - 1] = columns ? n : d;
    float[] out = new float[heads * n * d];
    for (int j = 0; j < n; j++) {
      float[] s = steps.get(j)[which].floats();
      for (int h = 0; h < heads; h++) {
        if (columns) {
          for (int c = 0; c < d; c++) {
            out[(h * d + c) * n + j] = s[h * d + c];
          }
        } else {
          System.arraycopy(s, h * d, out, (h * n + j) * d, d);
        }
      }
    }
    return Tensor.ofFloats(first.dtype(), Shape.of(dims), out);
  }

  /**
   * One token's attention, head by head, on the region's grid: scores = q · Kᵀ as a MeshGEMV over
   * the transposed K cache, the softmax row kernel (K-tree max and sum) on the fp32 scores, then
   * p · V as a MeshGEMV. A query head reads its group's kv head.
   */
  private Tensor attend(Attention a, List<Tensor> args, int grid) {
    float[] q = args.get(0).floats();
    Tensor kT = args.get(3);
    float[] v = args.get(2).floats();
    int heads = (int) a.heads();
    int kvHeads = (int) a.kvHeads();
    int d = (int) a.headDim();
    int n = (int) kT.shape().dim(-1);
    int dv = (int) args.get(2).shape().dim(-1);
    int batch = q.length / (heads * d);
    RowFn fn = RowFn.softmax(n, a.scale(), false, 0, false);
    float[] out = new float[batch * heads * dv];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int kh = b * kvHeads + h / (heads / kvHeads);
        String what = a.name() + " head " + h + " (decode)";
        float[] qh = java.util.Arrays.copyOfRange(q, (b * heads + h) * d, (b * heads + h + 1) * d);
        float[] kh2 = java.util.Arrays.copyOfRange(kT.floats(), kh * d * n, (kh + 1) * d * n);
        float[] vh = java.util.Arrays.copyOfRange(v, kh * n * dv, (kh + 1) * n * dv);
        RunResult s = MeshExecutor.run(gemv(d, n, grid), Map.of("A", qh, "B", kh2), what + " q·kᵀ", grid, machine);
        RunResult p = MeshExecutor.run(new RowWise(fn, 1, grid, grid, fp32), Map.of("X", s.c()), what + " softmax",
            grid, machine);
        RunResult o = MeshExecutor.run(gemv(n, dv, grid), Map.of("A", p.c(), "B", vh), what + " p·v", grid, machine);
        System.arraycopy(o.c(), 0, out, (b * heads + h) * dv, dv);
        meshCycles += s.cycles() + p.cycles() + o.cycles();
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
