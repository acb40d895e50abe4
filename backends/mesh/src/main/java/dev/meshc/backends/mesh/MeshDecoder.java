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
import dev.meshc.ir.kernel.KvShift;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.Local;
import dev.meshc.ir.op.Attention;
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
  private final Map<Integer, List<KernelProgram.Invocation>> program = new HashMap<>();
  private final Map<dev.meshc.ir.op.Op, KernelProgram.Expansion> expansion;
  private final List<KernelProgram.Invocation> executed = new ArrayList<>();
  private int position;
  private double meshCycles;
  private double overheadCycles;
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
    // what a step holds at its peak: every attention's cache (from its first step on), the largest
    // kernel's PEs and the largest weight as it is read (4 bytes a value)
    long kvBytes = 0;
    long kernel = 0;
    this.expansion = KernelProgram.kvExpansion(step.ops());
    for (KernelProgram.Invocation k : KernelProgram.decode(step.ops(), 0, 1, this::gridOf, context, fp32)) {
      program.computeIfAbsent(k.op(), x -> new ArrayList<>()).add(k);
      if (k.template() instanceof KvShift s) {
        kvBytes += 4L * s.width() * s.height() * (s.maxBytesPerPe() / 2);
      } else if (k.template() != null) {
        kernel = Math.max(kernel, MeshRuntime.functionalBytes(k.template()));
      }
    }
    long weight = 4 * step.weights().stream().mapToLong(w -> w.value().shape().elements()).max().orElse(0);
    // what the runtime keeps besides (traced routes: an eighth) and the collector's room
    String heap = MeshRuntime.heapTooSmall(String.format(java.util.Locale.ROOT, "a decode step of %s on its plan "
        + "(KV caches %.1f GiB, largest kernel %.1f GiB, largest weight %.1f GiB)", step.name(),
        kvBytes / 1073741824.0, kernel / 1073741824.0, weight / 1073741824.0), kvBytes + kernel + weight, 0.7);
    if (heap != null) {
      throw MeshcException.input("%s, or compile with a shorter --max-context", heap);
    }
  }

  /** The kernel program one step executes, in op order (the plan's decode program, read the runtime's way). */
  public List<KernelProgram.Invocation> executed() {
    return List.copyOf(executed);
  }

  /**
   * Step overheads of every mesh kernel run so far (the machine's fixed cost per kernel, as the
   * planner charges it).
   */
  public double overheadCycles() {
    return overheadCycles;
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

  /**
   * Runs one token at the next position, executing the decode kernel program; returns the model's
   * outputs (the logits). Ops the program gives to the host run with the reference semantics.
   */
  public Map<String, Tensor> next(Map<String, Tensor> token) {
    int[] rope = {0};
    boolean first = position == 0;
    MeshExecutor.Walk walk = new MeshExecutor.Walk(step, plan, true, machine);
    Map<String, Tensor> out = ReferenceEvaluator.run(step, token, weights, (op, r) -> { }, (i, op, args) -> {
      List<KernelProgram.Invocation> kernels = program.get(i);
      MeshExecutor.Moved mv = walk.enter(i, args);
      if (mv != null) {
        if (first) {
          executed.add(mv.kernel());
        }
        charge(mv.cycles() + mv.linkCycles(), 1);
        args = mv.args();
      }
      if (first) {
        executed.addAll(kernels);
      }
      KernelTemplate t = kernels.get(0).template();
      if (op instanceof Rope r) {
        float th = theta[rope[0]++];
        float[][] tab = Rope.tables(th > 0 ? th : r.theta(), (int) r.rotaryDim(), r.interleaved(), 1, position);
        Shape s = Shape.of(1, r.rotaryDim());
        args = List.of(args.get(0), Tensor.ofFloats(DType.F32, s, tab[0]), Tensor.ofFloats(DType.F32, s, tab[1]));
      } else if (op instanceof Embedding e && consts.containsKey(e.ids().name())) {
        // a constant index at one token is the position the trace froze, position 0 plus the
        // model's offset (OPT's learned positions start at 2): look up this step's
        Tensor ids = args.get(0);
        long[] at = new long[ids.size()];
        for (int k = 0; k < at.length; k++) {
          at[k] = ids.getLong(k) + position;
        }
        args = List.of(Tensor.ofLongs(ids.dtype(), ids.shape(), at), args.get(1));
      } else if (op instanceof Generic g && g.type().equals("Slice")
          && weightNames.contains(g.operands().get(0).name())) {
        return List.of(MeshExecutor.fp16(atPosition(g, args.get(0))));
      }
      if (op instanceof Attention a) {
        withCache(a, i, args, t);
        if (t != null) {
          return List.of(MeshExecutor.fp16(attend(a, args.get(0), i, kernels)));
        }
        // on the host: every position so far as [.., n, d]
        args = List.of(args.get(0), positions(a, rows.get(i), 0), positions(a, rows.get(i), 1));
      }
      if (t == null) {
        return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
      }
      int grid = gridOf(i);
      String what = op.name() + " (decode)";
      RunResult r;
      KernelProgram.Expansion x = expansion.get(op); // K and V expanded to the query heads, as the program runs them
      float[] c;
      if (op instanceof Linear) {
        float[] w = args.get(1).floats();
        r = MeshExecutor.run(t, Map.of("A", args.get(0).floats(), "B", x == null || !(t instanceof GemvKernel)
            ? w : expandColumns(w, args.get(1).shape().dim(0), x)), what, grid, machine);
        gemvs[t instanceof GemvKernel g && g.alongX() ? 1 : 0]++;
        c = MeshExecutor.addBias(x == null ? r.c() : compact(r.c(), x), args, true);
      } else if (t instanceof Local l) {
        List<Tensor> in = args;
        if (x != null && l.problem().m() * args.get(0).shape().dim(-1) != args.get(0).size()) {
          in = new ArrayList<>(args);
          float[] v = expand(args.get(0).floats(), x);
          in.set(0, Tensor.ofFloats(DType.F32, Shape.of(v.length / x.width(), 1, x.width()), v));
        }
        r = MeshExecutor.local(l, op, what, in, grid, machine);
        c = in == args ? r.c() : compact(r.c(), x);
      } else {
        r = MeshExecutor.norm(t, args, what, grid, machine);
        c = r.c();
      }
      charge(r.cycles(), kernels.get(0).count());
      Tensor res = Tensor.ofFloats(DType.F32, op.result().shape(), c);
      return List.of(op instanceof Linear ? MeshExecutor.fp16(res) : res);
    });
    position++;
    return out;
  }

  /** Rows of {@code x.width()} values, each repeated {@code x.group()} times ({@link KernelProgram.Expansion}). */
  static float[] expand(float[] v, KernelProgram.Expansion x) {
    int w = (int) x.width();
    int g = (int) x.group();
    float[] out = new float[v.length * g];
    for (int e = 0; e < out.length / w; e++) {
      System.arraycopy(v, x.compactRow(e) * w, out, e * w, w);
    }
    return out;
  }

  /**
   * The compact rows back from expanded ones: each compact row from the first expanded row that
   * copies it ({@link KernelProgram.Expansion#compactRow}; later copies are the same values).
   */
  static float[] compact(float[] v, KernelProgram.Expansion x) {
    int w = (int) x.width();
    float[] out = new float[(int) (v.length / x.group())];
    for (int e = v.length / w - 1; e >= 0; e--) { // backwards, so the first copy is written last
      System.arraycopy(v, e * w, out, x.compactRow(e) * w, w);
    }
    return out;
  }

  /** A [k, n] weight's columns in blocks of {@code x.width()}, each block the one {@link #expand} puts there. */
  static float[] expandColumns(float[] w, long k, KernelProgram.Expansion x) {
    int n = (int) (w.length / k);
    int width = (int) x.width();
    int wide = (int) (n * x.group());
    float[] out = new float[w.length * (int) x.group()];
    for (int row = 0; row < k; row++) {
      for (int e = 0; e < wide / width; e++) {
        System.arraycopy(w, row * n + x.compactRow(e) * width, out, row * wide + e * width, width);
      }
    }
    return out;
  }

  /** A kernel step's simulated cycles, and the step overhead of each of its {@code runs}. */
  private void charge(double cycles, long runs) {
    meshCycles += cycles;
    overheadCycles += runs * machine.stepOverhead();
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
   * This step's K and V appended to the op's cache as the program stores them (an entry holds,
   * for every query head, its kv head's K then V: {@link KernelProgram#kvEntry}), and placed on
   * its region's rows by the shift-based cache; on the mesh, the KV-shift step of the program.
   */
  private void withCache(Attention a, int op, List<Tensor> args, KernelTemplate onMesh) {
    int grid = Math.max(1, gridOf(op)); // the rows of the region that holds this attention's layer
    float[] k = args.get(1).floats();
    float[] v = args.get(2).floats();
    int heads = (int) a.heads();
    int kvHeads = (int) a.kvHeads();
    int d = (int) a.headDim();
    int dv = (int) a.v().shape().dim(-1);
    int batch = k.length / (kvHeads * d);
    float[] entry = new float[KernelProgram.kvOffset(a, (long) batch * heads, false)];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int g = a.kvHead(b * heads + h);
        System.arraycopy(k, g * d, entry, KernelProgram.kvOffset(a, b * heads + h, false), d);
        System.arraycopy(v, g * dv, entry, KernelProgram.kvOffset(a, b * heads + h, true), dv);
      }
    }
    // the slots per row are the program's (its KV-shift step's); on the host one row holds them all
    int slots = onMesh instanceof KvShift s ? s.slots() : context;
    MeshKvCache r = rows.computeIfAbsent(op, x -> new MeshKvCache(grid, grid, slots, entry.length));
    double before = r.cycles();
    r.append(entry, machine);
    if (onMesh != null) {
      charge(r.cycles() - before, 1);
    }
    int[] o = r.policy().occupancy();
    spread = Math.max(spread, java.util.stream.IntStream.of(o).max().orElse(0)
        - java.util.stream.IntStream.of(o).min().orElse(0));
  }

  /**
   * K ({@code which} 0) or V (1) of every position so far, read from the cache's slots, as [..,
   * kv heads, n, d]: what attention on the host takes (a kv head from its group's first query
   * head's part of the entry).
   */
  private static Tensor positions(Attention a, MeshKvCache kc, int which) {
    Value step = which == 0 ? a.k() : a.v();
    long[] dims = step.shape().toArray();
    int dim = (int) dims[dims.length - 1];
    int kvHeads = (int) a.kvHeads();
    int heads = (int) a.heads();
    int rowsOf = (int) (step.shape().elements() / dim); // batch × kv heads
    int n = kc.policy().tokens();
    dims[dims.length - 2] = n;
    float[] out = new float[rowsOf * n * dim];
    for (int y = 0; y < kc.rows(); y++) {
      for (int slot = 0; slot < kc.extent(); slot++) {
        int t = kc.token(y, slot);
        for (int g = 0; t >= 0 && g < rowsOf; g++) {
          int h = g / kvHeads * heads + g % kvHeads * (heads / kvHeads);
          int off = KernelProgram.kvOffset(a, h, which == 1);
          for (int e = 0; e < dim; e++) {
            out[(g * n + t) * dim + e] = kc.value(y, slot, off + e);
          }
        }
      }
    }
    return Tensor.ofFloats(step.dtype(), Shape.of(dims), out);
  }

  /**
   * One token's attention as the program runs it ({@code kernels}: the KV shift, then q·Kᵀ, the
   * softmax and p·V per head band): row y of the region holds the tokens the shift-based policy
   * gave row y, a token's entry in one slot of that row, every slot of every row read (the free
   * ones masked out). q·Kᵀ is the MeshGEMV split along X whose weight rows lie along Y: each PE
   * reads its slots' keys as stored, nothing is transposed; the softmax row kernel (K-tree max and
   * sum) runs on the fp32 scores; p · V is the MeshGEMV whose weight rows (the slots) lie along Y,
   * the same rows. The program's lanes heads run side by side, each on its band, so a round of
   * them takes what one head's kernels take; rounds follow one another.
   */
  private Tensor attend(Attention a, Tensor query, int op, List<KernelProgram.Invocation> kernels) {
    MeshKvCache kc = rows.get(op);
    KernelProgram.Invocation scoresK = kernels.get(1);
    KernelTemplate softmaxT = kernels.get(2).template();
    KernelTemplate pvT = kernels.get(3).template();
    int per = kc.slots();
    int slots = per * kc.rows();
    if (slots != scoresK.template().problem().n()) {
      throw new IllegalStateException("the program reads " + scoresK.template().problem().n() + " cache slots, the "
          + "cache has " + slots);
    }
    int[] token = new int[slots];
    float[] mask = new float[slots];
    for (int s = 0; s < slots; s++) {
      token[s] = kc.token(s / per, s % per);
      mask[s] = token[s] < 0 ? Float.NEGATIVE_INFINITY : 0f;
    }
    float[] q = query.floats();
    int heads = (int) a.heads();
    int d = (int) a.headDim();
    int dv = (int) a.v().shape().dim(-1);
    int batch = q.length / (heads * d);
    int lanes = scoresK.lanes();
    int grid = gridOf(op);
    float[] out = new float[batch * heads * dv];
    for (int b = 0; b < batch; b++) {
      for (int h0 = 0; h0 < heads; h0 += lanes) {
        double[] most = new double[3]; // the round's slowest lane, per kernel
        for (int h = h0; h < Math.min(heads, h0 + lanes); h++) {
          int bh = b * heads + h;
          String what = a.name() + " head " + h + " (decode)";
          float[] qh = java.util.Arrays.copyOfRange(q, bh * d, (bh + 1) * d);
          float[] keys = new float[d * slots]; // Kᵀ [d, slots] as the GEMV reads it
          float[] values = new float[slots * dv];
          for (int s = 0; s < slots; s++) {
            if (token[s] >= 0) { // the head's part of the entry: K, then V
              int kAt = KernelProgram.kvOffset(a, bh, false);
              int vAt = KernelProgram.kvOffset(a, bh, true);
              for (int c = 0; c < d; c++) {
                keys[c * slots + s] = kc.value(s / per, s % per, kAt + c);
              }
              for (int c = 0; c < dv; c++) {
                values[s * dv + c] = kc.value(s / per, s % per, vAt + c);
              }
            }
          }
          RunResult sc = MeshExecutor.run(scoresK.template(), Map.of("A", qh, "B", keys), what + " q·kᵀ", grid,
              machine);
          RunResult p = MeshExecutor.run(softmaxT, Map.of("X", sc.c(), "Mask", mask), what + " softmax", grid,
              machine);
          RunResult o = MeshExecutor.run(pvT, Map.of("A", p.c(), "B", values), what + " p·v", grid, machine);
          System.arraycopy(o.c(), 0, out, bh * dv, dv);
          most[0] = Math.max(most[0], sc.cycles());
          most[1] = Math.max(most[1], p.cycles());
          most[2] = Math.max(most[2], o.cycles());
        }
        charge(most[0] + most[1] + most[2], 3);
      }
    }
    return Tensor.ofFloats(DType.F32, a.result().shape(), out);
  }

  private int gridOf(int i) {
    return MeshExecutor.gridOf(step, plan, i, step.layers().isEmpty() ? 0
        : step.layers().get(step.layers().size() - 1).end());
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
