package dev.meshc.backends.csl;

import dev.meshc.ir.Const;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.eval.ReferenceEvaluator;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.LocalFn;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.Embedding;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.MergeHeads;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.RmsNorm;
import dev.meshc.ir.op.Rope;
import dev.meshc.ir.op.SplitHeads;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The decode CSL program of a decoder, read off its one-token tile IR by one walk over the ops of
 * a layer (every layer has the same ops) and of the head after the last layer. Each op becomes
 * what {@link KernelProgram#decode} runs it with: a linear the MeshGEMV whose output lies on the
 * axis its input does not (the direction is the program's), a norm the row kernel, an activation,
 * RoPE or same-shape Add/Mul the local kernel, an attention the KV-shift step and the attention
 * kernels. Ops the program leaves to the host must not cost a move on the wafer: a reshape, head
 * split or merge, transpose, slice, split, gather or scale by a constant of a projection's output
 * is folded into which weight columns (times which factor) the projection's GEMV computes; of any
 * other value it must keep the elements' order, or the model is refused with the op named.
 *
 * <p>Values a PE holds are vectors split along X or Y. An attention's q, k and v lie on X with
 * the query heads side by side, K and V expanded to the query heads, and each RoPE pair (the
 * model's half-split or interleaved pairs) next to each other, so a rotation reads its partner on
 * its own PE: the weight columns of the projections feeding them are gathered in that order
 * ({@link Buf#holds}).
 */
record DecodeModel(String name, long width, long heads, long kvHeads, long headDim, long vocab, RopeSpec rope,
    Prelude prelude, Part layer, Part head, List<Array> arrays, List<Layer> layers) {

  /** RoPE's θ and rotated channels per head; null for a model without RoPE. */
  record RopeSpec(float theta, long rotaryDim) {}

  /**
   * The host's embedding: x = tokenCoef · token[id] + positionCoef · position[t + positionOffset]
   * (weight names; position null when there is none).
   */
  record Prelude(String token, double tokenCoef, String position, double positionCoef, long positionOffset) {}

  /** A per-PE tile of a vector of {@code n} values split over a region's side, rounded up to even when {@code even}. */
  record Tile(long n, boolean even) {
    String name() {
      return "T" + n + (even ? "e" : "");
    }
  }

  /**
   * A vector a PE holds a tile of: along X (column blocks) or Y (row blocks); CSL element i is the
   * IR value's element {@code holds[i]} (null: i itself).
   */
  record Buf(String name, boolean onX, Tile tile, int[] holds, String what) {}

  /** What the PE program does, op by op. */
  sealed interface Step permits Gemv, Norm, Local, Attend, Copy {}

  /**
   * out = in · W (+ bias), W's tile at {@code w}: input along Y, output along X, summed along the
   * column; or ({@code onX}) input along X, W pre-transposed, output along Y, summed along the row.
   */
  record Gemv(String out, String in, String w, Tile k, List<Tile> n, boolean onX, String bias, int op) implements Step {
    /** The output's values per PE: a fused projection's pieces side by side. */
    String size() {
      return String.join(" + ", n.stream().map(Tile::name).toList());
    }
  }

  /**
   * A norm of rows of {@code width} values: along Y (one row, the residual), or along X ({@code
   * onX}: rows of a head, e.g. a q/k norm), statistics all-reduced along that axis.
   */
  record Norm(String out, String in, String gamma, String beta, boolean layerNorm, double eps, Tile t, long length,
      long width, boolean onX, int op) implements Step {}

  record Local(String out, List<String> in, LocalFn fn, Tile t, int op) implements Step {}

  record Attend(String q, String k, String v, String out, float scale, int op) implements Step {}

  /** out[0:t] = in[offset:offset + t] ({@code offset} a CSL expression): a piece of a fused projection. */
  record Copy(String out, String in, Tile t, String offset) implements Step {}

  /** A layer's or the head's steps, its buffers, and the value it leaves in {@code x} (or {@code logits}). */
  record Part(List<Step> steps, List<Buf> bufs) {}

  /** An initializer as the tile IR reads it. */
  record Src(String initializer, List<Integer> perm) {}

  /**
   * An array the host writes: a weight matrix ({@code blocks}: rows split along Y, columns along
   * X; {@code blocks_t}: pre-transposed) or a vector ({@code rows}: along Y; {@code cols}: along X),
   * per layer of a region or once (the head). The matrix is rows {@code rowMap} and columns
   * {@code colMap} (times {@code colScale}) of the source; a vector is elements {@code colMap}.
   */
  record Array(String symbol, boolean perLayer, String tiling, Tile rows, List<Cols> parts, int[] rowMap,
      List<Src> sources, String what) {}

  /**
   * Columns of an array, tiled over the region's side: source columns (or vector elements) {@code
   * map} times {@code scale} (null: 1). A fused projection's pieces lie side by side on each PE.
   */
  record Cols(Tile tile, int[] map, float[] scale) {}

  private static final Set<String> VIEWS = Set.of("Reshape", "Transpose", "Slice", "Split", "GatherND", "Gather",
      "Squeeze", "Unsqueeze", "Flatten", "Identity", "Expand");

  /**
   * {@code m}, lifted at one token, as the decode program; {@code theta}: RoPE θ of each rope op
   * (from a trace long enough to show it), or null.
   */
  static DecodeModel of(Module m, float[] theta) {
    if (m.layers().isEmpty()) {
      throw MeshcException.input("%s has no recognised decoder layers: CSL is written for decoder models", m.name());
    }
    if (m.outputs().size() != 1) {
      throw MeshcException.input("%s has %d outputs; the decode program ends in the logits alone", m.name(),
          m.outputs().size());
    }
    Layer first = m.layers().get(0);
    long width = first.info().getInt("width", 0);
    long heads = first.info().getInt("heads", 0);
    long kvHeads = first.info().getInt("kv_heads", heads);
    long headDim = first.info().getInt("head_dim", 0);
    for (Layer l : m.layers()) {
      same(m, first, l);
    }
    for (int k = 0; k + 1 < m.layers().size(); k++) {
      for (Op op : m.ops().subList(m.layers().get(k).end(), m.layers().get(k + 1).start())) {
        int[] map = viewMap(m, op);
        if (map == null || !identity(map)) {
          throw MeshcException.input("%s: %s between layers %d and %d is not a plain view of the residual; the "
              + "decode program carries the residual from layer to layer unchanged", m.name(), op.name(), k, k + 1);
        }
      }
    }
    Walk w = new Walk(m, width, heads, headDim);
    List<Op> ops = m.ops().subList(first.start(), first.end());
    Part layer = w.part(ops, first.start(), "l", true);
    Layer last = m.layers().get(m.layers().size() - 1);
    Part head = w.part(m.ops().subList(last.end(), m.ops().size()), last.end(), "h", false);
    RopeSpec rope = null;
    if (w.rope != null) {
      float th = theta != null && theta.length > 0 ? theta[0] : w.rope.theta();
      if (th <= 0) {
        throw MeshcException.input("%s: its RoPE tables are constants of the trace, and no trace showed θ", m.name());
      }
      rope = new RopeSpec(th, w.rope.rotaryDim());
    }
    long vocab = m.outputs().get(0).shape().dim(-1);
    return new DecodeModel(m.name(), width, heads, kvHeads, headDim, vocab, rope, prelude(m, first.start()), layer,
        head, List.copyOf(w.arrays), List.copyOf(m.layers()));
  }

  /** Layer {@code l} has layer 0's ops, in order, with the same shapes. */
  private static void same(Module m, Layer first, Layer l) {
    String why = null;
    if (l.size() != first.size()) {
      why = l.size() + " ops, layer 0 " + first.size();
    } else {
      for (int j = 0; j < l.size() && why == null; j++) {
        Op a = m.ops().get(first.start() + j);
        Op b = m.ops().get(l.start() + j);
        boolean sameShapes = a.results().size() == b.results().size();
        for (int r = 0; sameShapes && r < a.results().size(); r++) {
          sameShapes = a.results().get(r).shape().equals(b.results().get(r).shape());
        }
        if (!a.def().name().equals(b.def().name()) || !sameShapes) {
          why = "op " + j + " is " + b.name() + " where layer 0 has " + a.name();
        }
      }
    }
    if (why != null) {
      throw MeshcException.input("%s: layer %d differs from layer 0 (%s); the decode program runs one layer's ops "
          + "for every layer", m.name(), l.index(), why);
    }
  }

  /** The embedding before the first layer: embeddings of the ids and of the positions, added and scaled. */
  private static Prelude prelude(Module m, int end) {
    Map<String, double[]> terms = new HashMap<>(); // value → (token coefficient, position coefficient)
    String token = null;
    String position = null;
    long offset = 0;
    String in = m.inputs().get(0).name();
    for (Op op : m.ops().subList(0, end)) {
      double[] t = null;
      if (op instanceof Embedding e && e.ids().name().equals(in)) {
        token = e.table().name();
        t = new double[] {1, 0};
      } else if (op instanceof Embedding e && constant(m, e.ids().name()) != null) {
        position = e.table().name();
        offset = constant(m, e.ids().name()).getLong(0);
        t = new double[] {0, 1};
      } else if (op instanceof Generic g && g.type().equals("Add") && g.operands().size() == 2
          && terms.containsKey(g.operands().get(0).name()) && terms.containsKey(g.operands().get(1).name())) {
        double[] a = terms.get(g.operands().get(0).name());
        double[] b = terms.get(g.operands().get(1).name());
        t = new double[] {a[0] + b[0], a[1] + b[1]};
      } else if (op instanceof Generic g && scalar(m, g) != null && terms.containsKey(g.operands().get(0).name())) {
        double s = scalar(m, g);
        double[] a = terms.get(g.operands().get(0).name());
        t = new double[] {a[0] * s, a[1] * s};
      } else if (!op.operands().isEmpty() && terms.containsKey(op.operands().get(0).name())) {
        int[] map = viewMap(m, op);
        if (map != null && identity(map)) {
          t = terms.get(op.operands().get(0).name());
        }
      }
      if (t == null) {
        throw MeshcException.input("%s: the host computes the embedding before the first layer, as lookups of the "
            + "ids and positions, added and scaled; %s is none of those", m.name(), op.name());
      }
      terms.put(op.result().name(), t);
    }
    double[] x = terms.get(m.ops().get(end).operands().get(0).name());
    if (token == null || x == null) {
      throw MeshcException.input("%s: no embedding of the token ids before the first layer", m.name());
    }
    return new Prelude(token, x[0], position, x[1], offset);
  }

  /** The factor of a Mul or Div of a value by a one-element constant; null for any other op. */
  private static Double scalar(Module m, Generic g) {
    if (!(g.type().equals("Mul") || g.type().equals("Div")) || g.operands().size() != 2) {
      return null;
    }
    Tensor c = constant(m, g.operands().get(1).name());
    if (c == null || c.size() != 1) {
      return null;
    }
    return g.type().equals("Mul") ? c.getDouble(0) : 1 / c.getDouble(0);
  }

  private static Tensor constant(Module m, String name) {
    for (Const c : m.consts()) {
      if (c.value().name().equals(name)) {
        return c.data();
      }
    }
    return null;
  }

  /**
   * For an op that only moves or copies its first operand's elements (a view: reshape, head split
   * or merge, transpose, slice, split, gather by constant indices): for each element of its
   * results in turn, the operand's element it is; null for any other op.
   */
  static int[] viewMap(Module m, Op op) {
    boolean view = op instanceof SplitHeads || op instanceof MergeHeads
        || op instanceof Generic g && VIEWS.contains(g.type());
    if (!view || op.operands().isEmpty()) {
      return null;
    }
    Value data = op.operands().get(0);
    int n = data.shape().elementsAsInt();
    if (n >= 1 << 24) {
      return null; // indices as fp32 stay exact below 2^24
    }
    float[] idx = new float[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    List<Tensor> in = new ArrayList<>();
    in.add(Tensor.ofFloats(dev.meshc.ir.DType.F32, data.shape(), idx));
    for (Value v : op.operands().subList(1, op.operands().size())) {
      Tensor c = constant(m, v.name());
      if (c == null) {
        return null;
      }
      in.add(c);
    }
    List<Tensor> out = ReferenceEvaluator.eval(op, in);
    int total = out.stream().mapToInt(Tensor::size).sum();
    int[] map = new int[total];
    int at = 0;
    for (Tensor t : out) {
      float[] f = t.floats();
      for (float v : f) {
        map[at++] = (int) v;
      }
    }
    return map;
  }

  static boolean identity(int[] map) {
    for (int i = 0; i < map.length; i++) {
      if (map[i] != i) {
        return false;
      }
    }
    return true;
  }

  /** The walk over one part's ops: every value's buffer, or the projection columns it still is. */
  private static final class Walk {
    /** A value that is columns (times factors) of a linear's output, not computed yet. */
    record Pending(Linear op, int index, int[] cols, float[] scale) {}

    final Module m;
    final long width;
    final long heads;
    final long headDim;
    final Map<String, Op> producer = new HashMap<>();
    final Map<Integer, Boolean> programOnX = new HashMap<>();
    final List<Array> arrays = new ArrayList<>();
    Rope rope;
    /** Per linear of the part being walked, the values of its output the mesh ops read (views of it), in order. */
    Map<Linear, List<String>> pieces = Map.of();

    Map<Linear, List<String>> pieces(List<Op> ops) {
      Map<String, Linear> of = new HashMap<>();
      Map<Linear, List<String>> out = new LinkedHashMap<>();
      for (Op op : ops) {
        if (op instanceof Linear l) {
          of.put(l.result().name(), l);
          continue;
        }
        boolean view = view(op) != null || op instanceof Generic g && scalar(m, g) != null;
        if (view && !op.operands().isEmpty() && of.containsKey(op.operands().get(0).name())) {
          Linear l = of.get(op.operands().get(0).name());
          op.results().forEach(r -> of.put(r.name(), l));
          continue;
        }
        for (Value v : op.operands()) {
          Linear l = of.get(v.name());
          if (l != null && !out.computeIfAbsent(l, k -> new ArrayList<>()).contains(v.name())) {
            out.get(l).add(v.name());
          }
        }
      }
      return out;
    }

    Walk(Module m, long width, long heads, long headDim) {
      this.m = m;
      this.width = width;
      this.heads = heads;
      this.headDim = headDim;
      for (Op op : m.ops()) {
        op.results().forEach(v -> producer.put(v.name(), op));
        if (op instanceof Rope r && rope == null) {
          rope = r;
        }
      }
      // the kernel program decides each GEMV's direction; the walk follows it
      List<KernelProgram.Invocation> program;
      try {
        program = KernelProgram.decode(m.ops(), 0, 1, i -> 2, 2, false);
      } catch (IllegalArgumentException notOneToken) { // a template refuses an op's shape at one token
        throw MeshcException.input("%s: the decode program cannot run its ops at one token: %s", m.name(),
            notOneToken.getMessage());
      }
      for (KernelProgram.Invocation inv : program) {
        if (inv.template() instanceof GemvKernel g && inv.role().equals("linear")) {
          programOnX.put(inv.op(), g.alongX());
        }
      }
    }

    private final Map<Op, java.util.Optional<int[]>> views = new HashMap<>();

    /** {@link #viewMap} of {@code op}, evaluated once per op. */
    int[] view(Op op) {
      return views.computeIfAbsent(op, o -> java.util.Optional.ofNullable(viewMap(m, o))).orElse(null);
    }

    /** The CSL tile of a vector of n values along an axis: the heads' vectors pair RoPE's channels. */
    Tile tile(long n, boolean onX) {
      return new Tile(n, onX && rope != null && n == heads * headDim);
    }

    Part part(List<Op> ops, int start, String prefix, boolean perLayer) {
      Map<String, Object> state = new LinkedHashMap<>();
      Set<Op> folded = new java.util.HashSet<>();
      List<Step> steps = new ArrayList<>();
      List<Buf> bufs = new ArrayList<>();
      Set<String> inside = new java.util.HashSet<>();
      ops.forEach(op -> op.results().forEach(v -> inside.add(v.name())));
      Map<String, int[]> need = needs(ops);
      pieces = pieces(ops);
      Map<Linear, Integer> gemvs = new HashMap<>();
      Buf x = new Buf("x", false, tile(width, false), null, "the residual");
      for (int j = 0; j < ops.size(); j++) {
        Op op = ops.get(j);
        int index = start + j;
        for (Value v : op.operands()) {
          if (!inside.contains(v.name()) && !m.weightNames().contains(v.name()) && constant(m, v.name()) == null
              && !state.containsKey(v.name())) {
            if (v.shape().elements() != width) {
              throw MeshcException.input("%s: %s reads %s from before its layer, which is not the residual", m.name(),
                  op.name(), v.name());
            }
            state.put(v.name(), x);
          }
        }
        String name = prefix + index;
        if (op instanceof Linear l) {
          if (l.x().shape().elements() != l.w().shape().dim(0)) {
            throw MeshcException.input("%s: %s multiplies %d rows; a decode step has one token", m.name(), op.name(),
                l.x().shape().elements() / l.w().shape().dim(0));
          }
          int n = (int) l.w().shape().dim(1);
          int[] cols = new int[n];
          float[] scale = new float[n];
          for (int i = 0; i < n; i++) {
            cols[i] = i;
            scale[i] = 1f;
          }
          state.put(l.result().name(), new Pending(l, index, cols, scale));
          // the views of its output, wherever they stand, before any of its pieces is computed
          for (Op later : ops.subList(j + 1, ops.size())) {
            if (!later.operands().isEmpty() && state.get(later.operands().get(0).name()) instanceof Pending p
                && p.op() == l && project(later, p, state)) {
              folded.add(later);
            }
          }
          continue;
        }
        if (folded.contains(op)) {
          continue;
        }
        int[] map = view(op);
        Double factor = op instanceof Generic g ? scalar(m, g) : null;
        if (map != null || factor != null) { // of a computed vector: the views of a projection were folded above
          Object u = state.get(op.operands().get(0).name());
          if (u instanceof Buf b && map != null && identity(map) && op.results().size() == 1) {
            state.put(op.result().name(), b);
            continue;
          }
          throw MeshcException.input("%s: %s %s of a computed vector; on the wafer that is a move the decode "
              + "program does not have", m.name(), op.name(), map != null ? "reorders the elements" : "scales",
              op.operands().get(0).name());
        }
        if (op instanceof Attention a) {
          if (a.q().shape().elements() != heads * headDim) {
            throw MeshcException.input("%s: %s has %d query values; a decode step has one token of %d heads × %d",
                m.name(), op.name(), a.q().shape().elements(), heads, headDim);
          }
          Buf q = operand(a.q(), state, need, steps, bufs, gemvs, prefix, perLayer);
          Buf k = operand(a.k(), state, need, steps, bufs, gemvs, prefix, perLayer);
          Buf v = operand(a.v(), state, need, steps, bufs, gemvs, prefix, perLayer);
          for (Buf b : List.of(q, k, v)) {
            if (!b.onX()) {
              throw MeshcException.input("%s: %s's operand %s lies along Y; the decode program's attention reads the "
                  + "heads along X", m.name(), op.name(), b.name());
            }
          }
          Buf out = new Buf(name, true, tile(heads * headDim, true), null, op.name());
          bufs.add(out);
          steps.add(new Attend(q.name(), k.name(), v.name(), out.name(), a.scale(), index));
          state.put(a.result().name(), out);
        } else if (op instanceof LayerNorm || op instanceof RmsNorm) {
          Buf in = operand(op.operands().get(0), state, need, steps, bufs, gemvs, prefix, perLayer);
          long w = op.operands().get(0).shape().dim(-1);
          long length = in.holds() == null ? op.operands().get(0).shape().elements() : in.holds().length;
          if (in.onX() && (length != heads * headDim || length % w != 0 || length / w > heads)) {
            throw MeshcException.input("%s: %s normalises rows of %d of a vector of %d along X; the decode program "
                + "normalises along X only the heads' vector, a row per head", m.name(), op.name(), w, length);
          }
          if (!in.onX() && length != w) {
            throw MeshcException.input("%s: %s normalises rows of %d of a vector along Y; the decode program "
                + "normalises the whole residual", m.name(), op.name(), w);
          }
          Buf out = new Buf(name, in.onX(), in.tile(), in.holds(), op.name());
          bufs.add(out);
          int[] gm = new int[(int) length];
          for (int i = 0; i < length; i++) {
            gm[i] = (int) ((in.holds() == null ? i : in.holds()[i]) % w);
          }
          String gamma = op.operands().size() > 1 ? vector("g_" + name, op, index, 1, in, gm, perLayer) : null;
          String beta = op.operands().size() > 2 ? vector("bt_" + name, op, index, 2, in, gm, perLayer) : null;
          double eps = op instanceof LayerNorm n ? n.eps() : ((RmsNorm) op).eps();
          steps.add(new Norm(out.name(), in.name(), gamma, beta, op instanceof LayerNorm, eps, in.tile(), length, w,
              in.onX(), index));
          state.put(op.result().name(), out);
        } else if (KernelProgram.localFn(op) != null) {
          LocalFn fn = KernelProgram.localFn(op);
          Buf a = operand(op.operands().get(0), state, need, steps, bufs, gemvs, prefix, perLayer);
          List<String> ins = new ArrayList<>(List.of(a.name()));
          if (fn.binary()) {
            Value bv = op.operands().get(1);
            need.putIfAbsent(bv.name(), a.holds());
            Buf b = operand(bv, state, need, steps, bufs, gemvs, prefix, perLayer);
            if (b.onX() != a.onX() || !java.util.Arrays.equals(b.holds(), a.holds())) {
              throw MeshcException.input("%s: %s's operands lie differently on the PEs (%s, %s); the decode program "
                  + "has no move to line them up", m.name(), op.name(), a.name(), b.name());
            }
            ins.add(b.name());
          }
          if (fn.rope()) {
            if (rope.rotaryDim() != ((Rope) op).rotaryDim() || rope.interleaved() != ((Rope) op).interleaved()) {
              throw MeshcException.input("%s: its RoPE ops rotate different channels", m.name());
            }
            if (!a.onX() || a.tile().n() != heads * headDim) {
              throw MeshcException.input("%s: %s rotates %s, which is not the query heads' vector along X", m.name(),
                  op.name(), op.operands().get(0).name());
            }
          }
          Buf out = new Buf(name, a.onX(), a.tile(), a.holds(), op.name());
          bufs.add(out);
          steps.add(new Local(out.name(), ins, fn, a.tile(), index));
          state.put(op.result().name(), out);
        } else {
          throw MeshcException.input("%s: %s runs on the host in the kernel program; in the decode program on the "
              + "wafer nothing does it", m.name(), op.name());
        }
      }
      // what the part leaves: the layer's residual in x, or the head's logits
      String result = perLayer ? null : m.outputs().get(0).name();
      if (perLayer) {
        for (int j = ops.size() - 1; j >= 0 && result == null; j--) {
          Value r = ops.get(j).results().get(0);
          if (r.shape().elements() == width && !(state.get(r.name()) instanceof Pending)) {
            result = r.name();
          }
        }
      }
      if (!perLayer && state.get(result) instanceof Pending) {
        operandInto(m.values().get(result), "logits", state, need, steps, bufs, gemvs, prefix, false);
      }
      Buf out = state.get(result) instanceof Buf b ? b : null;
      if (out == null || out.onX() == perLayer || out.holds() != null && !identity(out.holds())) {
        throw MeshcException.input("%s: the %s's result %s is not a vector along %s", m.name(), perLayer ? "layer"
            : "head", result, perLayer ? "Y" : "X");
      }
      if (perLayer && !out.name().equals("x")) {
        steps.add(new Copy("x", out.name(), out.tile(), "0"));
      } else if (!perLayer && !out.name().equals("logits")) {
        steps.add(new Copy("logits", out.name(), out.tile(), "0"));
      }
      return new Part(List.copyOf(steps), List.copyOf(bufs));
    }

    /**
     * A view or constant scale of pending projection columns {@code p}: its results are columns
     * of the same projection; false when {@code op} is neither.
     */
    private boolean project(Op op, Pending p, Map<String, Object> state) {
      int[] map = view(op);
      Double factor = op instanceof Generic g ? scalar(m, g) : null;
      if (map == null && factor == null) {
        return false;
      }
      int at = 0;
      for (Value r : op.results()) {
        int n = r.shape().elementsAsInt();
        int[] cols = new int[n];
        float[] scale = new float[n];
        for (int i = 0; i < n; i++) {
          int e = map == null ? i : map[at + i];
          cols[i] = p.cols()[e];
          scale[i] = (float) (p.scale()[e] * (factor == null ? 1 : factor));
        }
        at += n;
        state.put(r.name(), new Pending(p.op(), p.index(), cols, scale));
      }
      return true;
    }

    /**
     * How the attention kernels need q, k and v laid out (heads side by side; K and V expanded to
     * the query heads; RoPE pairs adjacent), carried back through the elementwise ops and plain
     * views before them to where the projection's GEMV computes them.
     */
    Map<String, int[]> needs(List<Op> ops) {
      Map<String, int[]> need = new HashMap<>();
      int d = (int) headDim;
      for (Op op : ops) {
        if (op instanceof Attention a) {
          int[] qo = order(a.q(), d);
          int[] ko = order(a.k(), d);
          int[] q = new int[(int) (heads * d)];
          int[] k = new int[q.length];
          int[] v = new int[q.length];
          for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d; i++) {
              q[h * d + i] = h * d + qo[i];
              k[h * d + i] = a.kvHead(h) * d + ko[i];
              v[h * d + i] = a.kvHead(h) * d + i;
            }
          }
          back(a.q(), q, need);
          back(a.k(), k, need);
          back(a.v(), v, need);
        }
      }
      return need;
    }

    private void back(Value v, int[] holds, Map<String, int[]> need) {
      Value at = v;
      for (int guard = 0; guard < 16; guard++) {
        need.put(at.name(), holds);
        Op p = producer.get(at.name());
        if (p == null || p.operands().isEmpty() || p.operands().get(0).shape().elements() != at.shape().elements()) {
          return;
        }
        boolean elementwise = p instanceof Rope || p instanceof LayerNorm || p instanceof RmsNorm
            || p instanceof dev.meshc.ir.op.Activation;
        int[] map = elementwise ? null : view(p);
        if (!elementwise && (map == null || !identity(map))) {
          return;
        }
        at = p.operands().get(0);
      }
    }

    /** The channel order within a head that puts each RoPE pair of {@code v}'s rotation side by side. */
    private int[] order(Value v, int d) {
      int[] o = new int[d];
      for (int i = 0; i < d; i++) {
        o[i] = i;
      }
      Value at = v;
      for (int guard = 0; guard < 16; guard++) {
        Op p = producer.get(at.name());
        if (p instanceof Rope r) {
          if (!r.interleaved()) {
            int half = (int) r.rotaryDim() / 2;
            for (int i = 0; i < half; i++) {
              o[2 * i] = i;
              o[2 * i + 1] = i + half;
            }
          }
          return o;
        }
        if (p == null || p.operands().isEmpty()) {
          return o;
        }
        at = p.operands().get(0);
      }
      return o;
    }

    private Buf operand(Value v, Map<String, Object> state, Map<String, int[]> need, List<Step> steps,
        List<Buf> bufs, Map<Linear, Integer> gemvs, String prefix, boolean perLayer) {
      return operandInto(v, null, state, need, steps, bufs, gemvs, prefix, perLayer);
    }

    /** A value as a buffer: a pending projection is computed now, in the order the consumer needs. */
    private Buf operandInto(Value v, String named, Map<String, Object> state, Map<String, int[]> need,
        List<Step> steps, List<Buf> bufs, Map<Linear, Integer> gemvs, String prefix, boolean perLayer) {
      Object s = state.get(v.name());
      if (s instanceof Buf b) {
        return b;
      }
      if (!(s instanceof Pending p)) {
        throw MeshcException.input("%s: %s is not computed on the wafer", m.name(), v.name());
      }
      Object in = state.get(p.op().x().name());
      if (!(in instanceof Buf x)) {
        throw MeshcException.input("%s: %s's input is not on the wafer", m.name(), p.op().name());
      }
      Boolean onX = programOnX.get(p.index());
      if (onX == null || onX != x.onX()) {
        throw new IllegalStateException("the decode CSL walk and the kernel program disagree on " + p.op().name()
            + "'s direction");
      }
      // every piece of the projection computed so far is computed now, by one GEMV (as the program
      // has one), each piece's tile side by side on the PE, then copied out
      List<String> group = new ArrayList<>();
      for (String u : pieces.getOrDefault(p.op(), List.of(v.name()))) {
        if (state.get(u) instanceof Pending pu && pu.op() == p.op()) {
          group.add(u);
        }
      }
      if (!group.contains(v.name())) {
        group = List.of(v.name());
      }
      String base = prefix + p.index();
      boolean one = group.size() == 1;
      List<Cols> parts = new ArrayList<>();
      List<Buf> outs = new ArrayList<>();
      for (int g = 0; g < group.size(); g++) {
        Pending pu = (Pending) state.get(group.get(g));
        int[] holds = need.get(group.get(g));
        int n = holds == null ? pu.cols().length : holds.length;
        int[] cols = new int[n];
        float[] scale = new float[n];
        for (int i = 0; i < n; i++) {
          int e = holds == null ? i : holds[i];
          cols[i] = pu.cols()[e];
          scale[i] = pu.scale()[e];
        }
        Tile t = tile(n, !x.onX());
        parts.add(new Cols(t, cols, scale));
        String name = one && named != null ? named : "v_" + base + (one ? "" : "_" + (g + 1));
        Buf out = new Buf(name, !x.onX(), t, holds, p.op().name() + (one ? "" : ", piece " + (g + 1)));
        if (!name.equals(named)) {
          bufs.add(out);
        }
        outs.add(out);
      }
      if (gemvs.merge(p.op(), 1, Integer::sum) > 1) {
        throw MeshcException.input("%s: %s's output is read again after its pieces were computed; the decode "
            + "program computes a projection once", m.name(), p.op().name());
      }
      String out = one ? outs.get(0).name() : "v_" + base;
      if (!one) {
        bufs.add(new Buf(out, !x.onX(), null, null, p.op().name() + ", all pieces"));
      }
      long rows = p.op().w().shape().dim(0);
      int[] rowMap = x.holds();
      if (rowMap == null) {
        rowMap = new int[(int) rows];
        for (int i = 0; i < rows; i++) {
          rowMap[i] = i;
        }
      }
      String w = "w_" + base;
      arrays.add(new Array(w, perLayer, x.onX() ? "blocks_t" : "blocks", x.tile(), parts, rowMap,
          sources(p.index(), 1, perLayer), p.op().name()));
      String bias = null;
      if (p.op().bias() != null) {
        bias = "b_" + base;
        arrays.add(new Array(bias, perLayer, x.onX() ? "rows" : "cols", null, parts, null,
            sources(p.index(), 2, perLayer), p.op().name() + " bias"));
      }
      List<Tile> tiles = parts.stream().map(Cols::tile).toList();
      steps.add(new Gemv(out, x.name(), w, x.tile(), tiles, x.onX(), bias, p.index()));
      String offset = "0";
      for (int g = 0; g < group.size(); g++) {
        state.put(group.get(g), outs.get(g));
        if (!one) {
          steps.add(new Copy(outs.get(g).name(), out, outs.get(g).tile(), offset));
          offset = offset.equals("0") ? tiles.get(g).name() : offset + " + " + tiles.get(g).name();
        }
      }
      return (Buf) state.get(v.name());
    }

    private int startOf(int index, boolean perLayer) {
      return perLayer ? m.layers().get(0).start() : m.layers().get(m.layers().size() - 1).end();
    }

    /** A norm's γ or β as a vector laid out as its input is. */
    private String vector(String symbol, Op op, int index, int operand, Buf in, int[] map, boolean perLayer) {
      arrays.add(new Array(symbol, perLayer, in.onX() ? "cols" : "rows", null, List.of(new Cols(in.tile(), map, null)),
          null, sources(index, operand, perLayer), op.name() + (operand == 1 ? " scale" : " shift")));
      return symbol;
    }

    /** Operand {@code operand} of op {@code index} (of layer 0) in every layer, or of the head op once. */
    private List<Src> sources(int index, int operand, boolean perLayer) {
      List<Src> out = new ArrayList<>();
      int offset = index - startOf(index, perLayer);
      for (Layer l : perLayer ? m.layers() : List.of(m.layers().get(0))) {
        Op op = m.ops().get(perLayer ? l.start() + offset : index);
        String name = op.operands().get(operand).name();
        Weight w = m.weights().stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
        if (w == null) {
          throw MeshcException.input("%s: %s's operand %s is not a weight of the ONNX file", m.name(), op.name(),
              name);
        }
        out.add(new Src(w.source(), w.perm()));
      }
      return out;
    }
  }
}
