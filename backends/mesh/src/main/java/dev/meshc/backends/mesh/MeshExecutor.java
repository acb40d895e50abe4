package dev.meshc.backends.mesh;

import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import dev.meshc.ir.eval.WeightStore;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.Shape;
import dev.meshc.ir.onnx.Broadcast;
import dev.meshc.ir.kernel.Local;
import dev.meshc.ir.kernel.LocalFn;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.Value;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.Rope;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Runs a placed module's prefill on the mesh runtime with real numbers, op by op, on the grid of
 * the region that holds the op's layer, executing exactly the {@link KernelProgram} the plan was
 * priced with: every template is built from the program's invocations (a linear projection's
 * MeshGEMM, its bias then added on the PEs' tiles; the norms' row all-reduce kernel; attention's
 * dist-GEMM-T, softmax row kernel and MeshGEMM per head; the local kernels, each PE on its own
 * tile). Ops the program gives to the host run with the reference semantics. Every activation is
 * stored as fp16 between ops, as on the wafer; a model output that a kernel computes is read from
 * its accumulator (fp32 when accumulating in fp32). The walk, weight streaming (one weight at a
 * time, when first needed) and value lifetimes are the reference evaluator's.
 */
public final class MeshExecutor {
  private MeshExecutor() {}

  /**
   * Where one op ran and, on the mesh, the cycles its kernels took as simulated, and the
   * machine's per-kernel step overhead for each of them (a fixed cost the simulation does not see:
   * the planner charges it too).
   */
  public record OpTrace(int index, String op, String where, double cycles, double overheadCycles) {}

  /** The model outputs, the per-op record, and the kernel program as executed. */
  public record Result(Map<String, Tensor> outputs, List<OpTrace> trace, List<KernelProgram.Invocation> kernels) {
    /** Cycles of the mesh kernels as simulated. */
    public double meshCycles() {
      return trace.stream().mapToDouble(OpTrace::cycles).sum();
    }

    /** The simulated cycles and each kernel's step overhead: what the plan's prediction stands for. */
    public double simulatedCycles() {
      return trace.stream().mapToDouble(t -> t.cycles() + t.overheadCycles()).sum();
    }

    /** Ops that ran on the mesh (hand-offs between regions are moves, not ops). */
    public long meshOps() {
      return trace.stream().filter(t -> t.where().startsWith("mesh")).count();
    }

    public long hostOps() {
      return trace.stream().filter(t -> t.where().equals("host")).count();
    }
  }

  /**
   * A wrong result planted in one kernel, so that {@link #check} can be seen to find it: {@code
   * delta} is added to every value of PE (0,0)'s tile of op {@code op}'s result, as a PE that
   * computed garbage would.
   */
  public record Fault(int op, float delta) {}

  public static Result prefill(Module m, Map<String, Tensor> inputs, WeightStore weights, MachineSpec machine,
      boolean fp32Accumulate) {
    return prefill(m, inputs, weights, machine, fp32Accumulate, null, (op, results) -> { });
  }

  /** As above, showing each op's results to {@code observer}, with {@code fault} planted (or null). */
  public static Result prefill(Module m, Map<String, Tensor> inputs, WeightStore weights, MachineSpec machine,
      boolean fp32Accumulate, Fault fault, BiConsumer<Op, List<Tensor>> observer) {
    Placement plan = placement(m, "prefill");
    int lastLayer = m.layers().isEmpty() ? 0 : m.layers().get(m.layers().size() - 1).end();
    List<OpTrace> trace = new ArrayList<>();
    List<KernelProgram.Invocation> executed = new ArrayList<>();
    Set<String> outputs = new HashSet<>();
    m.outputs().forEach(v -> outputs.add(v.name()));
    Walk walk = new Walk(m, plan, false, machine);
    Map<String, Tensor> out = ReferenceEvaluator.run(m, inputs, weights, observer, (i, op, args) -> {
      int grid = gridOf(m, plan, i, lastLayer);
      Moved mv = walk.enter(i, args);
      if (mv != null) {
        executed.add(mv.kernel());
        trace.add(new OpTrace(i, "hand-off", "fabric", mv.cycles() + mv.linkCycles(), machine.stepOverhead()));
        args = mv.args();
      }
      List<KernelProgram.Invocation> program = prefillKernels(op, i, grid, fp32Accumulate);
      executed.addAll(program);
      KernelTemplate t = program.get(0).template();
      if (t == null) {
        trace.add(new OpTrace(i, op.name(), "host", 0, 0));
        return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
      }
      String what = "op " + i + " (" + op.name() + ")";
      // a model output is read from the kernel's accumulator (fp32 when accumulating in fp32);
      // an activation the next op reads is stored in fp16
      boolean keep = fp32Accumulate && outputs.contains(op.result().name()) && op instanceof Linear;
      double[] cycles = new double[1];
      float[] c;
      if (op instanceof Linear) {
        RunResult r = run(t, Map.of("A", args.get(0).floats(), "B", args.get(1).floats()), what, grid, machine);
        cycles[0] = r.cycles();
        c = addBias(r.c(), args, keep);
      } else if (op instanceof Attention a) {
        c = attention(a, program, what, args, grid, machine, cycles);
      } else if (t instanceof Local l) {
        RunResult r = local(l, op, what, args, grid, machine);
        cycles[0] = r.cycles();
        c = r.c();
      } else {
        RunResult r = norm(t, args, what, grid, machine);
        cycles[0] = r.cycles();
        c = r.c();
      }
      long runs = program.stream().mapToLong(KernelProgram.Invocation::count).sum();
      trace.add(new OpTrace(i, op.name(), "mesh " + grid + "x" + grid, cycles[0], runs * machine.stepOverhead()));
      if (fault != null && fault.op() == i) {
        plant(fault, c, op.result().shape().dim(op.result().shape().rank() - 1), grid);
      }
      Tensor res = Tensor.ofFloats(DType.F32, op.result().shape(), c);
      return List.of(keep ? res : fp16(res));
    });
    return new Result(out, List.copyOf(trace), List.copyOf(executed));
  }

  /**
   * The phase {@code phase} of placed module {@code m} for time alone: every kernel and every move
   * of the plan's program simulated without values (no weight is read, so a model of shapes alone
   * runs), each kernel run charged its simulated cycles and the step overhead, as the functional
   * runs charge them. Prefill runs the whole prompt; decode one token's step with the cache at
   * {@code context} (the step module is the model lifted at one token). A template is simulated once
   * however many times the program runs it: with no values its time is the template's alone.
   */
  public static Result timing(Module m, String phase, MachineSpec machine, boolean fp32, long context) {
    Placement plan = placement(m, phase);
    boolean decode = phase.equals("decode");
    int lastLayer = m.layers().isEmpty() ? 0 : m.layers().get(m.layers().size() - 1).end();
    List<KernelProgram.Invocation> program = decode
        ? KernelProgram.decode(m.ops(), 0, 1, i -> gridOf(m, plan, i, lastLayer), context, fp32)
        : new ArrayList<>();
    if (!decode) {
      for (int i = 0; i < m.ops().size(); i++) {
        program.addAll(prefillKernels(m.ops().get(i), i, gridOf(m, plan, i, lastLayer), fp32));
      }
    }
    Map<String, Double> timed = new java.util.HashMap<>();
    List<OpTrace> trace = new ArrayList<>();
    List<KernelProgram.Invocation> executed = new ArrayList<>();
    Walk walk = new Walk(m, plan, decode, machine);
    int k = 0;
    for (int i = 0; i < m.ops().size(); i++) {
      Op op = m.ops().get(i);
      Placement.Region[] move = walk.move(i, !op.operands().isEmpty());
      if (move != null) {
        Value x = op.operands().get(0);
        long width = x.shape().dim(x.shape().rank() - 1);
        KernelProgram.Invocation h = handoffKernel(i, move[0], move[1], width, x.shape().elements() / width, decode);
        executed.add(h);
        trace.add(new OpTrace(i, "hand-off", "fabric", MeshRuntime.timing(h.template(), machine).cycles()
            + linkCycles(move[0], move[1], x.shape().elements(), machine), machine.stepOverhead()));
      }
      double cycles = 0;
      long runs = 0;
      String where = "host";
      for (; k < program.size() && program.get(k).op() == i; k++) {
        KernelProgram.Invocation inv = program.get(k);
        executed.add(inv);
        KernelTemplate t = inv.template();
        if (t != null) {
          cycles += inv.count() * timed.computeIfAbsent(sameTime(t, machine),
              key -> MeshRuntime.timing(t, machine).cycles());
          runs += inv.count();
          where = "mesh " + t.width() + "x" + t.height();
        }
      }
      trace.add(new OpTrace(i, op.name(), where, cycles, runs * machine.stepOverhead()));
    }
    return new Result(Map.of(), List.copyOf(trace), List.copyOf(executed));
  }

  /**
   * Op {@code i}'s prefill kernels on a region of side {@code grid}; outside every region (the
   * embedding before the first layer) the host.
   */
  private static List<KernelProgram.Invocation> prefillKernels(Op op, int i, int grid, boolean fp32) {
    return grid == 0 ? List.of(new KernelProgram.Invocation(i, KernelProgram.HOST, null, 1, false))
        : KernelProgram.lower(op, i, -1, -1, grid, fp32);
  }

  /** The placed module's plan of {@code phase}, refused in one line when absent or infeasible. */
  private static Placement placement(Module m, String phase) {
    Placement plan = m.placements().stream().filter(p -> p.phase().equals(phase)).findFirst()
        .orElseThrow(() -> MeshcException.input("%s has no %s placement: compile it first (meshc compile "
            + "--emit tir)", m.name(), phase));
    if (plan.regions().isEmpty()) {
      throw MeshcException.input("%s: its %s plan is infeasible: %s", m.name(), phase,
          plan.info().getString("explanation", "no regions"));
    }
    return plan;
  }

  /**
   * What a template's time depends on: its kind and function, problem, grid, rounds, colours,
   * bytes and closed form. The layers of a region build equal templates, simulated once.
   */
  private static String sameTime(KernelTemplate t, MachineSpec machine) {
    Object fn = t instanceof RowWise r ? r.fn() : t instanceof Local l ? l.fn()
        : t instanceof GemvKernel g ? g.alongX() : "";
    return String.join("|", t.getClass().getName(), t.algorithm(), String.valueOf(fn), t.problem().toString(),
        t.padded().toString(), t.width() + "x" + t.height(), String.valueOf(t.rounds()), String.valueOf(t.colors()),
        String.valueOf(t.maxBytesPerPe()), String.valueOf(t.maxColorsPerPe()),
        String.valueOf(t.estimate(machine).cycles()));
  }

  /** The local kernel's function of an op (the kernel program's rule): null for an op with none. */
  static LocalFn localFn(Op op) {
    return KernelProgram.localFn(op);
  }

  /**
   * A local op as the {@link Local} kernel over its tensor viewed as [rows, last axis], in {@code
   * layout} on the region's grid (decode's layouts; prefill's comes from the kernel program).
   */
  static RunResult local(Op op, String what, List<Tensor> args, Local.Layout layout, int grid, MachineSpec machine) {
    Tensor x = args.get(0);
    long cols = x.shape().dim(x.shape().rank() - 1);
    return local(new Local(localFn(op), x.shape().elements() / cols, cols, layout, grid, grid), op, what, args, grid,
        machine);
  }

  /**
   * Runs local kernel {@code t} for {@code op}. RoPE's tables, from the op's operands or from θ,
   * are given per row: row r is at position r mod S.
   */
  static RunResult local(Local t, Op op, String what, List<Tensor> args, int grid, MachineSpec machine) {
    LocalFn fn = localFn(op);
    Tensor x = args.get(0);
    int rows = (int) t.problem().m();
    Map<String, float[]> in = new java.util.HashMap<>();
    in.put("A", x.floats());
    if (fn.binary()) {
      in.put("B", args.get(1).floats());
    }
    if (op instanceof Rope r) {
      int rd = (int) r.rotaryDim();
      int s = (int) x.shape().dim(-2);
      float[][] tab = args.size() == 3 ? new float[][] {args.get(1).floats(), args.get(2).floats()}
          : r.tables(s, 0);
      float[] cos = new float[rows * rd];
      float[] sin = new float[rows * rd];
      for (int row = 0; row < rows; row++) {
        int p = row % s;
        System.arraycopy(tab[0], p * rd, cos, row * rd, rd);
        System.arraycopy(tab[1], p * rd, sin, row * rd, rd);
      }
      in.put("COS", cos);
      in.put("SIN", sin);
    }
    return run(t, in, what, grid, machine);
  }

  /** Adds the fault's delta to PE (0,0)'s tile of a result laid out [rows, n] over the grid. */
  private static void plant(Fault fault, float[] c, long n, int grid) {
    long rows = c.length / n;
    for (long y = 0; y < (rows + grid - 1) / grid; y++) {
      for (long x = 0; x < (n + grid - 1) / grid; x++) {
        c[(int) (y * n + x)] += fault.delta();
      }
    }
  }

  /** A LayerNorm or RMSNorm over the last axis: the row all-reduce kernel on the region's grid (decode). */
  static RunResult norm(Op op, String what, List<Tensor> args, int grid, MachineSpec machine) {
    return norm(KernelProgram.lower(op, -1, -1, -1, grid, false).get(0).template(), args, what, grid, machine);
  }

  /** Runs row kernel {@code t} on a norm's operands: X, and γ and β when given. */
  static RunResult norm(KernelTemplate t, List<Tensor> args, String what, int grid, MachineSpec machine) {
    Map<String, float[]> in = new java.util.HashMap<>();
    in.put("X", args.get(0).floats());
    if (args.size() > 1) {
      in.put("W", args.get(1).floats());
    }
    if (args.size() > 2) {
      in.put("B", args.get(2).floats());
    }
    return run(t, in, what, grid, machine);
  }

  /**
   * Attention, head by head, the paper's prefill way: scores = q·kᵀ by dist-GEMM-T (k stays as
   * its projection left it: no transpose), the softmax (scale, mask, causal) by the row
   * all-reduce kernel reading the scores from the fp32 accumulator, then p·v by MeshGEMM. A query
   * head reads its group's kv head (GQA/MQA). Heads run one after another; their cycles add up.
   */
  static float[] attention(Attention a, List<KernelProgram.Invocation> program, String what, List<Tensor> args,
      int grid, MachineSpec machine, double[] cycles) {
    Tensor q = args.get(0);
    Tensor k = args.get(1);
    Tensor v = args.get(2);
    int heads = (int) a.heads();
    int sq = (int) q.shape().dim(-2);
    int d = (int) q.shape().dim(-1);
    int sk = (int) k.shape().dim(-2);
    int dv = (int) v.shape().dim(-1);
    int batch = (int) (q.shape().elements() / ((long) heads * sq * d));
    long[] sd = q.shape().toArray();
    sd[sd.length - 1] = sk;
    Tensor mask = args.size() > 3 ? args.get(3) : null;
    int[] maskAt = mask == null ? null : Broadcast.offsets(mask.shape(), Shape.of(sd));
    KernelTemplate scoresT = program.get(0).template(); // the program's three kernels, per head
    KernelTemplate softmaxT = program.get(1).template();
    KernelTemplate pvT = program.get(2).template();
    float[] out = new float[batch * heads * sq * dv];
    // the heads are independent runs: simulated side by side on the host's cores, their results
    // and cycles taken in head order, so any number of cores gives the same bytes
    Object[] done = java.util.stream.IntStream.range(0, batch * heads).parallel().mapToObj(bh -> {
      try {
        int h = bh % heads;
        int kh = a.kvHead(bh);
        String head = what + " head " + h;
        float[] qh = java.util.Arrays.copyOfRange(q.floats(), bh * sq * d, (bh + 1) * sq * d);
        float[] khd = java.util.Arrays.copyOfRange(k.floats(), kh * sk * d, (kh + 1) * sk * d);
        float[] vh = java.util.Arrays.copyOfRange(v.floats(), kh * sk * dv, (kh + 1) * sk * dv);
        RunResult scores = run(scoresT, Map.of("A", qh, "B", khd), head + " q·kᵀ", grid, machine);
        Map<String, float[]> in = new java.util.HashMap<>();
        in.put("X", scores.c());
        if (mask != null) {
          float[] mh = new float[sq * sk];
          for (int e = 0; e < mh.length; e++) {
            mh[e] = mask.floats()[maskAt[bh * sq * sk + e]];
          }
          in.put("Mask", mh);
        }
        RunResult p = run(softmaxT, in, head + " softmax", grid, machine);
        RunResult o = run(pvT, Map.of("A", p.c(), "B", vh), head + " p·v", grid, machine);
        return (Object) new RunResult[] {scores, p, o};
      } catch (RuntimeException e) {
        return e;
      }
    }).toArray();
    for (int bh = 0; bh < done.length; bh++) {
      if (done[bh] instanceof RuntimeException e) {
        throw e; // the first head's failure, whichever core met it first
      }
      RunResult[] r = (RunResult[]) done[bh];
      System.arraycopy(r[2].c(), 0, out, bh * sq * dv, sq * dv);
      cycles[0] += r[0].cycles() + r[1].cycles() + r[2].cycles();
    }
    return out;
  }

  /** Runs one kernel with real numbers; one too big to simulate with values is refused naming {@code what}. */
  static RunResult run(KernelTemplate t, Map<String, float[]> inputs, String what, int grid, MachineSpec machine) {
    try {
      return MeshRuntime.functional(t, machine, inputs);
    } catch (MeshcException e) {
      throw MeshcException.input("%s on its region's %dx%d grid: %s; to run a model with real numbers, compile it "
          + "with a small grid (e.g. --grid 16)", what, grid, grid, e.getMessage());
    }
  }

  /** How far one op's mesh result is from the reference evaluator's (fp32 everywhere). */
  public record Divergence(int index, Op op, double pcc, double maxAbs) {}

  /**
   * Compares every op's mesh result ({@code mesh}, one list per op in body order, as a {@link
   * #prefill} observer collects them) with the fp32 reference evaluator's: the first op whose
   * Pearson correlation falls below {@code minPcc} (or whose values are not finite) is returned, or
   * null when none does. Ops are compared on their own outputs, so an error upstream shows first
   * where it starts.
   */
  public static Divergence check(Module m, Map<String, Tensor> inputs, WeightStore weights,
      List<List<Tensor>> mesh, double minPcc) {
    List<List<Tensor>> ref = new ArrayList<>();
    ReferenceEvaluator.run(m, inputs, weights, (op, results) -> ref.add(results));
    for (int i = 0; i < m.ops().size(); i++) {
      for (int r = 0; r < ref.get(i).size(); r++) {
        Tensor a = mesh.get(i).get(r);
        Tensor b = ref.get(i).get(r);
        if (!a.dtype().isFloating()) {
          continue;
        }
        double[] d = compare(a.floats(), b.floats());
        if (!(d[0] >= minPcc)) {
          return new Divergence(i, m.ops().get(i), d[0], d[1]);
        }
      }
    }
    return null;
  }

  /**
   * Pearson correlation (1 for two equal constant tensors) and max abs difference, over values
   * clamped to fp16's range: an additive mask of float32's minimum is −inf in fp16 storage.
   */
  public static double[] compare(float[] a0, float[] b0) {
    float[] a = clamp(a0);
    float[] b = clamp(b0);
    double ma = 0;
    double mb = 0;
    double maxAbs = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
      maxAbs = Math.max(maxAbs, Math.abs((double) a[i] - b[i]));
    }
    ma /= a.length;
    mb /= a.length;
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    double pcc = saa == 0 && sbb == 0 ? (maxAbs == 0 ? 1 : 0) : sab / Math.sqrt(saa * sbb);
    return new double[] {Double.isNaN(maxAbs) ? Double.NaN : pcc, maxAbs};
  }

  private static float[] clamp(float[] v) {
    float[] r = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      r[i] = Math.max(-65504f, Math.min(65504f, v[i]));
    }
    return r;
  }

  /** The grid of the region running op {@code i}: its layer's, or the last region's for the LM head; 0: host. */
  static int gridOf(Module m, Placement plan, int i, int lastLayer) {
    Placement.Region r = regionOf(m, plan, i, lastLayer);
    return r == null ? 0 : (int) r.info().requireInt("grid");
  }

  /** The region running op {@code i}: its layer's, or the last region for the LM head; null: the host. */
  static Placement.Region regionOf(Module m, Placement plan, int i, int lastLayer) {
    Layer l = m.layerOf(i);
    for (Placement.Region r : plan.regions()) {
      long[] range = r.info().getInts("layers");
      boolean here = l != null ? l.index() >= range[0] && l.index() < range[1]
          : i >= lastLayer && r.info().getInt("lm_head", 0) == 1;
      if (here) {
        return r;
      }
    }
    return null;
  }

  /**
   * A hand-off as run: the program's entry, the op's operands with the activation where it
   * arrived, the fabric's cycles and, between wafers, the system link's.
   */
  record Moved(KernelProgram.Invocation kernel, List<Tensor> args, double cycles, double linkCycles) {}

  /**
   * The walk over a placed module's ops in order: where the last op with a region ran, and the
   * hand-off the program puts before an op that runs in another region (its first operand, the
   * residual, moved there).
   */
  static final class Walk {
    private final Module m;
    private final Placement plan;
    private final boolean decode;
    private final MachineSpec machine;
    private final int lastLayer;
    private Placement.Region at;

    Walk(Module m, Placement plan, boolean decode, MachineSpec machine) {
      this.m = m;
      this.plan = plan;
      this.decode = decode;
      this.machine = machine;
      this.lastLayer = m.layers().isEmpty() ? 0 : m.layers().get(m.layers().size() - 1).end();
    }

    /** Op {@code i} with operands {@code args} comes next: the hand-off into its region, or null. */
    Moved enter(int i, List<Tensor> args) {
      Placement.Region[] move = move(i, !args.isEmpty());
      return move == null ? null : handoff(i, move[0], move[1], args, decode, machine);
    }

    /**
     * Op {@code i} comes next: the regions it moves its first operand between ({from, to}) when
     * it starts another region and has operands, else null.
     */
    Placement.Region[] move(int i, boolean operands) {
      Placement.Region region = regionOf(m, plan, i, lastLayer);
      Placement.Region[] move = region != null && at != null && region.index() != at.index() && operands
          ? new Placement.Region[] {at, region} : null;
      if (region != null) {
        at = region;
      }
      return move;
    }
  }

  /**
   * Hands activation {@code x} on from region {@code from} to region {@code to} before op {@code
   * op} (the program's {@link KernelProgram#handoff}): each row of {@code from} sends its part
   * over the fabric, decode's slice of the vector or prefill's rows of tokens; across wafers the
   * system's link as well.
   */
  static Moved handoff(int op, Placement.Region from, Placement.Region to, List<Tensor> args, boolean decode,
      MachineSpec machine) {
    Tensor x = args.get(0);
    int p = (int) from.info().requireInt("grid");
    int width = (int) x.shape().dim(x.shape().rank() - 1);
    KernelProgram.Invocation k = handoffKernel(op, from, to, width, x.shape().elements() / width, decode);
    int per = ((Handoff) k.template()).values();
    float[] v = x.floats();
    float[] lines = new float[p * per];
    // line y: decode's values y·per… of the vector; prefill's rows y·(per / width)… of tokens, whole
    for (int y = 0; y < p; y++) {
      int from0 = y * per;
      System.arraycopy(v, Math.min(from0, v.length), lines, y * per, Math.max(0, Math.min(per, v.length - from0)));
    }
    RunResult r = run(k.template(), Map.of("A", lines), "the hand-off before op " + op, p, machine);
    float[] moved = java.util.Arrays.copyOf(r.c(), v.length);
    double link = linkCycles(from, to, v.length, machine);
    List<Tensor> arrived = new ArrayList<>(args);
    arrived.set(0, Tensor.ofFloats(x.dtype(), x.shape(), moved));
    return new Moved(k, arrived, r.cycles(), link);
  }

  /** A region's wafer and corner, as the hand-off between regions reads them. */
  /** The system link's cycles for {@code elements} fp16 values from {@code from} to {@code to}: none on one wafer. */
  private static double linkCycles(Placement.Region from, Placement.Region to, long elements, MachineSpec machine) {
    return from.info().getInt("wafer", 0) != to.info().getInt("wafer", 0) ? machine.waferLinkCycles(2L * elements) : 0;
  }

  /** The program's hand-off of an activation of {@code rows} rows of {@code width} from {@code from} to {@code to}. */
  private static KernelProgram.Invocation handoffKernel(int op, Placement.Region from, Placement.Region to,
      long width, long rows, boolean decode) {
    return KernelProgram.handoff(op, corner(from), corner(to), (int) from.info().requireInt("grid"),
        (int) to.info().requireInt("grid"), width, decode ? 0 : rows);
  }

  private static int[] corner(Placement.Region r) {
    return new int[] {(int) r.info().getInt("wafer", 0), (int) r.info().getInt("x", 0), (int) r.info().getInt("y", 0)};
  }

  /** Adds the bias (fp16 on the PEs) to each row; in fp32 when the result stays in the accumulator. */
  static float[] addBias(float[] c, List<Tensor> args, boolean fp32) {
    if (args.size() > 2) {
      float[] b = args.get(2).floats();
      for (int i = 0; i < c.length; i++) {
        float v = c[i] + Fp16.round(b[i % b.length]);
        c[i] = fp32 ? v : Fp16.round(v);
      }
    }
    return c;
  }

  /** Activations live in fp16 on the wafer: a float tensor is rounded to it; integer ones pass. */
  public static Tensor fp16(Tensor t) {
    if (!t.dtype().isFloating()) {
      return t;
    }
    float[] v = t.floats().clone();
    for (int i = 0; i < v.length; i++) {
      v[i] = Fp16.round(v[i]);
    }
    return Tensor.ofFloats(t.dtype(), t.shape(), v);
  }
}
