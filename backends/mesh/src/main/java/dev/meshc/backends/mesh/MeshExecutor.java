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
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Runs a placed module's prefill on the mesh runtime with real numbers, op by op, as far as mesh
 * kernels go today: every linear projection is a MeshGEMM on the grid of the region that holds
 * its layer (fp16 operands, fp32 or fp16 accumulation), its bias added on the PEs' tiles; ops with
 * no mesh kernel yet (norms, attention, activations, head reshapes, the embedding lookup) run on
 * the host with the reference semantics. Every activation is stored as fp16 between ops, as on
 * the wafer; a model output that a kernel computes is read from its accumulator (fp32 when
 * accumulating in fp32). The walk, weight streaming (one weight at a time, when first needed) and value
 * lifetimes are the reference evaluator's.
 */
public final class MeshExecutor {
  private MeshExecutor() {}

  /** Where one op ran and, on the mesh, the cycles its kernel took. */
  public record OpTrace(int index, String op, String where, double cycles) {}

  /** The model outputs, and the per-op record. */
  public record Result(Map<String, Tensor> outputs, List<OpTrace> trace) {
    /** Cycles of the ops that ran on the mesh. */
    public double meshCycles() {
      return trace.stream().mapToDouble(OpTrace::cycles).sum();
    }

    public long meshOps() {
      return trace.stream().filter(t -> !t.where().equals("host")).count();
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
    Placement plan = m.placements().stream().filter(p -> p.phase().equals("prefill")).findFirst()
        .orElseThrow(() -> MeshcException.input("%s has no prefill placement: compile it first (meshc compile "
            + "--emit tir)", m.name()));
    if (plan.regions().isEmpty()) {
      throw MeshcException.input("%s: its prefill plan is infeasible: %s", m.name(),
          plan.info().getString("explanation", "no regions"));
    }
    int lastLayer = m.layers().isEmpty() ? 0 : m.layers().get(m.layers().size() - 1).end();
    List<OpTrace> trace = new ArrayList<>();
    Set<String> outputs = new HashSet<>();
    m.outputs().forEach(v -> outputs.add(v.name()));
    Map<String, Tensor> out = ReferenceEvaluator.run(m, inputs, weights, observer, (i, op, args) -> {
      int grid = op instanceof Linear ? gridOf(m, plan, i, lastLayer) : 0;
      if (grid > 0) {
        RunResult r = project("meshgemm", "op " + i + " (" + op.name() + ")", args, grid, machine, fp32Accumulate);
        trace.add(new OpTrace(i, op.name(), "mesh " + grid + "x" + grid, r.cycles()));
        if (fault != null && fault.op() == i) { // PE (0,0) holds C's first row and column blocks
          long n = op.result().shape().dim(op.result().shape().rank() - 1);
          long rows = r.c().length / n;
          for (long y = 0; y < (rows + grid - 1) / grid; y++) {
            for (long x = 0; x < (n + grid - 1) / grid; x++) {
              r.c()[(int) (y * n + x)] += fault.delta();
            }
          }
        }
        // a model output is read from the kernel's accumulator (fp32 when accumulating in fp32);
        // an activation the next op reads is stored in fp16
        boolean keep = fp32Accumulate && outputs.contains(op.result().name());
        Tensor c = Tensor.ofFloats(DType.F32, op.result().shape(), addBias(r.c(), args, keep));
        return List.of(keep ? c : fp16(c));
      }
      trace.add(new OpTrace(i, op.name(), "host", 0));
      return ReferenceEvaluator.eval(op, args).stream().map(MeshExecutor::fp16).toList();
    });
    return new Result(out, List.copyOf(trace));
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
  static double[] compare(float[] a0, float[] b0) {
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
    Layer l = m.layerOf(i);
    for (Placement.Region r : plan.regions()) {
      long[] range = r.info().getInts("layers");
      boolean here = l != null ? l.index() >= range[0] && l.index() < range[1]
          : i >= lastLayer && r.info().getInt("lm_head", 0) == 1;
      if (here) {
        return (int) r.info().requireInt("grid");
      }
    }
    return 0;
  }

  /**
   * x[..., K] · W[K, N] as one {@code algorithm} kernel (MeshGEMM over all rows of x, or MeshGEMV
   * for one row) on a grid×grid region, with real numbers; the bias comes after. A kernel too big
   * to simulate with values is refused naming {@code what}.
   */
  static RunResult project(String algorithm, String what, List<Tensor> args, int grid, MachineSpec machine,
      boolean fp32) {
    Tensor x = args.get(0);
    Tensor w = args.get(1);
    long k = w.shape().dim(0);
    long n = w.shape().dim(1);
    long rows = x.shape().elements() / k;
    KernelTemplate t = Kernels.create(algorithm, new KernelTemplate.Problem(rows, k, n), grid, grid, fp32, 0);
    try {
      return MeshRuntime.functional(t, machine, x.floats(), w.floats());
    } catch (MeshcException e) {
      throw MeshcException.input("%s on its region's %dx%d grid: %s; to run a model with real numbers, compile it "
          + "with a small grid (e.g. --grid 16)", what, grid, grid, e.getMessage());
    }
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
