package dev.meshc.compiler.plan;

import dev.meshc.backends.csl.DecodeMemory;
import dev.meshc.compiler.plan.ModelShape.Head;
import dev.meshc.compiler.plan.ModelShape.LayerShape;
import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.KvShift;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one layer (or the LM head) costs on a P×P region, read from the kernel templates: the
 * unit's kernel program ({@link KernelProgram}, lowered from the tile IR's ops for the phase),
 * each kernel's cycles (the template's closed form plus the machine's per-step overhead), per-PE
 * bytes and colours. The planner optimises with these figures and {@link PlanVerifier}
 * recomputes them from the templates' per-PE rules; the runtime executes the same program.
 *
 * <p>Decode (the paper's §4.2 layout, {@link KernelProgram#decode}): MeshGEMVs alternating axes,
 * the row kernel per norm, the KV-shift step and per head band q·Kᵀ, softmax and p·V against the
 * cache (stored expanded to the query heads; its bytes are the KV-shift template's buffer).
 * Prefill ({@link KernelProgram#lower}): MeshGEMM per projection, per head dist-GEMM-T, softmax
 * and MeshGEMM, the row kernel per norm.
 */
public final class CostModel {
  private final MachineSpec m;
  private final Workload w;
  private final DecodeMemory storage;

  public CostModel(MachineSpec m, Workload w) {
    this(m, w, null);
  }

  /**
   * {@code storage}: what a decode PE of the model declares ({@link ModelShape#storage}), which
   * then sizes decode's units instead of the templates' buffers; null to size by the templates.
   */
  public CostModel(MachineSpec m, Workload w, DecodeMemory storage) {
    this.m = m;
    this.w = w;
    this.storage = w.phase() == Workload.Phase.DECODE ? storage : null;
  }

  /** This model's costs under another workload. */
  CostModel at(Workload other) {
    return new CostModel(m, other, storage);
  }

  /**
   * Whether units' bytes are the decode program's declarations: then the head's buffers are
   * declared beside the layers' (they add), where the templates' buffers of one unit at a time
   * are reused by the next (the largest counts).
   */
  public boolean declared() {
    return storage != null;
  }

  /**
   * A PE's bytes in a region of side {@code p} with {@code layers} layers (and the head), as the
   * decode program declares them; null unless {@link #declared}.
   */
  public DecodeMemory.Bytes declared(int p, int layers, boolean head) {
    return storage == null ? null : storage.of(p, layers, head, tile(w.maxContext(), p));
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

    /** One token's K and V on a PE (its share of the cache's entry, fp16), from the bytes at {@code context}. */
    public long kvBytesPerToken(long context) {
      return kvBytes / tile(context, grid);
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
    long kv;
    long transientMax;
    long activations;

    Program(String unit, int p) {
      this.unit = unit;
      this.p = p;
    }

    /** A kernel of the program, priced as the program says ({@link KernelProgram.Invocation#cycles}). */
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
      if (t instanceof KvShift) { // its buffer is the KV cache, which stays
        kv += t.maxBytesPerPe();
      } else {
        transientMax = Math.max(transientMax, t.maxBytesPerPe() - tileBytes);
      }
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

    /** The decode program of {@code ops}, at the planned context. */
    void decode(ModelShape.Ops ops) {
      if (ops.ops().isEmpty()) {
        throw new IllegalStateException("a decode plan prices the tile IR's ops; this shape has none");
      }
      ops.decode(w.maxContext(), p).forEach(this::kernel);
    }

    /**
     * Decode: the region's routers carry {@link dev.meshc.ir.kernel.DecodeFabric}, the router
     * program the CSL prints: a K-tree along each column and each row (every GEMV, norm and
     * softmax reduces on one of them) and the KV shift, static on WSE-2, re-routed at run time
     * where queues are bound to colours (WSE-3). Its most entries on one PE are the colours.
     */
    void decodeTrees() {
      colors.clear();
      colors.put("decode_fabric", new dev.meshc.ir.kernel.DecodeFabric(p, 0, m.queuePerColor()).maxColorsPerPe());
    }

    UnitCost done() {
      double cycles = 0;
      for (Step s : steps) {
        cycles += s.cycles();
      }
      int c = 0;
      for (int v : colors.values()) {
        c += v;
      }
      return new UnitCost(unit, p, weights, kv, transientMax + activations, c, Map.copyOf(colors), cycles,
          List.copyOf(steps));
    }
  }

  /** One transformer layer on a P×P region. */
  public UnitCost layer(LayerShape s, int p) {
    return w.phase() == Workload.Phase.DECODE ? decodeLayer(s, p) : prefillLayer(s, p);
  }

  /** One layer's decode: its kernel program at one token ({@link KernelProgram#decode}), from the tile IR's ops. */
  private UnitCost decodeLayer(LayerShape s, int p) {
    Program g = new Program("layer", p);
    long d = tile(s.width(), p);
    g.decode(s.program());
    g.weights += s.normed() ? 2 * 2 * d : 0; // the two norms' γ
    g.activations = 2 * (3 * d + tile(s.dq() + 2 * s.dkv(), p) + tile(w.maxContext(), p) + tile(s.ffnIn(), p));
    g.decodeTrees();
    if (storage != null) { // what the program declares: a layer's arrays beside everything else of one layer's region
      DecodeMemory.Bytes one = declared(p, 1, false);
      DecodeMemory.Bytes two = declared(p, 2, false);
      g.weights = two.weights() - one.weights();
      g.kv = two.kv() - one.kv();
      g.transientMax = 0;
      g.activations = one.total() - g.weights - g.kv;
    }
    return g.done();
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
    g.kv = 2L * 2 * tile(s.dq(), p) * rows;
    return g.done();
  }

  /** The LM head (final norm and the vocabulary projection) on a P×P region. */
  public UnitCost head(Head h, boolean normed, int p) {
    Program g = new Program("lm_head", p);
    long d = tile(h.width(), p);
    boolean decode = w.phase() == Workload.Phase.DECODE;
    long rows = decode ? 1 : tile(w.promptLen(), p);
    g.weights += normed ? 2 * d : 0;
    if (decode) {
      g.decode(h.program());
      g.decodeTrees();
    } else {
      g.program(h.program());
      g.colors.remove("ktree");
    }
    g.activations = 2 * rows * (d + tile(h.vocab(), p));
    if (storage != null) { // what the head adds to a region: its arrays and buffers, with layers or alone
      DecodeMemory.Bytes base = declared(p, 1, false);
      DecodeMemory.Bytes with = declared(p, 1, true);
      DecodeMemory.Bytes alone = declared(p, 0, true);
      long perLayer = declared(p, 2, false).total() - base.total();
      g.weights = with.weights() - base.weights();
      g.transientMax = 0;
      g.activations = Math.max(with.total() - base.total(), alone.total() - (base.total() - perLayer)) - g.weights;
    }
    return g.done();
  }

  /**
   * The hand-off out of a region of side {@code p} to the next, {@code hops} hops away ({@link
   * Handoff}): decode's vector of {@code width} values, or prefill's activation over the prompt.
   * It is a step of the program like a kernel: the template's estimate plus the step overhead.
   */
  public KernelProgram.Invocation handoff(int op, int hops, long width, int p) {
    return KernelProgram.handoff(op, hops, p, width, w.phase() == Workload.Phase.DECODE ? 0 : w.promptLen());
  }

  /**
   * The hand-off from region {@code from} to the next region {@code to}, before op {@code op}, as
   * the two lie ({@link KernelProgram#handoff(int, int[], int[], int, int, long, long)}): its
   * cycles are α per hop between the corners plus {@link #handoffCycles}, what the solver adds.
   */
  public KernelProgram.Invocation handoff(int op, Plan.Region from, Plan.Region to, long width) {
    return KernelProgram.handoff(op, new int[] {from.wafer(), from.x(), from.y()},
        new int[] {to.wafer(), to.x(), to.y()}, from.grid(), to.grid(), width,
        w.phase() == Workload.Phase.DECODE ? 0 : w.promptLen());
  }

  /** A hand-off's cycles besides α per hop (linear in the hops: what the solver adds to α · hops). */
  public double handoffCycles(long width, int p) {
    return handoff(-1, 1, width, p).cycles(m) - m.alpha();
  }

  /** Cycles to move the activation to the next wafer over the system's links. */
  public double waferCycles(long width) {
    return m.waferLinkCycles(2 * width * (w.phase() == Workload.Phase.DECODE ? 1 : w.promptLen()));
  }
}
