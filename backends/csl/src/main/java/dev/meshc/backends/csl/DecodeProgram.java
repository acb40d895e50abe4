package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.DecodeFabric;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.Route;
import java.util.ArrayList;
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
   * decode.csl for {@code target}'s SDK; {@code rerouted} (queues bound to colours, WSE-3): five
   * colours switched between the column tree, the row tree and the KV shift at run time (see
   * {@link DecodeFabric}), else every route static.
   */
  static String text(DecodeModel d, CslProject.Target target, boolean rerouted, List<DecodeCsl.Region> regions) {
    CslText c = new CslText();
    c.line("// meshc: one PE of a decode region of %s (%s, Cerebras SDK %s). layout.csl places the regions;", d.name(),
        target.arch, target.sdk);
    c.line("// README.md walks through the layer chain. Storage and arithmetic are fp16; norm sums are f32.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    c.line("// what the PEs of a region hold: one program for the region's every PE, which reads where it sits");
    c.line("param P: i16; // region side (1 for a PE no region holds)");
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
    c.line("const layout_mod = @import_module(\"<layout>\");");
    c.blank();
    place(c, regions);
    lines(c, regions, rerouted);
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
    } else {
      c.line("// queues: memcpy keeps 0 and 1; on WSE-2 one queue serves several colours used one after another");
    }
    axis(c, "y", "py", rerouted ? "c_" : "cy_", rerouted ? "COLUMN" : null);
    axis(c, "x", "px", rerouted ? "c_" : "cx_", rerouted ? "ROW" : null);
    c.line("// the KV shift%s: a row sends north on the colour its line class names, takes the row below's", rerouted
        ? " (the phase-1 pair, in the shift configuration)" : "");
    String[] shift = rerouted ? new String[] {"c_p1_0", "c_p1_1"} : new String[] {"cs0", "cs1"};
    for (int k = 0; k < 2; k++) {
      fabric(c, "shift_send" + k, false, shift[k], rerouted ? null : "5");
      fabric(c, "shift_recv" + k, true, shift[k], rerouted ? null : "7");
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
   * One axis' fabric DSDs (colour k of the tree's five on input queue 2 + k; on WSE-2 the pairs
   * send on output queues 2, 3 and the broadcast on 4, on WSE-3 colour k on 2 + k) and its
   * all-reduce ({@code <ax>_allreduce}), which runs this PE's steps of the line's table; {@code
   * config} names the router configuration it switches to first (WSE-3), or is null.
   */
  private static void axis(CslText c, String ax, String index, String col, String config) {
    String v = ax + "_";
    String line = ax.equals("y") ? "column" : "row";
    c.line("// the %s K-tree's colours, and a PE's steps on it (the class of its index %s)", line, index);
    for (int k = 0; k < KTreeCsl.NAMES.length; k++) {
      fabric(c, v + "in" + k, true, col + KTreeCsl.NAMES[k], config != null ? null : Integer.toString(2 + k));
      fabric(c, v + "out" + k, false, col + KTreeCsl.NAMES[k], config != null ? null : Integer.toString(2 + k / 2));
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
  private static void place(CslText c, List<DecodeCsl.Region> regions) {
    int[][] t = new int[4][regions.size()];
    for (int i = 0; i < regions.size(); i++) {
      DecodeCsl.Region r = regions.get(i);
      t[0][i] = r.index();
      t[1][i] = r.x();
      t[2][i] = r.y();
      t[3][i] = r.p();
    }
    c.line("// this wafer's regions (meshc's plan): index, corner and side");
    c.line("const REGIONS: i16 = %d;", regions.size());
    c.line("const region_index = %s;", KTreeCsl.table(t[0]));
    c.line("const region_x = %s;", KTreeCsl.table(t[1]));
    c.line("const region_y = %s;", KTreeCsl.table(t[2]));
    c.line("const region_p = %s;", KTreeCsl.table(t[3]));
    c.line("var region: i16 = -1; // this PE's region; -1 for a PE no region holds");
    c.line("var px: i16 = 0; // column in the region: index on the row K-tree");
    c.line("var py: i16 = 0; // row in the region: index on the column K-tree, and the KV cache row");
    c.line("var e_valid: i16 = 0; // values of width block py that are real (the rest is padding)");
    c.blank();
    c.line("fn place() void {");
    c.line("const x = @as(i16, layout_mod.get_x_coord());");
    c.line("const y = @as(i16, layout_mod.get_y_coord());");
    c.line("var r: i16 = 0;");
    c.line("while (r < REGIONS) : (r += 1) {");
    c.line("if (x >= region_x[r] and x < region_x[r] + region_p[r] and y >= region_y[r] and y < region_y[r] + "
        + "region_p[r]) {");
    c.line("region = region_index[r];");
    c.line("px = x - region_x[r];");
    c.line("py = y - region_y[r];");
    c.line("}");
    c.line("}");
    c.line("e_valid = Et;");
    c.line("if (E - py * Et < Et) {");
    c.line("e_valid = E - py * Et;");
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
          @fmovh(@set_dsd_length(shift_send(), @as(u16, 2 * Qt)), vec(&stage, 2 * Qt));
          kv_start[l] = (old + 1) % St;
          kv_count[l] -= 1;
        }
        if (py >= e and py < P - 1) {
          @fmovh(vec(&stage, 2 * Qt), @set_dsd_length(shift_recv(), @as(u16, 2 * Qt)));
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
        place();
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
