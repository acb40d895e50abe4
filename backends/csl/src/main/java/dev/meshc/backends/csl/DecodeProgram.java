package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.DecodeFabric;
import java.util.Locale;

/**
 * The PE program of a decode region ({@code decode.csl}): one PE's weight tiles and KV cache, and
 * WaferLLM's decode chain over them, layer by layer. The all-reduces are the K-tree's phases as
 * synchronous fabric DSD operations (element-pipelined chains), one set per axis; elementwise
 * work (norms, RoPE, softmax, activations) is plain loops, as a reviewer reads them.
 */
final class DecodeProgram {
  private DecodeProgram() {}

  /**
   * decode.csl for {@code target}'s SDK; {@code rerouted} (queues bound to colours, WSE-3): five
   * colours switched between the column tree, the row tree and the KV shift at run time (see
   * {@link DecodeFabric}), else every route static.
   */
  static String text(DecodeModel d, CslProject.Target target, boolean rerouted) {
    CslText c = new CslText();
    c.line("// meshc: one PE of a decode region of %s (%s, Cerebras SDK %s). layout.csl places the regions;", d.name(),
        target.arch, target.sdk);
    c.line("// README.md walks through the layer chain. Storage and arithmetic are fp16; norm sums are f32.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    c.line("param region: i16; // this PE's region; -1 for a PE no region holds");
    c.line("param px: i16; // column in the region: index on the row K-tree");
    c.line("param py: i16; // row in the region: index on the column K-tree, and the KV cache row");
    c.line("param P: i16; // region side");
    c.line("param g: i16; // K-tree group size");
    c.line("param L: i16; // layers in the region");
    c.line("param Et: i16; // residual values per PE (width / P)");
    c.line("param Qt: i16; // head dims per PE column (heads · head_dim / P)");
    c.line("param Ft: i16; // FFN values per PE column");
    c.line("param FI: i16; // FFN-in outputs per PE column (gate and up when gated)");
    c.line("param St: i16; // KV slots per PE (max context / P)");
    c.line("param Vt: i16; // logits per PE column (the LM head's region)");
    c.line("param lm_head: bool;");
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
    c.blank();
    c.line("// the model (from meshc)");
    c.line("const E: i16 = %d; // width", d.width());
    c.line("const H: i16 = %d; // query heads (K and V are stored expanded to them)", d.heads());
    c.line("const D: i16 = %d; // head dim", d.headDim());
    c.line("const EPS: f32 = %s;", num(d.eps()));
    c.line("const SCALE: f16 = %s; // the attention's score scale", num(d.scale()));
    c.line("const LAYER_NORM: bool = %s; // else RMSNorm", d.layerNorm());
    c.line("const GATED: bool = %s; // SwiGLU: silu(gate) · up", d.gated());
    c.line("const GELU: bool = %s; // gelu, tanh form (else silu)", d.activation().equals("gelu_tanh"));
    c.line("const ROPE: bool = %s; // rotary positions (pairs interleaved by the host)", d.rope());
    c.line("const BIASED: bool = %s; // projections with biases", d.biased());
    c.blank();
    c.line("const sys_mod = @import_module(\"<memcpy/memcpy>\", memcpy_params);");
    c.line("const math = @import_module(\"<math>\");");
    c.blank();
    c.line("// weights, per layer of the region (run.py writes them once, tiled as weights.json says)");
    c.line("var w_qkv: [L * Et * 3 * Qt]f16 = @zeros([L * Et * 3 * Qt]f16); // rows: width block py; columns: "
        + "q, k, v head-dim blocks px");
    c.line("var w_o: [L * Qt * Et]f16 = @zeros([L * Qt * Et]f16); // pre-transposed: rows head-dim block px, columns "
        + "width block py");
    c.line("var w_in: [L * Et * FI]f16 = @zeros([L * Et * FI]f16); // rows width block py; columns FFN block px");
    c.line("var w_down: [L * Ft * Et]f16 = @zeros([L * Ft * Et]f16); // pre-transposed: rows FFN block px");
    c.line("const NW: i16 = if (LAYER_NORM) 4 * Et else 2 * Et; // norm words per layer: attention γ (β), FFN γ (β)");
    c.line("const BW: i16 = if (BIASED) 3 * Qt + FI + 2 * Et else 0; // bias words per layer: qkv, FFN in, o, down");
    c.line("var norms: [L * NW]f16 = @zeros([L * NW]f16); // width block py");
    c.line("var biases: [L * BW + 1]f16 = @zeros([L * BW + 1]f16);");
    c.line("var w_lm: [Et * Vt]f16 = @zeros([Et * Vt]f16); // the LM head: rows width block py, columns vocab block px");
    c.line("var final_norm: [2 * Et]f16 = @zeros([2 * Et]f16);");
    c.blank();
    c.line("// the KV cache: slots of this PE's row of the region; K kept transposed (row = head dim) so q·Kᵀ is a");
    c.line("// GEMV; slots are a ring (start, count) per layer");
    c.line("var k_t: [L * Qt * St]f16 = @zeros([L * Qt * St]f16);");
    c.line("var v_c: [L * St * Qt]f16 = @zeros([L * St * Qt]f16);");
    c.line("var kv_start: [L]i16 = @zeros([L]i16);");
    c.line("var kv_count: [L]i16 = @zeros([L]i16);");
    c.blank();
    c.line("// activations");
    c.line("var x: [Et]f16 = @zeros([Et]f16); // the residual, width block py (the host moves it between regions)");
    c.line("var xn: [Et]f16 = @zeros([Et]f16);");
    c.line("var qkv: [3 * Qt]f16 = @zeros([3 * Qt]f16);");
    c.line("var sc: [H * St]f16 = @zeros([H * St]f16); // scores, then probabilities, per head over the slots");
    c.line("var stat: [H]f16 = @zeros([H]f16);");
    c.line("var att: [Qt]f16 = @zeros([Qt]f16);");
    c.line("var hid: [Et]f16 = @zeros([Et]f16);");
    c.line("var ff: [FI]f16 = @zeros([FI]f16);");
    c.line("var stage: [2 * Qt]f16 = @zeros([2 * Qt]f16); // a K column and V row moving north");
    c.line("var rope_cs: [Qt]f16 = @zeros([Qt]f16); // cos, sin of each local pair at this token (the host)");
    c.line("var logits: [Vt]f16 = @zeros([Vt]f16);");
    for (String s : DecodeHost.SYMBOLS) {
      c.line("var %s_ptr: [*]f16 = &%s;", s, s);
    }
    c.blank();
    c.line("// dims of the region's blocks that hold real values (the rest is padding)");
    c.line("const e_valid: i16 = if (E - py * Et < Et) E - py * Et else Et;");
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
    if (rerouted) {
      reroute(c);
      axis(c, "y", "py", "c_", "COLUMN");
      axis(c, "x", "px", "c_", "ROW");
      c.line("// the KV shift runs on the phase-1 pair in the shift configuration");
      c.line("const shift_send = @get_dsd(fabout_dsd, .{ .fabric_color = %s, .extent = 1, .output_queue = "
          + "@get_output_queue(%s) });", KTreeCsl.pick("py", "c_p1_"), queue(KTreeCsl.pick("py", "c_p1_")));
      c.line("const shift_recv = @get_dsd(fabin_dsd, .{ .fabric_color = %s, .extent = 1, .input_queue = "
          + "@get_input_queue(%s) });", KTreeCsl.pick("py + 1", "c_p1_"), queue(KTreeCsl.pick("py + 1", "c_p1_")));
    } else {
      c.line("// queues: memcpy keeps 0 and 1; on WSE-2 one queue serves several colours used one after another");
      axis(c, "y", "py", "cy_", null);
      axis(c, "x", "px", "cx_", null);
      c.line("const shift_send = @get_dsd(fabout_dsd, .{ .fabric_color = if (py % 2 == 0) cs0 else cs1, .extent = 1, "
          + ".output_queue = @get_output_queue(5) });");
      c.line("const shift_recv = @get_dsd(fabin_dsd, .{ .fabric_color = if ((py + 1) % 2 == 0) cs0 else cs1, "
          + ".extent = 1, .input_queue = @get_input_queue(7) });");
    }
    c.blank();
    c.text(NORM);
    c.blank();
    c.text(rerouted ? KV.replace(SHIFT_START, "  reroute(SHIFT);\n" + SHIFT_START) : KV);
    c.blank();
    c.text(ATTEND);
    c.blank();
    c.text(LAYER);
    c.blank();
    c.line("comptime {");
    for (String s : DecodeHost.SYMBOLS) {
      c.line("@export_symbol(%s_ptr, \"%s\");", s, s);
    }
    c.line("@export_symbol(step);");
    c.line("}");
    return c.toString();
  }

  private static String num(double v) {
    String s = String.format(Locale.ROOT, "%.9g", v);
    if (!s.contains(".") && !s.contains("e")) {
      s += ".0";
    }
    return s.contains("e") && !s.contains(".") ? s.replace("e", ".0e") : s;
  }

  /**
   * WSE-3: the five colours' queues (colour k of the tree's five ↔ input and output queue 2 + k,
   * bound for good) and the switch between the router configurations layout.csl computed.
   */
  private static void reroute(CslText c) {
    c.line("// queues: memcpy keeps 0 and 1; on WSE-3 a queue is bound to one colour, so colour k of the five");
    c.line("// takes input and output queue 2 + k whichever way it is routed");
    c.line("comptime {");
    for (int k = 0; k < KTreeCsl.NAMES.length; k++) {
      c.line("@initialize_queue(@get_input_queue(%d), .{ .color = c_%s });", 2 + k, KTreeCsl.NAMES[k]);
      c.line("@initialize_queue(@get_output_queue(%d), .{ .color = c_%s });", 2 + k, KTreeCsl.NAMES[k]);
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
    c.line("var routed: i16 = -1; // none yet: layout.csl sets no route, the first switch does");
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

  /** The queue (an expression) of a colour expression over the five: colour k ↔ queue 2 + k. */
  private static String queue(String colour) {
    String q = colour;
    for (int k = 0; k < KTreeCsl.NAMES.length; k++) {
      q = q.replace("c_" + KTreeCsl.NAMES[k], Integer.toString(2 + k));
    }
    return q;
  }

  /**
   * One axis' K-tree positions, fabric DSDs and its all-reduce function ({@code <ax>_allreduce});
   * {@code config} names the router configuration it switches to first (WSE-3), or is null.
   */
  private static void axis(CslText c, String ax, String index, String col, String config) {
    String v = ax + "_";
    c.line("// the %s K-tree: this PE's place on it", ax.equals("y") ? "column" : "row");
    c.line("const %sgroups: i16 = (P + g - 1) / g;", v);
    c.line("const %sq: i16 = %s / g;", v, index);
    c.line("const %sstart: i16 = %sq * g;", v, v);
    c.line("const %send: i16 = if ((%sq + 1) * g < P) (%sq + 1) * g else P;", v, v, v);
    c.line("const %sroot: i16 = %sstart + (%send - %sstart) / 2;", v, v, v, v);
    c.line("const %sroot_group: i16 = %sgroups / 2;", v, v);
    c.line("const %sr2_end: i16 = if ((%sroot_group + 1) * g < P) (%sroot_group + 1) * g else P;", v, v, v);
    c.line("const %sr2: i16 = %sroot_group * g + (%sr2_end - %sroot_group * g) / 2;", v, v, v, v);
    boolean rerouted = config != null;
    String p1Out = String.format("if (%s < %sroot) (%s) else (%s)", index, v, KTreeCsl.out(index, col, "p1", true),
        KTreeCsl.out(index, col, "p1", false));
    String p2Out = String.format("if (%sq < %sroot_group) (%s) else (%s)", v, v, KTreeCsl.out(v + "q", col, "p2", true),
        KTreeCsl.out(v + "q", col, "p2", false));
    fabric(c, v + "p1_in_lo", true, KTreeCsl.inLo(index, col, "p1"), rerouted ? null : "2");
    fabric(c, v + "p1_in_hi", true, KTreeCsl.inHi(index, col, "p1"), rerouted ? null : "3");
    fabric(c, v + "p1_send", false, p1Out, rerouted ? null : "2");
    fabric(c, v + "p2_in_lo", true, KTreeCsl.inLo(v + "q", col, "p2"), rerouted ? null : "4");
    fabric(c, v + "p2_in_hi", true, KTreeCsl.inHi(v + "q", col, "p2"), rerouted ? null : "5");
    fabric(c, v + "p2_send", false, p2Out, rerouted ? null : "3");
    fabric(c, v + "b_recv", true, col + "b", rerouted ? null : "6");
    fabric(c, v + "b_send", false, col + "b", rerouted ? null : "4");
    c.blank();
    c.line("// all-reduce buf[0:n] along the %s (sum, or max): two chain phases, then the root's multicast",
        ax.equals("y") ? "column" : "row");
    c.line("fn %sallreduce(buf: [*]f16, n: i16, use_max: bool) void {", v);
    c.line("if (P == 1) {");
    c.line("return;");
    c.line("}");
    if (rerouted) {
      c.line("reroute(%s);", config);
    }
    c.line("const b = vec(buf, n);");
    c.line("const len = @as(u16, n);");
    c.line("const in_lo1 = @set_dsd_length(%sp1_in_lo, len);", v);
    c.line("const in_hi1 = @set_dsd_length(%sp1_in_hi, len);", v);
    c.line("const out1 = @set_dsd_length(%sp1_send, len);", v);
    c.line("if (%s < %sroot) {", index, v);
    c.line("if (%s == %sstart) { @fmovh(out1, b); } else { %s }", index, v, combine("out1", "in_lo1", "b"));
    c.line("} else if (%s > %sroot) {", index, v);
    c.line("if (%s == %send - 1) { @fmovh(out1, b); } else { %s }", index, v, combine("out1", "in_hi1", "b"));
    c.line("} else {");
    c.line("if (%s > %sstart) { %s }", index, v, combine("b", "b", "in_lo1"));
    c.line("if (%s < %send - 1) { %s }", index, v, combine("b", "b", "in_hi1"));
    c.line("}");
    c.line("if (%s == %sroot) {", index, v);
    c.line("const in_lo2 = @set_dsd_length(%sp2_in_lo, len);", v);
    c.line("const in_hi2 = @set_dsd_length(%sp2_in_hi, len);", v);
    c.line("const out2 = @set_dsd_length(%sp2_send, len);", v);
    c.line("if (%sq < %sroot_group) {", v, v);
    c.line("if (%sq == 0) { @fmovh(out2, b); } else { %s }", v, combine("out2", "in_lo2", "b"));
    c.line("} else if (%sq > %sroot_group) {", v, v);
    c.line("if (%sq == %sgroups - 1) { @fmovh(out2, b); } else { %s }", v, v, combine("out2", "in_hi2", "b"));
    c.line("} else {");
    c.line("if (%sq > 0) { %s }", v, combine("b", "b", "in_lo2"));
    c.line("if (%sq < %sgroups - 1) { %s }", v, v, combine("b", "b", "in_hi2"));
    c.line("}");
    c.line("}");
    c.line("if (%s == %sr2) { @fmovh(@set_dsd_length(%sb_send, len), b); } else { @fmovh(b, @set_dsd_length(%sb_recv, "
        + "len)); }", index, v, v, v);
    c.line("}");
    c.blank();
  }

  /** A one-element fabric DSD (lengths are set per use) on a colour; its queue is the colour's on WSE-3. */
  private static void fabric(CslText c, String name, boolean in, String colour, String queue) {
    c.line("const %s = @get_dsd(%s, .{ .fabric_color = %s, .extent = 1, .%s_queue = @get_%s_queue(%s) });", name,
        in ? "fabin_dsd" : "fabout_dsd", colour, in ? "input" : "output", in ? "input" : "output",
        queue != null ? queue : queue(colour));
  }

  private static String combine(String out, String a, String b) {
    return String.format("if (use_max) { @fmaxh(%s, %s, %s); } else { @faddh(%s, %s, %s); }", out, a, b, out, a, b);
  }

  private static final String NORM = """
      // xn = norm(x) with this layer's γ, β (block py): statistics summed locally in f32, divided by E, and
      // all-reduced along the column (f16 sums of means cannot overflow)
      fn norm(gb: [*]f16, off: i16) void {
        var mean: f32 = 0.0;
        var i: i16 = 0;
        if (LAYER_NORM) {
          var s: f32 = 0.0;
          i = 0;
          while (i < e_valid) : (i += 1) {
            s += @as(f32, x[i]);
          }
          stat[0] = @as(f16, s / @as(f32, E));
          y_allreduce(&stat, 1, false);
          mean = @as(f32, stat[0]);
        }
        var q: f32 = 0.0;
        i = 0;
        while (i < e_valid) : (i += 1) {
          const dv: f32 = @as(f32, x[i]) - mean;
          q += dv * dv;
        }
        stat[0] = @as(f16, q / @as(f32, E));
        y_allreduce(&stat, 1, false);
        const inv: f32 = 1.0 / math.sqrt_f32(@as(f32, stat[0]) + EPS);
        i = 0;
        while (i < Et) : (i += 1) {
          var v: f32 = (@as(f32, x[i]) - mean) * inv * @as(f32, gb[off + i]);
          if (LAYER_NORM) {
            v += @as(f32, gb[off + Et + i]);
          }
          xn[i] = @as(f16, v);
        }
      }
      """;

  /** Where the shift starts in {@link #KV}: WSE-3 switches the routers there. */
  private static final String SHIFT_START = "  if (py > e) {\n";

  private static final String KV = """
      // one K column (src[koff:]) and V row (src[voff:]) into the next slot of layer l's ring
      fn kv_put(l: i16, src: [*]f16, koff: i16, voff: i16) void {
        const slot: i16 = (kv_start[l] + kv_count[l]) % St;
        var j: i16 = 0;
        while (j < Qt) : (j += 1) {
          k_t[(l * Qt + j) * St + slot] = src[koff + j];
          v_c[(l * St + slot) * Qt + j] = src[voff + j];
        }
        kv_count[l] += 1;
      }

      // The shift-based cache (WaferLLM section 4.3): row 0 holds the oldest tokens and every row the same
      // count as the rows below it or one more. With t tokens stored (t % P = e): while no row is full yet
      // (t < P) the new token stays on row e, which already holds it (every row does, after the QKV
      // all-reduce); after that the rows below e each pass their oldest entry one hop north and the bottom
      // row keeps the new token.
      fn kv_update(l: i16, t: i16) void {
        const e: i16 = t % P;
        if (t < P) {
          if (py == e) { kv_put(l, &qkv, Qt, 2 * Qt); }
          return;
        }
        if (py > e) {
          const old: i16 = kv_start[l];
          var j: i16 = 0;
          while (j < Qt) : (j += 1) {
            stage[j] = k_t[(l * Qt + j) * St + old];
            stage[Qt + j] = v_c[(l * St + old) * Qt + j];
          }
          @fmovh(@set_dsd_length(shift_send, @as(u16, 2 * Qt)), vec(&stage, 2 * Qt));
          kv_start[l] = (old + 1) % St;
          kv_count[l] -= 1;
        }
        if (py >= e and py < P - 1) {
          @fmovh(vec(&stage, 2 * Qt), @set_dsd_length(shift_recv, @as(u16, 2 * Qt)));
          kv_put(l, &stage, 0, Qt);
        }
        if (py == P - 1) { kv_put(l, &qkv, Qt, 2 * Qt); }
      }
      """;

  private static final String ATTEND = """
      // one token's attention on layer l's cache: scores over this PE's slots (q·Kᵀ, a GEMV per head dim),
      // summed over head dims along the row; softmax per head over all slots along the column; p·V
      fn attend(l: i16) void {
        @fmovh(vec(&sc, H * St), 0.0);
        var j: i16 = 0;
        while (j < Qt) : (j += 1) {
          const dim: i16 = px * Qt + j;
          if (dim < H * D) {
            const h: i16 = dim / D;
            @fmach(vec_at(&sc, h * St, St), vec_at(&sc, h * St, St), vec_at(&k_t, (l * Qt + j) * St, St), qkv[j]);
          }
        }
        x_allreduce(&sc, H * St, false);
        var h: i16 = 0;
        while (h < H) : (h += 1) {
          var m: f16 = -65504.0;
          var s: i16 = 0;
          while (s < kv_count[l]) : (s += 1) {
            const at: i16 = h * St + (kv_start[l] + s) % St;
            sc[at] = sc[at] * SCALE;
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
        @fmovh(vec(&att, Qt), 0.0);
        var s: i16 = 0;
        while (s < kv_count[l]) : (s += 1) {
          const slot: i16 = (kv_start[l] + s) % St;
          j = 0;
          while (j < Qt and px * Qt + j < H * D) {
            const h0: i16 = (px * Qt + j) / D;
            var j1: i16 = (h0 + 1) * D - px * Qt;
            if (j1 > Qt) { j1 = Qt; }
            const p: f16 = sc[h0 * St + slot] / stat[h0];
            @fmach(vec_at(&att, j, j1 - j), vec_at(&att, j, j1 - j), vec_at(&v_c, (l * St + slot) * Qt + j, j1 - j), p);
            j = j1;
          }
        }
        y_allreduce(&att, Qt, false);
      }
      """;

  private static final String LAYER = """
      // dst[0:n] += src[off:off + n]
      fn add(dst: [*]f16, src: [*]f16, off: i16, n: i16) void {
        @faddh(vec(dst, n), vec(dst, n), vec_at(src, off, n));
      }

      // the activation between FFN in and down: silu(gate) · up, or gelu (tanh form), or silu
      fn activate() void {
        var i: i16 = 0;
        while (i < Ft) : (i += 1) {
          const z: f32 = @as(f32, ff[i]);
          var a: f32 = 0.0;
          if (GELU) {
            const u: f32 = 0.7978845608 * (z + 0.044715 * z * z * z);
            const t: f32 = 1.0 - 2.0 / (@as(f32, math.exp_f16(@as(f16, 2.0 * u))) + 1.0);
            a = 0.5 * z * (1.0 + t);
          } else {
            a = z / (1.0 + @as(f32, math.exp_f16(@as(f16, -z))));
          }
          if (GATED) {
            a = a * @as(f32, ff[Ft + i]);
          }
          ff[i] = @as(f16, a);
        }
      }

      // RoPE on this PE's (q, k) pairs: the host interleaved each head's halves, so pair (2i, 2i+1) is local
      fn rope() void {
        var i: i16 = 0;
        while (i < Qt) : (i += 2) {
          const c: f16 = rope_cs[i];
          const s: f16 = rope_cs[i + 1];
          var part: i16 = 0;
          while (part < 2) : (part += 1) {
            const a: f16 = qkv[part * Qt + i];
            const b: f16 = qkv[part * Qt + i + 1];
            qkv[part * Qt + i] = a * c - b * s;
            qkv[part * Qt + i + 1] = b * c + a * s;
          }
        }
      }

      fn layer(l: i16, t: i16) void {
        const b0: i16 = l * BW; // this layer's biases: qkv, FFN in, o, down
        norm(&norms, l * NW);
        gemv(&xn, Et, &w_qkv, l * Et * 3 * Qt, 3 * Qt, &qkv); // Y → X
        y_allreduce(&qkv, 3 * Qt, false);
        if (BIASED) { add(&qkv, &biases, b0, 3 * Qt); }
        if (ROPE) { rope(); }
        kv_update(l, t);
        attend(l);
        gemv(&att, Qt, &w_o, l * Qt * Et, Et, &hid); // X → Y: W_O pre-transposed
        x_allreduce(&hid, Et, false);
        if (BIASED) { add(&hid, &biases, b0 + 3 * Qt + FI, Et); }
        add(&x, &hid, 0, Et);
        norm(&norms, l * NW + NW / 2);
        gemv(&xn, Et, &w_in, l * Et * FI, FI, &ff); // Y → X
        y_allreduce(&ff, FI, false);
        if (BIASED) { add(&ff, &biases, b0 + 3 * Qt, FI); }
        activate();
        gemv(&ff, Ft, &w_down, l * Ft * Et, Et, &hid); // X → Y: W_down pre-transposed
        x_allreduce(&hid, Et, false);
        if (BIASED) { add(&hid, &biases, b0 + 3 * Qt + FI + Et, Et); }
        add(&x, &hid, 0, Et);
      }

      // the host launches this once per region per token (t: tokens already in the cache); only the
      // region asked for works, the others let memcpy go on at once
      fn step(r: i16, t: i16) void {
        if (r == region) {
          var l: i16 = 0;
          while (l < L) : (l += 1) {
            layer(l, t);
          }
          if (lm_head) {
            norm(&final_norm, 0);
            gemv(&xn, Et, &w_lm, 0, Vt, &logits);
            y_allreduce(&logits, Vt, false);
          }
        }
        sys_mod.unblock_cmd_stream();
      }
      """;
}
