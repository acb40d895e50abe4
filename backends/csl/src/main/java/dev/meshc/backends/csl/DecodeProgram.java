package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.DecodeFabric;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.kernel.LocalFn;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The PE program of a decode region ({@code decode.csl}): one PE's weight tiles and KV cache, and
 * WaferLLM's decode chain over them, layer by layer. The all-reduces are the K-tree's phases as
 * synchronous fabric DSD operations (element-pipelined chains), one set per axis, each PE running
 * its steps from a table meshc computed from {@code KTree}; a PE reads its place at run time
 * ({@code <layout>}), so one program serves a region. Elementwise work (norms, RoPE, softmax,
 * activations) is plain loops, as a reviewer reads them.
 */
final class DecodeProgram {
  private DecodeProgram() {}

  /**
   * decode.csl for {@code target}'s SDK, printed from the decode program {@code d} (a layer's
   * steps and the head's, see {@link DecodeModel}); {@code rerouted} (queues bound to colours,
   * WSE-3): five colours switched between the column tree, the row tree and the KV shift at run
   * time (see {@link DecodeFabric}), else every route static.
   */
  static String text(DecodeModel d, CslProject.Target target, boolean rerouted, List<DecodeCsl.Region> regions,
      List<HandoffCsl.Link> links) {
    CslText c = new CslText();
    c.line("// meshc: one PE of a decode region of %s (%s, Cerebras SDK %s). layout.csl places the regions;", d.name(),
        target.arch, target.sdk);
    c.line("// layer() and head() are the model's ops in order, as meshc's kernel program runs them. Storage and");
    c.line("// arithmetic are fp16; norm statistics are summed in f32 on each PE.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    sizes(c);
    for (String ax : rerouted ? new String[] {"c_"} : new String[] {"cy_", "cx_"}) {
      StringBuilder b = new StringBuilder();
      for (String n : KTreeCsl.NAMES) {
        b.append(b.length() == 0 ? "" : " ").append("param ").append(ax).append(n).append(": color;");
      }
      c.line(b.toString());
    }
    if (rerouted) {
      c.line("// the routes of the five colours in each configuration, this PE's (layout.csl computes them)");
      for (String cfg : DecodeFabric.CONFIGS) {
        c.line("param %s%s: comptime_struct;", Layout.CONFIG_PARAM, cfg);
      }
    } else {
      c.line("param cs0: color;");
      c.line("param cs1: color;");
    }
    if (!links.isEmpty()) {
      c.line("// the residual's hand-offs on the fabric (layout.csl, from meshc's Handoff)");
      c.line("param h_in: color; // the colour it comes in on from the previous region");
      c.line("param h_recv: bool; // whether this region takes it in so (else the host writes it)");
      c.line("param h_out: color; // the colour it goes on to the next region");
      c.line("param h_send: bool; // whether this PE sends its row's part on (one PE per row)");
    }
    c.blank();
    c.line("const sys_mod = @import_module(\"<memcpy/memcpy>\", memcpy_params);");
    c.line("const math = @import_module(\"<math>\");");
    c.line("const layout_mod = @import_module(\"<layout>\");");
    c.blank();
    storage(c, d);
    DecodeModel.Tile xt = x(d);
    place(c, regions, links);
    lines(c, regions, rerouted);
    c.blank();
    c.line("// a vector over memory, rebased at run time");
    c.line("const mem0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{1} -> x[k] });");
    c.line("fn vec(p: [*]f16, n: i16) mem1d_dsd {");
    c.line("return @set_dsd_length(@set_dsd_base_addr(mem0, p), @as(u16, n));");
    c.line("}");
    c.blank();
    c.line("// the same, from element off of p");
    c.line("fn vec_at(p: [*]f16, off: i16, n: i16) mem1d_dsd {");
    c.line("return @increment_dsd_offset(vec(p, n), off, f16);");
    c.line("}");
    c.blank();
    c.line("// y[0:n] = x[0:k] · W[k, n] over this PE's tile at w[off] (row-major): y += x[i] · W[i, :] (fp16)");
    c.line("fn gemv(xin: [*]f16, k: i16, w: [*]f16, off: i16, n: i16, y: [*]f16) void {");
    c.line("@fmovh(vec(y, n), 0.0);");
    c.line("var row = vec_at(w, off, n);");
    c.line("var i: i16 = 0;");
    c.line("while (i < k) : (i += 1) {");
    c.line("@fmach(vec(y, n), vec(y, n), row, xin[i]);");
    c.line("row = @increment_dsd_offset(row, n, f16);");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// dst[0:n] += src[off:off + n]");
    c.line("fn add(dst: [*]f16, src: [*]f16, off: i16, n: i16) void {");
    c.line("@faddh(vec(dst, n), vec(dst, n), vec_at(src, off, n));");
    c.line("}");
    c.blank();
    DecodeFabric.Queues q = new DecodeFabric.Queues(rerouted); // every queue ID below is the rule's
    if (rerouted) {
      reroute(c, q);
    } else {
      c.line("// queues: memcpy keeps 0 and 1; on WSE-2 one queue serves several colours used one after another");
    }
    axis(c, q, "y", "py", rerouted ? "c_" : "cy_", rerouted ? "COLUMN" : null);
    axis(c, q, "x", "px", rerouted ? "c_" : "cx_", rerouted ? "ROW" : null);
    c.line("// the KV shift%s: a row sends north on the colour its line class names, takes the row below's", rerouted
        ? " (the phase-1 pair, in the shift configuration)" : "");
    String[] shift = rerouted ? new String[] {"c_p1_0", "c_p1_1"} : new String[] {"cs0", "cs1"};
    for (int k = 0; k < 2; k++) {
      fabric(c, "shift_send" + k, false, shift[k], q.shiftOutput(k));
      fabric(c, "shift_recv" + k, true, shift[k], q.shiftInput(k));
    }
    c.line("fn shift_send() fabout_dsd {");
    c.line("if (line_steps[line_class[py] * LINE + STEPS] == 0) { return shift_send0; }");
    c.line("return shift_send1;");
    c.line("}");
    c.line("fn shift_recv() fabin_dsd {");
    c.line("if (line_steps[line_class[py] * LINE + STEPS + 1] == 0) { return shift_recv0; }");
    c.line("return shift_recv1;");
    c.line("}");
    c.blank();
    if (!links.isEmpty()) {
      handoff(c, xt, q);
    }
    Set<String> kinds = new TreeSet<>();
    for (DecodeModel.Step s : steps(d)) {
      kinds.add(kind(s));
    }
    for (String k : kinds) {
      String body = FNS.get(k);
      if (body != null) {
        c.text(body);
        c.blank();
      }
    }
    if (kinds.contains("attend")) {
      c.text(rerouted ? KV.replace(SHIFT_START, "  reroute(SHIFT);\n" + SHIFT_START) : KV);
      c.blank();
      c.text(ATTEND);
      c.blank();
    }
    c.line("// one layer: its ops in the model's order (meshc's kernel program), layer l's weights and cache");
    c.line("fn layer(l: i16, t: i16) void {");
    for (DecodeModel.Step s : d.layer().steps()) {
      step(c, s, "l");
    }
    c.line("}");
    c.blank();
    c.line("// after the last layer: the head, to the logits");
    c.line("fn head() void {");
    for (DecodeModel.Step s : d.head().steps()) {
      step(c, s, "0");
    }
    c.line("}");
    c.blank();
    if (links.isEmpty()) {
      c.line("// the host launches this once per region per token (t: tokens already in the cache); only the");
      c.line("// region asked for works, the others let memcpy go on at once");
      c.line("fn step(r: i16, t: i16) void {");
      c.line("place();");
      c.line("if (r == region) {");
    } else {
      c.line("// the host launches this once per chain of regions per token (r: its first region; t: tokens");
      c.line("// already in the cache): the chain's regions work, each taking the residual from the one before");
      c.line("// on the fabric and handing it on; the others let memcpy go on at once");
      c.line("fn step(r: i16, t: i16) void {");
      c.line("place();");
      c.line("if (region >= 0 and r == chain) {");
      c.line("if (h_recv) {");
      c.line("@fmovh(vec(&x, %s), handoff_in);", xt.name());
      c.line("}");
    }
    c.line("var l: i16 = 0;");
    c.line("while (l < L) : (l += 1) {");
    c.line("layer(l, t);");
    c.line("}");
    c.line("if (lm_head) {");
    c.line("head();");
    c.line("}");
    if (!links.isEmpty()) {
      c.line("if (h_send) {");
      c.line("@fmovh(handoff_out, vec(&x, %s));", xt.name());
      c.line("}");
    }
    c.line("}");
    c.line("sys_mod.unblock_cmd_stream();");
    c.line("}");
    c.blank();
    c.line("comptime {");
    for (String s : symbols(d)) {
      c.line("@export_symbol(%s_ptr, \"%s\");", s, s);
    }
    c.line("@export_symbol(step);");
    c.line("}");
    return c.toString();
  }

  /** The KV cache's arrays: K transposed, V, and the ring's start and count per layer. */
  static final String[] KV_CACHE = {"k_t", "v_c", "kv_start", "kv_count"};

  /** The params {@link #storage} sizes everything by: what layout.csl gives each region's PEs. */
  static void sizes(CslText c) {
    c.line("// what the PEs of a region hold: one program for the region's every PE, which reads where it sits");
    c.line("param P: i16; // region side");
    c.line("param L: i16; // layers in the region");
    c.line("param St: i16; // KV slots per PE (max context / P)");
    c.line("param lm_head: bool; // the region ends with the head (final norm, logits)");
    c.line("param idle: bool; // a PE no region holds: every tile one value");
  }

  /**
   * Everything a decode PE stores: every top-level {@code var} of decode.csl, with the tile sizes
   * they are declared by, in terms of the params P, L, St, lm_head and idle. Printed once into
   * decode.csl and, alone under those params, evaluated by {@link DecodeMemory} with check-csl's own
   * evaluator: the plan's memory per PE is what this declares. (Top-level declarations are
   * order-free in CSL, so the block may stand before what reads it.)
   */
  static void storage(CslText c, DecodeModel d) {
    c.line("// the model (from meshc)");
    c.line("const H: i16 = %d; // query heads (K and V are stored expanded to them)", d.heads());
    c.line("const D: i16 = %d; // head dim", d.headDim());
    c.blank();
    Set<DecodeModel.Tile> tiles = new TreeSet<>(Comparator.comparing(DecodeModel.Tile::n)
        .thenComparing(DecodeModel.Tile::even));
    List<DecodeModel.Buf> bufs = new ArrayList<>(d.layer().bufs());
    bufs.addAll(d.head().bufs());
    bufs.stream().filter(b -> b.tile() != null).forEach(b -> tiles.add(b.tile()));
    for (DecodeModel.Array a : d.arrays()) {
      a.parts().forEach(pt -> tiles.add(pt.tile()));
      if (a.rows() != null) {
        tiles.add(a.rows());
      }
    }
    DecodeModel.Tile xt = x(d);
    DecodeModel.Tile lt = logits(d);
    DecodeModel.Tile qt = heads(d);
    tiles.addAll(List.of(xt, lt, qt));
    c.line("// per-PE tiles of the vectors: n values split over the region's side (even ones keep RoPE pairs)");
    for (DecodeModel.Tile t : tiles) {
      c.line("const %s: i16 = if (idle) %d else %s;", t.name(), t.even() ? 2 : 1, t.even()
          ? "((" + t.n() + " + P - 1) / P + 1) / 2 * 2" : "(" + t.n() + " + P - 1) / P");
    }
    c.line("const Qt: i16 = %s; // the heads' vector: q, K and V per head, attention's output", qt.name());
    c.line("const LA: i16 = if (L > 0) L else 1; // layers the arrays hold (a region of the head alone has none)");
    c.blank();
    c.line("// this PE's place (place() sets it)");
    c.line("var chain: i16 = -1; // this PE's region's chain of hand-offs on the fabric (-1: none)");
    c.line("var routed: i16 = -1; // the routes set at run time (WSE-3's reroute(); none yet: the first switch sets them)");
    c.line("var region: i16 = -1; // this PE's region; -1 for a PE no region holds");
    c.line("var px: i16 = 0; // column in the region: index on the row K-tree");
    c.line("var py: i16 = 0; // row in the region: index on the column K-tree, and the KV cache row");
    c.blank();
    c.line("// weights, per layer of the region (run.py writes them once, tiled as weights.json says)");
    c.line("// (one value where the region has no layers; the head's only where the region ends with it)");
    for (DecodeModel.Array a : d.arrays()) {
      String cols = String.join(" + ", a.parts().stream().map(pt -> pt.tile().name()).toList());
      String size = (a.perLayer() ? "L * " : "") + (a.rows() != null ? a.rows().name() + " * " : "")
          + (a.parts().size() > 1 ? "(" + cols + ")" : cols);
      c.line("const N_%s: i16 = if (%s) %s else 1;", a.symbol(), a.perLayer() ? "L > 0" : "lm_head", size);
      size = "N_" + a.symbol();
      c.line("var %s: [%s]f16 = @zeros([%s]f16); // %s (%s)", a.symbol(), size, size, a.what(), describe(a.tiling()));
    }
    c.blank();
    c.line("// the KV cache: slots of this PE's row of the region; K kept transposed (row = head dim) so q·Kᵀ is a");
    c.line("// GEMV; slots are a ring (start, count) per layer");
    c.line("const N_kv: i16 = if (L > 0) L * Qt * St else 1;");
    for (int i = 0; i < KV_CACHE.length; i++) {
      String type = i < 2 ? "[N_kv]f16" : "[LA]i16";
      c.line("var %s: %s = @zeros(%s);", KV_CACHE[i], type, type);
    }
    c.blank();
    c.line("// activations: one per value of a layer and of the head");
    c.line("var x: [%s]f16 = @zeros([%s]f16); // the residual, along Y (the host moves it between regions)", xt.name(),
        xt.name());
    c.line("const N_logits: i16 = if (lm_head) %s else 1;", lt.name());
    c.line("var logits: [N_logits]f16 = @zeros([N_logits]f16); // along X");
    for (DecodeModel.Buf b : bufs) {
      String size = b.tile() != null ? b.tile().name() : "(" + written(d, b.name()).size() + ")";
      if (d.head().bufs().contains(b)) {
        c.line("const N_%s: i16 = if (lm_head) %s else 1;", b.name(), size);
        size = "N_" + b.name();
      }
      c.line("var %s: [%s]f16 = @zeros([%s]f16); // %s, along %s", b.name(), size, size, b.what(),
          b.onX() ? "X" : "Y");
    }
    c.line("var sc: [H * St]f16 = @zeros([H * St]f16); // scores, then probabilities, per head over the slots");
    c.line("var stat: [H]f16 = @zeros([H]f16); // a statistic per row (a head), all-reduced");
    c.line("var stat2: [H]f16 = @zeros([H]f16);");
    c.line("var stage: [2 * Qt]f16 = @zeros([2 * Qt]f16); // a K column and V row moving north");
    c.line("var rope_cs: [Qt]f16 = @zeros([Qt]f16); // cos, sin of each local pair at this token (the host)");
    for (String s : symbols(d)) {
      c.line("var %s_ptr: [*]f16 = &%s;", s, s);
    }
  }

  /** The PE arrays the host writes or reads, as decode.csl and layout.csl export them. */
  static List<String> symbols(DecodeModel d) {
    List<String> s = new ArrayList<>();
    d.arrays().forEach(a -> s.add(a.symbol()));
    s.addAll(List.of("x", "rope_cs", "logits"));
    return s;
  }

  /** The residual's tile, along Y. */
  static DecodeModel.Tile x(DecodeModel d) {
    return new DecodeModel.Tile(d.width(), false);
  }

  /** The heads' vector's tile (q, K, V, attention's output) along X; even when RoPE pairs ride on it. */
  static DecodeModel.Tile heads(DecodeModel d) {
    return new DecodeModel.Tile(d.heads() * d.headDim(), d.rope() != null);
  }

  /** The logits' tile along X: the head's last step writes it. */
  static DecodeModel.Tile logits(DecodeModel d) {
    for (DecodeModel.Step s : d.head().steps()) {
      if (s instanceof DecodeModel.Gemv g && g.out().equals("logits")) {
        return g.n().get(0);
      } else if (s instanceof DecodeModel.Copy cp && cp.out().equals("logits")) {
        return cp.t();
      }
    }
    throw new IllegalStateException("the head writes no logits");
  }

  /** The GEMV that writes a fused projection's buffer of all pieces. */
  private static DecodeModel.Gemv written(DecodeModel d, String buf) {
    for (DecodeModel.Step s : steps(d)) {
      if (s instanceof DecodeModel.Gemv g && g.out().equals(buf)) {
        return g;
      }
    }
    throw new IllegalStateException("no GEMV writes " + buf);
  }

  private static List<DecodeModel.Step> steps(DecodeModel d) {
    List<DecodeModel.Step> all = new ArrayList<>(d.layer().steps());
    all.addAll(d.head().steps());
    return all;
  }

  private static String describe(String tiling) {
    return switch (tiling) {
      case "blocks" -> "rows: input block py; columns: output block px";
      case "blocks_t" -> "pre-transposed: rows input block px; columns output block py";
      case "rows" -> "block py";
      default -> "block px";
    };
  }

  /** Which fixed function a step calls. */
  private static String kind(DecodeModel.Step s) {
    if (s instanceof DecodeModel.Norm n) {
      return n.onX() ? "norm_x" : "norm_y";
    } else if (s instanceof DecodeModel.Local l) {
      return l.fn().algorithm();
    } else if (s instanceof DecodeModel.Attend) {
      return "attend";
    }
    return "";
  }

  /** One step of layer() or head(); {@code l} is the layer index expression (0 in the head). */
  private static void step(CslText c, DecodeModel.Step s, String l) {
    if (s instanceof DecodeModel.Gemv g) {
      String n = g.n().size() > 1 ? "(" + g.size() + ")" : g.size();
      String off = l.equals("0") ? "0" : l + " * " + g.k().name() + " * " + n;
      c.line("gemv(&%s, %s, &%s, %s, %s, &%s); // op %d: %s%s", g.in(), g.k().name(), g.w(), off, n, g.out(), g.op(),
          g.onX() ? "X → Y, W pre-transposed" : "Y → X", g.n().size() > 1 ? ", " + g.n().size() + " pieces" : "");
      c.line("%s_allreduce(&%s, %s, false);", g.onX() ? "x" : "y", g.out(), n);
      if (g.bias() != null) {
        c.line("add(&%s, &%s, %s, %s);", g.out(), g.bias(), l.equals("0") ? "0" : l + " * " + n, n);
      }
    } else if (s instanceof DecodeModel.Norm n) {
      String off = l.equals("0") ? "0" : l + " * " + n.t().name();
      c.line("%s(&%s, &%s, %s, %d, %d, &%s, %s, %s, &%s, %s, %s, %s, %s); // op %d", n.onX() ? "norm_x" : "norm_y",
          n.in(), n.out(), n.t().name(), n.length(), n.width(), n.gamma() != null ? n.gamma() : "x", off, n.gamma() != null,
          n.beta() != null ? n.beta() : "x", off, n.beta() != null, n.layerNorm(), num(n.eps()), n.op());
    } else if (s instanceof DecodeModel.Local lo) {
      String fn = lo.fn().algorithm();
      String t = lo.t().name();
      switch (lo.fn().kind()) {
        case ADD -> c.line("@faddh(vec(&%s, %s), vec(&%s, %s), vec(&%s, %s)); // op %d", lo.out(), t, lo.in().get(0),
            t, lo.in().get(1), t, lo.op());
        case MUL -> c.line("@fmulh(vec(&%s, %s), vec(&%s, %s), vec(&%s, %s)); // op %d", lo.out(), t, lo.in().get(0),
            t, lo.in().get(1), t, lo.op());
        case GATED -> c.line("%s(&%s, &%s, &%s, %s); // op %d", fn, lo.out(), lo.in().get(0), lo.in().get(1), t,
            lo.op());
        default -> c.line("%s(&%s, &%s, %s); // op %d", fn, lo.out(), lo.in().get(0), t, lo.op());
      }
    } else if (s instanceof DecodeModel.Attend a) {
      c.line("kv_update(l, t, &%s, &%s); // op %d: the KV-shift step", a.k(), a.v(), a.op());
      c.line("attend(l, &%s, &%s, %s); // op %d", a.q(), a.out(), num(a.scale()), a.op());
    } else if (s instanceof DecodeModel.Copy cp) {
      c.line("@fmovh(vec(&%s, %s), %s);", cp.out(), cp.t().name(), cp.offset().equals("0")
          ? "vec(&" + cp.in() + ", " + cp.t().name() + ")" : "vec_at(&" + cp.in() + ", " + cp.offset() + ", "
          + cp.t().name() + ")");
    }
  }

  private static String num(double v) {
    String s = String.format(Locale.ROOT, "%.9g", v);
    if (!s.contains(".") && !s.contains("e")) {
      s += ".0";
    }
    return s.contains("e") && !s.contains(".") ? s.replace("e", ".0e") : s;
  }

  /**
   * WSE-3: the five colours' queues (colour k of the tree's five ↔ its own input and output queue, {@link DecodeFabric.Queues},
   * bound for good) and the switch between the router configurations layout.csl computed.
   */
  private static void reroute(CslText c, DecodeFabric.Queues q) {
    c.line("// queues: memcpy keeps 0 and 1; on WSE-3 a queue is bound to one colour, so colour k of the five");
    c.line("// takes input and output queue 2 + k whichever way it is routed");
    c.line("comptime {");
    for (int k = 0; k < KTreeCsl.NAMES.length; k++) {
      c.line("@initialize_queue(@get_input_queue(%d), .{ .color = c_%s });", q.treeInput(k), KTreeCsl.NAMES[k]);
      c.line("@initialize_queue(@get_output_queue(%d), .{ .color = c_%s });", q.treeOutput(k), KTreeCsl.NAMES[k]);
    }
    c.line("}");
    c.blank();
    c.line("// The routers' configuration (WaferLLM's WSE-3 decode re-routes the same way): the column K-tree,");
    c.line("// the row K-tree, or the KV shift. Each all-reduce and the shift switch first; a PE switches once its");
    c.line("// previous all-reduce has ended, when nothing of it is left in its router.");
    c.line("const tile_config = @import_module(\"<tile_config>\");");
    String[] names = {"COLUMN", "ROW", "SHIFT"};
    for (int i = 0; i < names.length; i++) {
      c.line("const %s: i16 = %d;", names[i], i);
    }
    c.blank();
    c.line("fn reroute(config: i16) void {");
    c.line("if (config == routed) {");
    c.line("return;");
    c.line("}");
    for (int i = 0; i < names.length; i++) {
      c.line("%sif (config == %s) {", i == 0 ? "" : "} else ", names[i]);
      for (String n : KTreeCsl.NAMES) {
        c.line("tile_config.color_config.reset_routes(c_%s, %s%s.c_%s);", n, Layout.CONFIG_PARAM,
            DecodeFabric.CONFIGS.get(i), n);
      }
    }
    c.line("}");
    c.line("routed = config;");
    c.line("}");
    c.blank();
  }

  /**
   * One axis' fabric DSDs (colour k of the tree's five on the queues {@link DecodeFabric.Queues}
   * gives it) and its
   * all-reduce ({@code <ax>_allreduce}), which runs this PE's steps of the line's table; {@code
   * config} names the router configuration it switches to first (WSE-3), or is null.
   */
  private static void axis(CslText c, DecodeFabric.Queues q, String ax, String index, String col, String config) {
    String v = ax + "_";
    String line = ax.equals("y") ? "column" : "row";
    c.line("// the %s K-tree's colours, and a PE's steps on it (the class of its index %s)", line, index);
    for (int k = 0; k < KTreeCsl.NAMES.length; k++) {
      fabric(c, v + "in" + k, true, col + KTreeCsl.NAMES[k], q.treeInput(k));
      fabric(c, v + "out" + k, false, col + KTreeCsl.NAMES[k], q.treeOutput(k));
    }
    for (String dir : new String[] {"in", "out"}) {
      c.line("fn %s%s(k: i16) %s {", v, dir, dir.equals("in") ? "fabin_dsd" : "fabout_dsd");
      for (int k = 0; k < KTreeCsl.NAMES.length - 1; k++) {
        c.line("if (k == %d) { return %s%s%d; }", k, v, dir, k);
      }
      c.line("return %s%s%d;", v, dir, KTreeCsl.NAMES.length - 1);
      c.line("}");
    }
    c.blank();
    c.line("// all-reduce buf[0:n] along the %s (sum, or max): this PE's steps of the K-tree in order", line);
    c.line("fn %sallreduce(buf: [*]f16, n: i16, use_max: bool) void {", v);
    c.line("if (P == 1) {");
    c.line("return;");
    c.line("}");
    if (config != null) {
      c.line("reroute(%s);", config);
    }
    c.line("const b = vec(buf, n);");
    c.line("const len = @as(u16, n);");
    c.line("const at: i16 = line_class[%s] * LINE;", index);
    c.line("var s: i16 = 0;");
    c.line("while (s < STEPS) : (s += 1) {");
    c.line("const step: i16 = line_steps[at + s];");
    c.line("const kind: i16 = step / 64;");
    c.line("const cin = @set_dsd_length(%sin((step / 8) %% 8), len);", v);
    c.line("const cout = @set_dsd_length(%sout(step %% 8), len);", v);
    c.line("if (kind == SEND) {");
    c.line("@fmovh(cout, b);");
    c.line("} else if (kind == RELAY) {");
    c.line("%s", combine("cout", "cin", "b"));
    c.line("} else if (kind == RECV) {");
    c.line("%s", combine("b", "b", "cin"));
    c.line("} else if (kind == STORE) {");
    c.line("@fmovh(b, cin);");
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
  }

  /** The wafer's regions as tables, and {@code place()}: where this PE sits, read from {@code <layout>} at run time. */
  private static void place(CslText c, List<DecodeCsl.Region> regions, List<HandoffCsl.Link> links) {
    int[][] t = new int[5][regions.size()];
    for (int i = 0; i < regions.size(); i++) {
      DecodeCsl.Region r = regions.get(i);
      t[0][i] = r.index();
      t[1][i] = r.x();
      t[2][i] = r.y();
      t[3][i] = r.p();
      t[4][i] = HandoffCsl.chain(links, r.index());
    }
    c.line("// this wafer's regions (meshc's plan): index, corner and side");
    c.line("const REGIONS: i16 = %d;", regions.size());
    c.line("const region_index = %s;", KTreeCsl.table(t[0]));
    c.line("const region_x = %s;", KTreeCsl.table(t[1]));
    c.line("const region_y = %s;", KTreeCsl.table(t[2]));
    c.line("const region_p = %s;", KTreeCsl.table(t[3]));
    if (!links.isEmpty()) {
      c.line("const region_chain = %s; // the first region of its chain on the fabric", KTreeCsl.table(t[4]));
    }
    c.blank();
    c.line("fn place() void {");
    c.line("const x = @as(i16, layout_mod.get_x_coord());");
    c.line("const y = @as(i16, layout_mod.get_y_coord());");
    c.line("var r: i16 = 0;");
    c.line("while (r < REGIONS) : (r += 1) {");
    c.line("if (x >= region_x[r] and x < region_x[r] + region_p[r] and y >= region_y[r] and y < region_y[r] + "
        + "region_p[r]) {");
    c.line("region = region_index[r];");
    if (!links.isEmpty()) {
      c.line("chain = region_chain[r];");
    }
    c.line("px = x - region_x[r];");
    c.line("py = y - region_y[r];");
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
  }

  /**
   * Each index's class on a line of P PEs, and each class's part: its steps of the K-tree
   * all-reduce ({@link KTreeCsl#steps}, from meshc's KTree) and which of the KV shift's two colours
   * that row sends on and takes in (from DecodeFabric; -1 for none). Both axes of a square region
   * index the one table.
   */
  private static void lines(CslText c, List<DecodeCsl.Region> regions, boolean rerouted) {
    Map<List<Integer>, Integer> ids = new LinkedHashMap<>();
    Map<Integer, int[]> tables = new TreeMap<>();
    for (DecodeCsl.Region r : regions) {
      if (r.p() > 1 && !tables.containsKey(r.p())) {
        DecodeFabric f = new DecodeFabric(r.p(), 0, rerouted);
        List<List<Integer>> keys = new ArrayList<>();
        for (int i = 0; i < r.p(); i++) {
          List<Integer> k = new ArrayList<>(KTreeCsl.steps(f.column(), i));
          List<Route> shift = rerouted ? f.routes("shift", 0, i) : f.routes(0, i);
          int out = -1;
          int in = -1;
          for (Route rt : shift) {
            int colour = rt.color() - (rerouted ? DecodeFabric.Y_BASE : DecodeFabric.SHIFT_BASE);
            if (!rerouted && rt.color() < DecodeFabric.SHIFT_BASE) {
              continue;
            }
            if (rt.sends()) {
              out = colour;
            } else if (rt.tx().contains(Dir.RAMP)) {
              in = colour;
            }
          }
          k.add(out);
          k.add(in);
          keys.add(k);
        }
        tables.put(r.p(), KTreeCsl.classes(keys, ids));
      }
    }
    c.line("// a PE's part on a line of P PEs by its index: a class per distinct part (meshc's KTree and");
    c.line("// DecodeFabric), per class STEPS steps of the K-tree all-reduce, each kind · 64 + in · 8 + out (colours");
    c.line("// within the tree's five), then the KV-shift colour (0 or 1) the row sends on and the one it takes in");
    c.line("// (-1: none)");
    c.line("const SEND: i16 = %d; // out", KTreeCsl.SEND);
    c.line("const RELAY: i16 = %d; // in, combined with this PE's, out", KTreeCsl.RELAY);
    c.line("const RECV: i16 = %d; // in, combined into this PE's", KTreeCsl.RECV);
    c.line("const STORE: i16 = %d; // in, stored: the broadcast total", KTreeCsl.STORE);
    c.line("const STEPS: i16 = %d;", KTreeCsl.STEPS);
    c.line("const LINE: i16 = %d;", KTreeCsl.STEPS + 2);
    StringBuilder sel = new StringBuilder();
    for (Map.Entry<Integer, int[]> t : tables.entrySet()) {
      sel.append(String.format(Locale.ROOT, "if (P == %d) %s else ", t.getKey(), KTreeCsl.table(t.getValue())));
    }
    c.line("const line_class = %s[1]i16{ 0 };", sel);
    List<Integer> flat = new ArrayList<>();
    for (List<Integer> k : ids.keySet()) {
      flat.addAll(k);
    }
    if (flat.isEmpty()) {
      flat.addAll(java.util.Collections.nCopies(KTreeCsl.STEPS + 2, 0));
    }
    c.line("const line_steps = %s;", KTreeCsl.table(flat.stream().mapToInt(Integer::intValue).toArray()));
    c.blank();
  }

  /**
   * The hand-off's two fabric DSDs: the residual's part of this PE's row, in from the previous
   * region and out to the next, on {@link DecodeFabric.Queues}' hand-off queues (on WSE-2 the
   * input is the KV shift's too, never at the same time; on WSE-3 bound only where used).
   */
  private static void handoff(CslText c, DecodeModel.Tile xt, DecodeFabric.Queues q) {
    c.line("// the residual handed on between regions: in from the previous one, out to the next");
    c.line("const handoff_in = @get_dsd(fabin_dsd, .{ .fabric_color = h_in, .extent = %s, .input_queue = "
        + "@get_input_queue(%d) });", xt.name(), q.handoffInput());
    c.line("const handoff_out = @get_dsd(fabout_dsd, .{ .fabric_color = h_out, .extent = %s, .output_queue = "
        + "@get_output_queue(%d) });", xt.name(), q.handoffOutput());
    if (q.rerouted()) {
      c.line("comptime {");
      c.line("if (h_recv) {");
      c.line("@initialize_queue(@get_input_queue(%d), .{ .color = h_in });", q.handoffInput());
      c.line("}");
      c.line("if (h_send) {");
      c.line("@initialize_queue(@get_output_queue(%d), .{ .color = h_out });", q.handoffOutput());
      c.line("}");
      c.line("}");
    }
    c.blank();
  }

  /** A one-element fabric DSD (lengths are set per use) on a colour and a queue. */
  private static void fabric(CslText c, String name, boolean in, String colour, int queue) {
    c.line("const %s = @get_dsd(%s, .{ .fabric_color = %s, .extent = 1, .%s_queue = @get_%s_queue(%d) });", name,
        in ? "fabin_dsd" : "fabout_dsd", colour, in ? "input" : "output", in ? "input" : "output", queue);
  }

  private static String combine(String out, String a, String b) {
    return String.format("if (use_max) { @fmaxh(%s, %s, %s); } else { @faddh(%s, %s, %s); }", out, a, b, out, a, b);
  }

  private static final String ELEMENTWISE = """
      // out[0:n] = %s, elementwise in f32
      fn %s(out: [*]f16, a: [*]f16, %sn: i16) void {
        var i: i16 = 0;
        while (i < n) : (i += 1) {
          const z: f32 = @as(f32, a[i]);
          var r: f32 = 0.0;
      %s
          out[i] = @as(f16, r%s);
        }
      }
      """;

  /** An activation's formula on z into r (CSL statements, f32). */
  private static final Map<LocalFn.Act, String> ACT = Map.of(
      LocalFn.Act.SILU, "r = z / (1.0 + @as(f32, math.exp_f16(@as(f16, -z))));",
      LocalFn.Act.GELU_TANH, """
            const u: f32 = 0.7978845608 * (z + 0.044715 * z * z * z);
            const th: f32 = 1.0 - 2.0 / (@as(f32, math.exp_f16(@as(f16, 2.0 * u))) + 1.0);
            r = 0.5 * z * (1.0 + th);""",
      // erf by Abramowitz and Stegun 7.1.26 (error below 1.5e-7, far under fp16's)
      LocalFn.Act.GELU_ERF, """
            const u: f32 = z * 0.7071067812;
            var au: f32 = u;
            if (au < 0.0) { au = -au; }
            const k: f32 = 1.0 / (1.0 + 0.3275911 * au);
            const poly: f32 = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))));
            var erf: f32 = 1.0 - poly * @as(f32, math.exp_f16(@as(f16, -au * au)));
            if (u < 0.0) { erf = -erf; }
            r = 0.5 * z * (1.0 + erf);""",
      LocalFn.Act.RELU, "if (z > 0.0) { r = z; }",
      LocalFn.Act.RELU2, "if (z > 0.0) { r = z * z; }");

  /** The fixed functions the steps call, by {@link #kind}. */
  private static final Map<String, String> FNS = fns();

  private static Map<String, String> fns() {
    Map<String, String> f = new java.util.HashMap<>();
    for (Map.Entry<LocalFn.Act, String> e : ACT.entrySet()) {
      String a = LocalFn.activation(e.getKey()).algorithm();
      String g = LocalFn.gated(e.getKey()).algorithm();
      String body = e.getValue().stripTrailing().indent(4).stripTrailing();
      f.put(a, String.format(ELEMENTWISE, a + "(a)", a, "", body, ""));
      f.put(g, String.format(ELEMENTWISE, a + "(a) · b", g, "b: [*]f16, ", body, " * @as(f32, b[i])"));
    }
    f.put("rope", ROPE);
    f.put("norm_y", NORM_Y);
    f.put("norm_x", NORM_X);
    return Map.copyOf(f);
  }

  private static final String ROPE = """
      // RoPE on this PE's pairs: the GEMV before put each rotated pair side by side (2i, 2i + 1), and the host
      // writes each pair's cos, sin at this token (1, 0 for channels that pass through)
      fn rope(out: [*]f16, a: [*]f16, n: i16) void {
        var i: i16 = 0;
        while (i < n) : (i += 2) {
          const c: f16 = rope_cs[i];
          const s: f16 = rope_cs[i + 1];
          const u: f16 = a[i];
          const v: f16 = a[i + 1];
          out[i] = u * c - v * s;
          out[i + 1] = v * c + u * s;
        }
      }
      """;

  private static final String NORM_Y = """
      // out = norm(in) of a vector of len values along Y, t per PE (one row; w = len): statistics of this PE's valid values
      // summed in f32, divided by len and all-reduced along the column (f16 sums of means cannot overflow)
      fn norm_y(in: [*]f16, out: [*]f16, t: i16, len: i16, w: i16, g: [*]f16, goff: i16, has_g: bool, b: [*]f16,
          boff: i16, has_b: bool, layer_norm: bool, eps: f32) void {
        var valid: i16 = len - py * t;
        if (valid > t) { valid = t; }
        if (valid < 0) { valid = 0; }
        var mean: f32 = 0.0;
        var i: i16 = 0;
        if (layer_norm) {
          var s: f32 = 0.0;
          while (i < valid) : (i += 1) {
            s += @as(f32, in[i]);
          }
          stat[0] = @as(f16, s / @as(f32, w));
          y_allreduce(&stat, 1, false);
          mean = @as(f32, stat[0]);
        }
        var q: f32 = 0.0;
        i = 0;
        while (i < valid) : (i += 1) {
          const dv: f32 = @as(f32, in[i]) - mean;
          q += dv * dv;
        }
        stat[0] = @as(f16, q / @as(f32, w));
        y_allreduce(&stat, 1, false);
        const inv: f32 = 1.0 / math.sqrt_f32(@as(f32, stat[0]) + eps);
        @fmovh(vec(out, t), 0.0);
        i = 0;
        while (i < valid) : (i += 1) {
          var v: f32 = (@as(f32, in[i]) - mean) * inv;
          if (has_g) { v = v * @as(f32, g[goff + i]); }
          if (has_b) { v += @as(f32, b[boff + i]); }
          out[i] = @as(f16, v);
        }
      }
      """;

  private static final String NORM_X = """
      // out = norm(in) of rows of w values along X, t per PE (len / w rows, e.g. a head's q or k): per row, statistics of this
      // PE's values summed in f32, divided by w and all-reduced along the row
      fn norm_x(in: [*]f16, out: [*]f16, t: i16, len: i16, w: i16, g: [*]f16, goff: i16, has_g: bool, b: [*]f16,
          boff: i16, has_b: bool, layer_norm: bool, eps: f32) void {
        const rows: i16 = len / w;
        @fmovh(vec(&stat, rows), 0.0);
        @fmovh(vec(&stat2, rows), 0.0);
        var i: i16 = 0;
        if (layer_norm) {
          while (i < t and px * t + i < len) : (i += 1) {
            const r: i16 = (px * t + i) / w;
            stat2[r] = @as(f16, @as(f32, stat2[r]) + @as(f32, in[i]) / @as(f32, w));
          }
          x_allreduce(&stat2, rows, false);
        }
        i = 0;
        while (i < t and px * t + i < len) : (i += 1) {
          const r: i16 = (px * t + i) / w;
          const dv: f32 = @as(f32, in[i]) - @as(f32, stat2[r]);
          stat[r] = @as(f16, @as(f32, stat[r]) + dv * dv / @as(f32, w));
        }
        x_allreduce(&stat, rows, false);
        @fmovh(vec(out, t), 0.0);
        i = 0;
        while (i < t and px * t + i < len) : (i += 1) {
          const r: i16 = (px * t + i) / w;
          var v: f32 = (@as(f32, in[i]) - @as(f32, stat2[r])) / math.sqrt_f32(@as(f32, stat[r]) + eps);
          if (has_g) { v = v * @as(f32, g[goff + i]); }
          if (has_b) { v += @as(f32, b[boff + i]); }
          out[i] = @as(f16, v);
        }
      }
      """;

  /** Where the shift starts in {@link #KV}: WSE-3 switches the routers there. */
  private static final String SHIFT_START = "  if (py > e) {\n";

  private static final String KV = """
      // one K column (k[koff:]) and V row (v[voff:]) into the next slot of layer l's ring
      fn kv_put(l: i16, k: [*]f16, koff: i16, v: [*]f16, voff: i16) void {
        const slot: i16 = (kv_start[l] + kv_count[l]) % St;
        var j: i16 = 0;
        while (j < Qt) : (j += 1) {
          k_t[(l * Qt + j) * St + slot] = k[koff + j];
          v_c[(l * St + slot) * Qt + j] = v[voff + j];
        }
        kv_count[l] += 1;
      }

      // The shift-based cache (WaferLLM section 4.3): row 0 holds the oldest tokens and every row the same
      // count as the rows below it or one more. With t tokens stored (t % P = e): while no row is full yet
      // (t < P) the new token stays on row e, which already holds it (every row does, after the all-reduce
      // along the column); after that the rows below e each pass their oldest entry one hop north and the
      // bottom row keeps the new token.
      fn kv_update(l: i16, t: i16, k: [*]f16, v: [*]f16) void {
        const e: i16 = t % P;
        if (t < P) {
          if (py == e) { kv_put(l, k, 0, v, 0); }
          return;
        }
        if (py > e) {
          const old: i16 = kv_start[l];
          var j: i16 = 0;
          while (j < Qt) : (j += 1) {
            stage[j] = k_t[(l * Qt + j) * St + old];
            stage[Qt + j] = v_c[(l * St + old) * Qt + j];
          }
          @fmovh(@set_dsd_length(shift_send(), @as(u16, 2 * Qt)), vec(&stage, 2 * Qt));
          kv_start[l] = (old + 1) % St;
          kv_count[l] -= 1;
        }
        if (py >= e and py < P - 1) {
          @fmovh(vec(&stage, 2 * Qt), @set_dsd_length(shift_recv(), @as(u16, 2 * Qt)));
          kv_put(l, &stage, 0, &stage, Qt);
        }
        if (py == P - 1) { kv_put(l, k, 0, v, 0); }
      }
      """;

  private static final String ATTEND = """
      // one token's attention on layer l's cache: scores over this PE's slots (q·Kᵀ, a GEMV per head dim),
      // summed over head dims along the row; softmax per head over all slots along the column; p·V into out
      fn attend(l: i16, q: [*]f16, out: [*]f16, scale: f16) void {
        @fmovh(vec(&sc, H * St), 0.0);
        var j: i16 = 0;
        while (j < Qt) : (j += 1) {
          const dim: i16 = px * Qt + j;
          if (dim < H * D) {
            const h: i16 = dim / D;
            @fmach(vec_at(&sc, h * St, St), vec_at(&sc, h * St, St), vec_at(&k_t, (l * Qt + j) * St, St), q[j]);
          }
        }
        x_allreduce(&sc, H * St, false);
        var h: i16 = 0;
        while (h < H) : (h += 1) {
          var m: f16 = -65504.0;
          var s: i16 = 0;
          while (s < kv_count[l]) : (s += 1) {
            const at: i16 = h * St + (kv_start[l] + s) % St;
            sc[at] = sc[at] * scale;
            if (sc[at] > m) { m = sc[at]; }
          }
          stat[h] = m;
        }
        y_allreduce(&stat, H, true);
        h = 0;
        while (h < H) : (h += 1) {
          var sum: f16 = 0.0;
          var s: i16 = 0;
          while (s < kv_count[l]) : (s += 1) {
            const at: i16 = h * St + (kv_start[l] + s) % St;
            sc[at] = math.exp_f16(sc[at] - stat[h]);
            sum += sc[at];
          }
          stat[h] = sum;
        }
        y_allreduce(&stat, H, false);
        @fmovh(vec(out, Qt), 0.0);
        var s: i16 = 0;
        while (s < kv_count[l]) : (s += 1) {
          const slot: i16 = (kv_start[l] + s) % St;
          j = 0;
          while (j < Qt and px * Qt + j < H * D) {
            const h0: i16 = (px * Qt + j) / D;
            var j1: i16 = (h0 + 1) * D - px * Qt;
            if (j1 > Qt) { j1 = Qt; }
            const p: f16 = sc[h0 * St + slot] / stat[h0];
            @fmach(vec_at(out, j, j1 - j), vec_at(out, j, j1 - j), vec_at(&v_c, (l * St + slot) * Qt + j, j1 - j), p);
            j = j1;
          }
        }
        y_allreduce(out, Qt, false);
      }
      """;
}
