package dev.meshc.compiler.plan;

import dev.meshc.compiler.plan.ModelShape.Head;
import dev.meshc.compiler.plan.ModelShape.LayerShape;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.kernel.KTreeAllReduce;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.kernel.LocalFn;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one layer (or the LM head) costs on a P×P region, read from the kernel templates: the
 * step program of the paper's layout, each step's cycles (the template's closed form plus the
 * machine's per-step overhead), per-PE bytes and colours. The planner optimises with these
 * figures and {@link PlanVerifier} recomputes them from the templates' per-PE rules.
 *
 * <p>Decode (the paper's §4.2 layout): the activation is split on one axis and copied on the other;
 * every projection is a MeshGEMV whose K-tree all-reduce alternates axes, so nothing is
 * transposed; q·Kᵀ and p·V are GEMVs against the cache (K and V stored expanded to the query
 * heads, dims on X and sequence on Y); RMSNorm and softmax all-reduce one value per PE.
 * Prefill: MeshGEMM for every projection and for p·V, dist-GEMM-T for q·Kᵀ (all heads as one
 * product, as the released kernels do; the scores of every head are counted in memory), row
 * all-reduces of one value per row for norms and softmax.
 */
public final class CostModel {
  private final MachineSpec m;
  private final Workload w;

  public CostModel(MachineSpec m, Workload w) {
    this.m = m;
    this.w = w;
  }

  public MachineSpec machine() {
    return m;
  }

  public Workload workload() {
    return w;
  }

  /**
   * One step of a layer program: {@code template} is its mesh kernel (null for a local step or a
   * lone all-reduce), {@code weight} whether that kernel's B operand is a resident weight tile.
   */
  public record Step(String name, String kernel, String shape, double cycles, KernelTemplate template,
      boolean weight) {}

  /**
   * A unit (a layer or the LM head) on a P×P grid: bytes per PE that stay (weights, KV cache) and
   * that only one unit at a time needs (kernel buffers, activations), colours per PE, cycles.
   */
  public record UnitCost(String unit, int grid, long weightBytes, long kvBytes, long transientBytes, int colors,
      Map<String, Integer> colorUse, double cycles, List<Step> steps) {
    public long residentBytes() {
      return weightBytes + kvBytes;
    }
  }

  static long tile(long n, int p) {
    return (n + p - 1) / p;
  }

  /** Builds one unit's program, keeping the step list, the largest transient and the colours. */
  private final class Program {
    final String unit;
    final int p;
    final List<Step> steps = new ArrayList<>();
    final Map<String, Integer> colors = new LinkedHashMap<>();
    long weights;
    long transientMax;
    long activations;

    Program(String unit, int p) {
      this.unit = unit;
      this.p = p;
    }

    /** A weight product on the grid (decode's GEMVs), as one kernel run. */
    void product(String name, String alg, long mm, long k, long n, boolean weight) {
      add(name, Kernels.create(alg, new KernelTemplate.Problem(mm, k, n), p, p, false, 0), 1, weight);
    }

    /** A kernel of the prefill program, priced as the program says ({@link KernelProgram.Invocation#cycles}). */
    void kernel(KernelProgram.Invocation k) {
      if (k.template() != null) { // a host op has no mesh cost
        add("op" + k.op() + "." + k.role(), k.template(), k.count(), k.weight());
      }
    }

    /**
     * {@code count} runs of template {@code t}: each its estimate plus the step overhead; a weight's
     * own tile is resident, the rest of its buffers transient; its colours merged with the unit's.
     */
    private void add(String name, KernelTemplate t, long count, boolean weight) {
      KernelTemplate.Problem pad = t.padded();
      long tileBytes = weight ? 2 * (pad.k() / p) * (pad.n() / p) : 0;
      weights += tileBytes;
      transientMax = Math.max(transientMax, t.maxBytesPerPe() - tileBytes);
      String alg = t.algorithm();
      // dist-GEMM-T rotates B on the same interleaved Y ring as MeshGEMM: its three ring colours
      // are MeshGEMM's when both run in one unit (routes per colour are identical on every PE); the
      // row kernels' K-trees are one set of colours
      int shared = alg.equals("gemmt") && p > 1 ? 3 : 0;
      if (t.maxColorsPerPe() > 0) {
        colors.merge(t instanceof RowWise ? "ktree" : alg, t.maxColorsPerPe() - shared, Math::max);
      }
      KernelTemplate.Problem pr = t.problem();
      steps.add(new Step(name, alg, pr.m() + "x" + pr.k() + "x" + pr.n() + (count > 1 ? " x" + count : ""),
          count * (t.estimate(m).cycles() + m.stepOverhead()), t, weight));
    }

    /** The prefill program of {@code ops}, lowered at the planned prompt length. */
    void program(ModelShape.Ops ops) {
      if (ops.ops().isEmpty()) {
        throw new IllegalStateException("a prefill plan prices the tile IR's ops; this shape has none");
      }
      ops.lower(w.promptLen(), p).forEach(this::kernel);
    }

    /** An all-reduce of {@code values} fp16 values per PE along one axis (the K-tree). */
    void allReduce(String name, long values) {
      KTreeAllReduce ar = new KTreeAllReduce(p, KTree.defaultGroups(p), 0, Dir.NORTH, Dir.SOUTH);
      int most = 0;
      for (int i = 0; i < p; i++) { // a rule per index along the line: O(P)
        most = Math.max(most, ar.routes(i).size());
      }
      colors.merge("ktree", most, Math::max);
      steps.add(new Step(name, "ktree", values + " per PE", ar.cycles(m, m.wavelets(values)) + m.stepOverhead(), null,
          false));
    }

    /** Elementwise work on the PE: {@code ops} fp16 operations, at the FMAC rate. */
    void local(String name, long ops) {
      steps.add(new Step(name, "local", ops + " ops", Math.ceil(ops / m.fmacsPerCycle()) + m.stepOverhead(), null,
          false));
    }

    /**
     * Decode: a MeshGEMV reduces along Y, the next one along X, so a PE routes two K-trees; the
     * norms' and softmax's all-reduces reuse them. Where queues are bound to colours (WSE-3) the
     * two trees share one set, re-routed at run time ({@link dev.meshc.ir.kernel.DecodeFabric}).
     */
    void decodeTrees() {
      Integer tree = colors.get("meshgemv");
      colors.put("meshgemv", (m.queuePerColor() ? 1 : 2) * (tree == null ? 0 : tree));
      colors.remove("ktree");
    }

    UnitCost done(long kv, long extraColors) {
      double cycles = 0;
      for (Step s : steps) {
        cycles += s.cycles();
      }
      int c = 0;
      for (int v : colors.values()) {
        c += v;
      }
      if (extraColors > 0) {
        colors.put("kv shift", (int) extraColors);
        c += extraColors;
      }
      return new UnitCost(unit, p, weights, kv, transientMax + activations, c, Map.copyOf(colors), cycles,
          List.copyOf(steps));
    }
  }

  /** Operations per element of the local kernels, as the runtime charges them ({@link LocalFn}). */
  private static final int ROPE = LocalFn.opsPerElement(LocalFn.Kind.ROPE);
  private static final int ACT = LocalFn.opsPerElement(LocalFn.Kind.GATED); // = ACTIVATION's
  private static final int ADD = LocalFn.opsPerElement(LocalFn.Kind.ADD);

  /** One transformer layer on a P×P region. */
  public UnitCost layer(LayerShape s, int p) {
    return w.phase() == Workload.Phase.DECODE ? decodeLayer(s, p) : prefillLayer(s, p);
  }

  private UnitCost decodeLayer(LayerShape s, int p) {
    Program g = new Program("layer", p);
    long d = tile(s.width(), p);
    long ctx = w.maxContext();
    if (s.normed()) {
      norm(g, "attn_norm", 1, d);
    }
    g.product("qkv", "meshgemv", 1, s.width(), s.dq() + 2 * s.dkv(), true);
    g.local("rope", ROPE * (tile(s.dq(), p) + tile(s.dkv(), p)));
    g.local("kv_append", 2 * tile(s.dq(), p));
    g.product("scores", "meshgemv", 1, s.dq(), ctx, false);
    softmax(g, tile(ctx, p), 1);
    g.product("attn_v", "meshgemv", 1, ctx, s.dq(), false);
    g.product("o_proj", "meshgemv", 1, s.dq(), s.width(), true);
    g.local("residual", ADD * d);
    if (s.normed()) {
      norm(g, "ffn_norm", 1, d);
    }
    g.product("ffn_in", "meshgemv", 1, s.width(), s.ffnIn(), true);
    g.local(s.gated() ? "gated_act" : "act", ACT * tile(s.ffn(), p));
    g.product("ffn_out", "meshgemv", 1, s.ffn(), s.width(), true);
    g.local("residual", ADD * d);
    g.weights += s.normed() ? 2 * 2 * d : 0;
    g.activations = 2 * (3 * d + tile(s.dq() + 2 * s.dkv(), p) + tile(ctx, p) + tile(s.ffnIn(), p));
    long kv = kvBytesPerToken(s, p) * tile(ctx, p);
    g.decodeTrees();
    // the KV shift moves entries one hop north: each PE sends on its row's parity colour and takes
    // the row below's on the other, two entries (re-routed: on the trees' phase-1 pair)
    return g.done(kv, p > 1 && !m.queuePerColor() ? 2 : 0);
  }

  /** One token's K and V on one PE of a P×P region: its share of the (query-expanded) dims, fp16. */
  public static long kvBytesPerToken(LayerShape s, int p) {
    return 2L * 2 * tile(s.dq(), p);
  }

  /** One layer's prefill: its kernel program ({@link KernelProgram}), lowered from the tile IR's ops. */
  private UnitCost prefillLayer(LayerShape s, int p) {
    Program g = new Program("layer", p);
    long rows = tile(w.promptLen(), p);
    long d = tile(s.width(), p);
    g.program(s.program());
    g.weights += s.normed() ? 2 * 2 * d : 0; // the two norms' γ
    // activations: x, residual and normed x, q/k/v, the FFN hidden; and the other heads' scores
    g.activations = 2 * rows * (3 * d + tile(s.dq() + 2 * s.dkv(), p) + tile(s.ffnIn(), p))
        + 2 * (s.heads() - 1) * rows * rows;
    long kv = 2L * 2 * tile(s.dq(), p) * rows;
    return g.done(kv, 0);
  }

  private void norm(Program g, String name, long values, long elements) {
    g.local(name + ".square_sum", 2 * elements);
    g.allReduce(name + ".all_reduce", values);
    g.local(name + ".scale", 2 * elements);
  }

  private void softmax(Program g, long elements, long values) {
    g.allReduce("softmax.max", values);
    g.local("softmax.exp", 4 * elements);
    g.allReduce("softmax.sum", values);
    g.local("softmax.scale", elements);
  }

  /** The LM head (final norm and the vocabulary projection) on a P×P region. */
  public UnitCost head(Head h, boolean normed, int p) {
    Program g = new Program("lm_head", p);
    long d = tile(h.width(), p);
    boolean decode = w.phase() == Workload.Phase.DECODE;
    long rows = decode ? 1 : tile(w.promptLen(), p);
    if (decode) {
      if (normed) {
        norm(g, "final_norm", rows, rows * d);
        g.weights += 2 * d;
      }
      g.product("logits", "meshgemv", 1, h.width(), h.vocab(), true);
      g.decodeTrees();
    } else {
      g.program(h.program());
      g.weights += normed ? 2 * d : 0;
      g.colors.remove("ktree");
    }
    g.activations = 2 * rows * (d + tile(h.vocab(), p));
    return g.done(0, 0);
  }

  /**
   * Cycles to hand the activation from a region of side {@code p} to the next, besides α per hop:
   * every row (decode) or PE (prefill) streams its slice at once, and one relay puts it on the
   * next region's routes.
   */
  public double handoffCycles(long width, int p) {
    long values = w.phase() == Workload.Phase.DECODE ? tile(width, p) : tile(w.promptLen(), p) * tile(width, p);
    return m.wavelets(values) + m.beta();
  }

  /** Cycles to move the activation to the next wafer over the system's links. */
  public double waferCycles(long width) {
    long bytes = 2 * width * (w.phase() == Workload.Phase.DECODE ? 1 : w.promptLen());
    return m.waferLinkLatency() + bytes / m.waferLinkBytesPerCycle();
  }
}
