package dev.meshc.ir.kernel;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Value;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.op.Activation;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.GatedActivation;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.RmsNorm;
import dev.meshc.ir.op.Rope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntUnaryOperator;

/**
 * The kernel program: which mesh kernels execute each op of the tile IR on a P×P region, for
 * prefill ({@link #lower}) and for one decode step ({@link #decode}), stated once, with the
 * moves between regions ({@link #handoff}). The planner prices it (the sum of the templates'
 * estimates), the placed tile IR prints it as each region's {@code kernel} entries, and the mesh
 * runtime executes exactly it — it builds every template from an {@link Invocation}, never by its
 * own choice.
 *
 * <p>The prefill rule, per op: a linear projection is a MeshGEMM with the weight as its resident
 * B; an attention is, per batch and query head, dist-GEMM-T for q·kᵀ (k as its projection left it),
 * the softmax row kernel on the scores in the fp32 accumulator, and a MeshGEMM for p·v (a query
 * head reads its group's kv head); LayerNorm and RMSNorm are the row all-reduce kernel;
 * activations, gated activations, RoPE and a same-shape Add or Mul are the local kernel, each PE
 * on its own tile; any other op (head reshapes, the embedding lookup, a broadcasting add) runs on
 * the host, at no mesh cost.
 */
public final class KernelProgram {
  private KernelProgram() {}

  /** What runs an op: a mesh kernel, or the host. */
  public static final String HOST = "host";

  /**
   * One kernel of the program: op {@code op} of the module, its template ({@code null} for the
   * host), run {@code count} times one after another (attention heads), with {@code role} saying
   * which part of the op it is ({@code linear}, {@code scores}, {@code softmax}, {@code pv},
   * {@code norm}, {@code local}, {@code host}); {@code weight} when B is a resident weight tile.
   */
  public record Invocation(int op, String role, KernelTemplate template, long count, boolean weight, int lanes) {
    public Invocation(int op, String role, KernelTemplate template, long count, boolean weight) {
      this(op, role, template, count, weight, 1);
    }

    public String algorithm() {
      return template == null ? HOST : template.algorithm();
    }

    /**
     * Predicted cycles: each run the template's estimate plus the machine's per-kernel step
     * overhead; the {@code lanes} copies of one run work side by side, at once.
     */
    public double cycles(MachineSpec m) {
      return template == null ? 0 : count * (template.estimate(m).cycles() + m.stepOverhead());
    }

    /** The placed tile IR's entry for it (what the runtime's executed kernel is compared with). */
    public Placement.Kernel toKernel(MachineSpec m) {
      Attrs.Builder a = Attrs.builder().put("op", op).put("role", role).put("algorithm", algorithm())
          .put("count", count);
      if (template != null) {
        KernelTemplate.Problem p = template.problem();
        KernelTemplate.Problem pad = template.padded();
        a.put("shape", new long[] {p.m(), p.k(), p.n()}).put("padded", new long[] {pad.m(), pad.k(), pad.n()})
            .put("grid", new long[] {template.width(), template.height()}).put("pe_bytes", template.maxBytesPerPe())
            .put("colors", template.maxColorsPerPe()).put("cycles", Math.round(cycles(m)));
        if (lanes > 1) {
          a.put("lanes", lanes);
        }
        if (template instanceof GemvKernel g && g.alongX()) {
          a.put("along", "x");
        }
      }
      return new Placement.Kernel("op" + op + "." + role, a.build());
    }

    /**
     * A placed entry ({@link #toKernel}) as one line to compare by: op, role, algorithm, problem,
     * grid and count.
     */
    public static String signature(Placement.Kernel k) {
      Attrs a = k.info();
      String head = a.getInt("op", -1) + "." + a.getString("role", "?") + " ";
      if (a.getString("algorithm", HOST).equals(HOST)) {
        return head + "host x" + a.getInt("count", 1);
      }
      long[] s = a.getInts("shape");
      long[] g = a.getInts("grid");
      return head + a.getString("algorithm", "?") + a.getString("along", "").replace("x", " along x") + " "
          + new KernelTemplate.Problem(s[0], s[1], s[2]) + " on " + g[0] + "x" + g[1] + " x" + a.getInt("count", 1)
          + (a.getInt("lanes", 1) > 1 ? " in " + a.getInt("lanes", 1) + " lanes" : "");
    }
  }

  /**
   * The kernels of op {@code index} on a {@code grid}×{@code grid} region. Its activations span
   * {@code seq} tokens in the module; {@code tokens} (the planned prompt length) scales every
   * token-sized dimension to it, so a model traced at one length is priced at another.
   */
  public static List<Invocation> lower(Op op, int index, long seq, long tokens, int grid, boolean fp32) {
    Scale s = new Scale(seq, tokens);
    List<Invocation> out = new ArrayList<>();
    if (op instanceof Linear l) {
      Value x = l.x();
      long k = l.w().shape().dim(0);
      long n = l.w().shape().dim(1);
      out.add(new Invocation(index, "linear", Kernels.create("meshgemm",
          new KernelTemplate.Problem(s.rows(x.shape().elements() / k, x), k, n), grid, grid, fp32, 0), 1, true));
    } else if (op instanceof Attention a) {
      Shape q = a.q().shape();
      long heads = a.heads();
      long sq = s.dim(q.dim(-2));
      long sk = s.dim(a.k().shape().dim(-2));
      long d = q.dim(-1);
      long dv = a.v().shape().dim(-1);
      long batch = q.elements() / (heads * q.dim(-2) * d);
      RowFn fn = RowFn.softmax(sk, a.scale(), a.causal(), sk - sq, a.mask() != null);
      long runs = batch * heads;
      out.add(new Invocation(index, "scores", new DistGemmT(new KernelTemplate.Problem(sq, d, sk), grid, fp32),
          runs, false));
      out.add(new Invocation(index, "softmax", new RowWise(fn, sq, grid, grid, fp32), runs, false));
      out.add(new Invocation(index, "pv", Kernels.create("meshgemm", new KernelTemplate.Problem(sq, sk, dv), grid,
          grid, fp32, 0), runs, false));
    } else if (op instanceof LayerNorm || op instanceof RmsNorm) {
      Value x = op.operands().get(0);
      long width = x.shape().dim(-1);
      int given = op.operands().size();
      RowFn fn = op instanceof LayerNorm n ? RowFn.layerNorm(width, n.eps(), given > 1, given > 2)
          : RowFn.rmsNorm(width, ((RmsNorm) op).eps(), given > 1);
      out.add(new Invocation(index, "norm", new RowWise(fn, s.rows(x.shape().elements() / width, x), grid, grid,
          false), 1, false));
    } else if (localFn(op) != null) {
      out.add(local(op, index, s, Local.Layout.ROWS_Y_COLS_X, grid));
    } else {
      out.add(host(index));
    }
    return out;
  }

  /**
   * The move that hands the activation on from a region of side {@code p} to the next region,
   * {@code hops} hops away, before op {@code index} (the next region's first), as the planner
   * prices it per hop: the abstract {@link Handoff} of decode's vector ({@code tokens} 0) or
   * prefill's {@code tokens} rows.
   */
  public static Invocation handoff(int index, int hops, int p, long width, long tokens) {
    return new Invocation(index, "handoff", Handoff.of(hops, p, width, tokens), 1, false);
  }

  /**
   * The hand-off from a region of side {@code p} at {@code from} (wafer, x, y) to the next at
   * {@code to}: on the fabric as they lie when they share a wafer and a side ({@link
   * Handoff#between}), else the abstract one over the corners' distance (the wafers' link is the
   * caller's to add).
   */
  public static Invocation handoff(int index, int[] from, int[] to, int p, int q, long width, long tokens) {
    Handoff h = from[0] == to[0] && p == q ? Handoff.between(from[1], from[2], to[1], to[2], p, width, tokens)
        : Handoff.of(Handoff.hops(from[1], from[2], to[1], to[2]), p, width, tokens);
    return new Invocation(index, "handoff", h, 1, false);
  }

  private static Invocation host(int index) {
    return new Invocation(index, HOST, null, 1, false);
  }

  private static Invocation local(Op op, int index, Scale s, Local.Layout layout, int grid) {
    return local(op, index, s, layout, grid, 1);
  }

  private static Invocation local(Op op, int index, Scale s, Local.Layout layout, int grid, long factor) {
    Value x = op.operands().get(0);
    long cols = x.shape().dim(-1);
    return new Invocation(index, "local", new Local(localFn(op), s.rows(x.shape().elements() / cols, x) * factor, cols,
        layout, grid, grid), 1, false);
  }

  /**
   * Decode attention's query heads on a P×P region: {@code lanes} heads side by side, each on a
   * band of {@code band} columns and all P rows (the rows the KV cache's tokens lie on), {@code
   * rounds} of them one after another. A head's band holds its kv head's K and V for its own
   * dims, so the cache is stored expanded to the query heads.
   */
  public record Bands(int lanes, int band, long rounds) {
    public static Bands of(long heads, int grid) {
      int lanes = (int) Math.min(heads, grid);
      return new Bands(lanes, grid / lanes, (heads + lanes - 1) / lanes);
    }
  }

  /**
   * One token's KV entry as the cache stores it, for every query head its kv head's K then V:
   * expanded, so each head band finds its own on its columns ({@link Bands}).
   */
  public static long kvEntry(Attention a) {
    Shape q = a.q().shape();
    return kvOffset(a, q.elements() / (q.dim(-2) * a.headDim()), false);
  }

  /**
   * Where in a KV entry ({@link #kvEntry}) query head {@code queryHead} (batch × heads + head)
   * finds its kv head's K, or its V when {@code value}.
   */
  public static int kvOffset(Attention a, long queryHead, boolean value) {
    long d = a.headDim();
    return (int) (queryHead * (d + a.v().shape().dim(-1)) + (value ? d : 0));
  }

  /**
   * The decode kernel program of {@code ops} (module indices from {@code start}, activations
   * traced at {@code seq} tokens) for one token, op i on a grid(i)×grid(i) region (0: the host),
   * with a KV cache of {@code context} tokens: the paper's §4.2 layout. A vector lies split along
   * one axis and copied along the other; a linear is a MeshGEMV whose output lies on the axis
   * its input did not, so GEMVs alternate Y → X → Y (the second placed pre-transposed: {@link
   * GemvKernel#transposed}) and nothing is transposed per token. A norm is the row kernel, its
   * output where its input lies (the residual's along Y; a q/k norm's on the heads along X);
   * activations, RoPE and residual adds the local kernel where their operand lies. An attention is the KV-shift step (the new token's entry joins the bottom row;
   * {@link KvShift#steady}), then per head band ({@link Bands}) q·Kᵀ as the transposed MeshGEMV
   * (dims along X within the band, the cache's slots along Y), the softmax row kernel over the
   * slots (the free ones masked), and p·V as the MeshGEMV over the same slots. Where K and V
   * have fewer heads than Q, the ops that make them run expanded to the query heads ({@link
   * #kvExpansion}): each band computes its kv head's K and V on its own columns, where the cache
   * keeps them.
   */
  public static List<Invocation> decode(List<Op> ops, int start, long seq, IntUnaryOperator grid, long context,
      boolean fp32) {
    Scale s = new Scale(seq, 1);
    Set<String> onX = new HashSet<>();
    List<Invocation> out = new ArrayList<>();
    Map<Op, Expansion> widen = kvExpansion(ops);
    for (int j = 0; j < ops.size(); j++) {
      Op op = ops.get(j);
      int i = start + j;
      int p = grid.applyAsInt(i);
      boolean inX = !op.operands().isEmpty() && onX.contains(op.operands().get(0).name());
      boolean flips = p > 0 && op instanceof Linear;
      if (flips ? !inX : inX) {
        op.results().forEach(v -> onX.add(v.name()));
      }
      if (p == 0) {
        out.add(host(i));
      } else if (op instanceof Linear l) {
        long k = l.w().shape().dim(0);
        KernelTemplate.Problem pr = new KernelTemplate.Problem(s.rows(l.x().shape().elements() / k, l.x()), k,
            l.w().shape().dim(1) * group(widen, op));
        out.add(new Invocation(i, "linear", inX ? GemvKernel.transposed(pr, p, p, fp32, 0)
            : Kernels.create("meshgemv", pr, p, p, fp32, 0), 1, true));
      } else if (op instanceof Attention a) {
        Shape q = a.q().shape();
        long batch = q.elements() / (a.heads() * q.dim(-2) * a.headDim());
        int per = Tiles.tile(context, p);
        long slots = (long) per * p;
        Bands b = Bands.of(a.heads(), p);
        long runs = batch * b.rounds();
        out.add(new Invocation(i, "kv", KvShift.steady(per, kvEntry(a), p, p), 1, false));
        out.add(new Invocation(i, "scores", GemvKernel.transposed(new KernelTemplate.Problem(1, a.headDim(), slots),
            b.band(), p, fp32, 0), runs, false, b.lanes()));
        out.add(new Invocation(i, "softmax", new RowWise(RowFn.softmax(slots, a.scale(), false, 0, true), 1, p,
            b.band(), fp32), runs, false, b.lanes()));
        out.add(new Invocation(i, "pv", Kernels.create("meshgemv", new KernelTemplate.Problem(1, slots,
            a.v().shape().dim(-1)), b.band(), p, fp32, 0), runs, false, b.lanes()));
      } else if (op instanceof LayerNorm || op instanceof RmsNorm) {
        out.addAll(lower(op, i, seq, 1, p, false));
      } else if (localFn(op) != null) {
        out.add(local(op, i, s, inX ? Local.Layout.COLS_X : Local.Layout.COLS_Y, p, group(widen, op)));
      } else {
        out.add(host(i));
      }
    }
    return out;
  }

  /**
   * Decode's K and V expanded to the query heads: each of a kv head's {@code group} query heads
   * gets its own copy of that head's {@code width} values (its rows of a [heads, width] value,
   * the weight's columns of a linear), so every head band computes its K and V on its own
   * columns ({@link Bands}), where the cache stores them ({@link #kvEntry}); memory for no
   * movement.
   */
  public record Expansion(Attention attention, long width) {
    public long group() {
      return attention.group();
    }

    /** The compact row expanded row {@code e} copies: its query head's kv head ({@link Attention#kvHead}). */
    public int compactRow(long e) {
      return attention.kvHead(e);
    }
  }

  /**
   * The ops of {@code ops} that run expanded ({@link Expansion}): those on the way from a linear
   * to an attention's K or V, the linear included, followed back through each op's first operand.
   */
  public static Map<Op, Expansion> kvExpansion(List<Op> ops) {
    Map<String, Op> producer = new HashMap<>();
    for (Op op : ops) {
      op.results().forEach(v -> producer.put(v.name(), op));
    }
    Map<Op, Expansion> out = new IdentityHashMap<>();
    for (Op op : ops) {
      if (op instanceof Attention a && a.heads() != a.kvHeads()) {
        for (Value kv : List.of(a.k(), a.v())) {
          Expansion e = new Expansion(a, kv.shape().dim(-1));
          for (Op p = producer.get(kv.name()); p != null; p = p instanceof Linear || p.operands().isEmpty() ? null
              : producer.get(p.operands().get(0).name())) {
            out.put(p, e);
          }
        }
      }
    }
    return out;
  }

  private static long group(Map<Op, Expansion> widen, Op op) {
    Expansion e = widen.get(op);
    return e == null ? 1 : e.group();
  }

  /**
   * The local kernel's function for an op that needs no communication on the mesh: activations,
   * gated activations, RoPE, and an Add or Mul of two same-shaped activations (the residual add);
   * null for any other op (a broadcasting Add stays on the host).
   */
  public static LocalFn localFn(Op op) {
    if (op instanceof Activation a) {
      return LocalFn.activation(LocalFn.Act.valueOf(a.fn().name()));
    } else if (op instanceof GatedActivation g) {
      return LocalFn.gated(LocalFn.Act.valueOf(g.fn().name()));
    } else if (op instanceof Rope r) {
      return LocalFn.rope(r.rotaryDim(), r.interleaved());
    } else if (op instanceof Generic g && (g.type().equals("Add") || g.type().equals("Mul"))
        && g.operands().size() == 2 && g.results().size() == 1
        && g.operands().stream().allMatch(v -> v.type().dtype().isFloating() && v.shape().equals(g.result().shape()))) {
      return g.type().equals("Add") ? LocalFn.add() : LocalFn.mul();
    }
    return null;
  }

  /**
   * From the module's sequence length to the planned one: a dimension of {@code seq} tokens
   * becomes {@code tokens}, and rows that span the tokens (batch × heads × seq, the sequence on any
   * axis but the last) scale with them.
   * Tensors of rank below 2 have no token axis and keep their size.
   */
  private record Scale(long seq, long tokens) {
    long dim(long d) {
      return tokens <= 0 || d != seq ? d : tokens;
    }

    long rows(long rows, Value v) {
      Shape sh = v.shape();
      if (tokens <= 0 || sh.rank() < 2) {
        return rows;
      }
      for (int a = sh.rank() - 2; a >= 0; a--) { // [B, H, S, D] or [B, S, H, D] (a q/k norm before the transpose)
        if (sh.dim(a) == seq) {
          return rows / seq * tokens;
        }
      }
      return rows;
    }
  }
}
