package dev.meshc.backends.csl.sim;

import static dev.meshc.backends.csl.sim.SimSources.f16;
import static dev.meshc.backends.csl.sim.SimSources.f32;
import static dev.meshc.backends.csl.sim.SimSources.fails;
import static dev.meshc.backends.csl.sim.SimSources.floats;
import static dev.meshc.backends.csl.sim.SimSources.has;
import static dev.meshc.backends.csl.sim.SimSources.queue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The simulator's fabric: routes, multicast, switches, filters, tasks of every kind, FIFOs,
 * streaming memcpy and the errors a program meets on it, each on a small CSL program written for
 * it in the SDK tutorials' style. Expected values are computed here in plain Java.
 */
class CslFabricTest {
  @TempDir
  Path dir;

  /** The files the current test writes (made before each test: the temporary folder is its). */
  private SimSources src;

  @org.junit.jupiter.api.BeforeEach
  void sources() {
    src = new SimSources(dir);
  }

  /** Every PE program begins with memcpy's params and its runtime module. */
  private static final String PRE = """
      param memcpy_params: comptime_struct;
      const sys_mod = @import_module("<memcpy/memcpy>", memcpy_params);
      """;

  /**
   * A w×h layout: {@code top} before the layout block (colours), every PE running pe.csl with
   * memcpy's params plus {@code params} (x and y in scope), then {@code body} (routes, exports).
   */
  private static String layout(int w, int h, String top, String params, String body) {
    return layout(w, h, "", top, params, body);
  }

  /** As above, with {@code memcpyParams} added to memcpy's get_params (its streaming colours). */
  private static String layout(int w, int h, String memcpyParams, String top, String params, String body) {
    return """
        %s
        const memcpy = @import_module("<memcpy/get_params>", .{ .width = %d, .height = %d%s });
        layout {
          @set_rectangle(%d, %d);
          for (@range(i16, %d)) |x| {
            for (@range(i16, %d)) |y| {
              @set_tile_code(x, y, "pe.csl", .{ .memcpy_params = memcpy.get_params(x)%s });
            }
          }
        %s
        }
        """.formatted(top, w, h, memcpyParams, w, h, w, h, params, body);
  }

  /** Writes layout.csl, pe.csl (PRE + {@code pe}) and any further {@code name, text} files, and builds them. */
  private Simulator build(String arch, String layout, String pe, String... more) throws Exception {
    src.write("layout.csl", layout);
    src.write("pe.csl", PRE + pe);
    for (int i = 0; i < more.length; i += 2) {
      src.write(more[i], more[i + 1]);
    }
    return Simulator.build(new Simulator.Config(dir.resolve("layout.csl"), arch, Map.of(), new int[] {40, 40},
        new int[] {4, 1}, true, 1));
  }

  /** Colour c from PE (0, 0) east, and into PE (1, 0) from the west. */
  private static final String EAST_ROUTE =
      "  @set_color_config(0, 0, c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });\n";
  private static final String INTO_PE1 =
      "  @set_color_config(1, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });\n";

  /** The layout's @export_name lines: {@code "name:[*]T:mutable"} for data, {@code "name"} for a fn()void. */
  private static String names(String... specs) {
    StringBuilder b = new StringBuilder();
    for (String e : specs) {
      String[] p = e.split(":");
      b.append(p.length == 1 ? "  @export_name(\"" + e + "\", fn()void);\n"
          : "  @export_name(\"" + p[0] + "\", " + p[1] + ", " + p[2] + ");\n");
    }
    return b.toString();
  }

  /** A data task ID: the colour on WSE-2, the input queue on WSE-3. */
  private static String dataId(String arch, String color, String q) {
    return arch.equals("wse2") ? "@get_data_task_id(" + color + ")" : "@get_data_task_id(" + q + ")";
  }

  private static int[] get(Simulator sim, String name, int x, int y, int n, int bits) {
    return sim.d2h(sim.symbol(name).id(), x, y, 1, 1, n, Simulator.Order.ROW_MAJOR, bits);
  }

  private static void put(Simulator sim, String name, int x, int y, int[] words, int bits) {
    sim.h2d(sim.symbol(name).id(), words, x, y, 1, 1, words.length, Simulator.Order.ROW_MAJOR, bits);
  }

  // ---- 1. a routed send between two PEs ------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void asyncSendAndReceiveBetweenTwoPes(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 1, "const c = @get_color(3);", ", .px = x, .c = c",
        EAST_ROUTE + INTO_PE1 + names("buf:[*]f32:true", "go")), """
        param px: i16; param c: color;
        const N: i16 = 6;
        var buf = @zeros([N]f32); var buf_ptr: [*]f32 = &buf;
        const mem = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> buf[i] });
        const in_q = @get_input_queue(2); const out_q = @get_output_queue(3);
        const fin = @get_dsd(fabin_dsd, .{ .fabric_color = c, .extent = N, .input_queue = in_q });
        const fout = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = N, .output_queue = out_q });
        const exit_id = @get_local_task_id(10);
        task exit() void { sys_mod.unblock_cmd_stream(); }
        fn go() void {
          if (px == 0) {
            @fmovs(fout, mem, .{ .async = true, .activate = exit_id });
          } else {
            @fadds(mem, mem, fin, .{ .async = true, .activate = exit_id });
          }
        }
        comptime {
          @bind_local_task(exit, exit_id);
        """ + queue("in_q", "c") + queue("out_q", "c") + """
          @export_symbol(buf_ptr, "buf"); @export_symbol(go);
        }
        """);
    float[] a = new float[6];
    float[] b = new float[6];
    float[] sum = new float[6];
    for (int i = 0; i < 6; i++) {
      a[i] = 0.1f * i + 1.5f;
      b[i] = -0.7f * i * i + 0.3f;
      sum[i] = b[i] + a[i];
    }
    put(sim, "buf", 0, 0, f32(a), 32);
    put(sim, "buf", 1, 0, f32(b), 32);
    sim.launch("go", List.of());
    assertArrayEquals(a, floats(get(sim, "buf", 0, 0, 6, 32)));
    assertArrayEquals(sum, floats(get(sim, "buf", 1, 0, 6, 32)));
  }

  // ---- 2. multicast down a column ------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void multicastDownAColumnRunsADataTaskPerWavelet(String arch) throws Exception {
    Simulator sim = build(arch, layout(1, 4, "const c = @get_color(5);", ", .py = y, .c = c", """
          @set_color_config(0, 0, c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ SOUTH } } });
          for (@range(i16, 1, 3)) |y| {
            @set_color_config(0, y, c, .{ .routes = .{ .rx = .{ NORTH }, .tx = .{ RAMP, SOUTH } } });
          }
          @set_color_config(0, 3, c, .{ .routes = .{ .rx = .{ NORTH }, .tx = .{ RAMP } } });
        """ + names("src:[*]f32:true", "sum:[*]f32:false", "go")), """
        param py: i16; param c: color;
        const N: i16 = 5;
        var src = @zeros([N]f32); var src_ptr: [*]f32 = &src;
        var sum = @zeros([1]f32); const sum_ptr: [*]f32 = &sum;
        var seen: i16 = 0;
        const in_q = @get_input_queue(2); const out_q = @get_output_queue(2);
        const src_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> src[i] });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = N, .output_queue = out_q });
        task recv(v: f32) void {
          sum[0] += v * @as(f32, py); seen += 1;
          if (seen == N) { sys_mod.unblock_cmd_stream(); }
        }
        fn go() void {
          if (py == 0) { @fmovs(out, src_dsd); sys_mod.unblock_cmd_stream(); }
        }
        comptime {
          @bind_data_task(recv, %s);
        """.formatted(dataId(arch, "c", "in_q")) + queue("in_q", "c") + queue("out_q", "c") + """
          @export_symbol(src_ptr, "src"); @export_symbol(sum_ptr, "sum"); @export_symbol(go);
        }
        """);
    float[] src = {1.25f, -0.1f, 3.3f, 1e-3f, 7.0f};
    put(sim, "src", 0, 0, f32(src), 32);
    sim.launch("go", List.of());
    for (int y = 0; y < 4; y++) {
      float sum = 0;
      for (int k = 0; y > 0 && k < src.length; k++) {
        sum += src[k] * (float) y;
      }
      assertEquals(sum, floats(get(sim, "sum", 0, y, 1, 32))[0], "PE (0, " + y + ")");
    }
  }

  // ---- 3. data task parameters: u32, f16 (the low half), two u16 (low half first) ------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void dataTaskParametersReadTheWaveletAsTheirTypes(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 1, """
        const ca = @get_color(1);
        const cb = @get_color(2);
        const cc = @get_color(4);
        """, ", .px = x, .ca = ca, .cb = cb, .cc = cc", """
          @set_color_config(0, 0, ca, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });
          @set_color_config(0, 0, cb, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });
          @set_color_config(0, 0, cc, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });
          @set_color_config(1, 0, ca, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
          @set_color_config(1, 0, cb, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
          @set_color_config(1, 0, cc, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
        """ + names("words:[*]u32:true", "got_u:[*]u32:false", "got_h:[*]f16:false", "got_lo:[*]u16:false",
            "got_hi:[*]u16:false", "go")), """
        param px: i16; param ca: color; param cb: color; param cc: color;
        const N: i16 = 4;
        var words = @zeros([N]u32); var words_ptr: [*]u32 = &words;
        var got_u = @zeros([N]u32); const got_u_ptr: [*]u32 = &got_u;
        var got_h = @zeros([N]f16); const got_h_ptr: [*]f16 = &got_h;
        var got_lo = @zeros([N]u16); const got_lo_ptr: [*]u16 = &got_lo;
        var got_hi = @zeros([N]u16); const got_hi_ptr: [*]u16 = &got_hi;
        var nu: i16 = 0; var nh: i16 = 0; var np: i16 = 0;
        const qa = @get_input_queue(2); const qb = @get_input_queue(3); const qc = @get_input_queue(4);
        const oa = @get_output_queue(2); const ob = @get_output_queue(3); const oc = @get_output_queue(4);
        const w_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> words[i] });
        const to_a = @get_dsd(fabout_dsd, .{ .fabric_color = ca, .extent = N, .output_queue = oa });
        const to_b = @get_dsd(fabout_dsd, .{ .fabric_color = cb, .extent = N, .output_queue = ob });
        const to_c = @get_dsd(fabout_dsd, .{ .fabric_color = cc, .extent = N, .output_queue = oc });
        fn done() void { if (nu + nh + np == 3 * N) { sys_mod.unblock_cmd_stream(); } }
        task on_u(v: u32) void { got_u[nu] = v * 3; nu += 1; done(); }
        task on_h(h: f16) void { got_h[nh] = h * 2.0; nh += 1; done(); }
        task on_pair(lo: u16, hi: u16) void { got_lo[np] = lo; got_hi[np] = hi; np += 1; done(); }
        fn go() void {
          if (px == 0) {
            @mov32(to_a, w_dsd);
            @mov32(to_b, w_dsd);
            @mov32(to_c, w_dsd);
            sys_mod.unblock_cmd_stream();
          }
        }
        comptime {
          @bind_data_task(on_u, %s);
          @bind_data_task(on_h, %s);
          @bind_data_task(on_pair, %s);
        """.formatted(dataId(arch, "ca", "qa"), dataId(arch, "cb", "qb"), dataId(arch, "cc", "qc"))
        + queue("qa", "ca") + queue("qb", "cb") + queue("qc", "cc") + queue("oa", "ca") + queue("ob", "cb")
        + queue("oc", "cc") + """
          @export_symbol(words_ptr, "words"); @export_symbol(got_u_ptr, "got_u"); @export_symbol(got_h_ptr, "got_h");
          @export_symbol(got_lo_ptr, "got_lo"); @export_symbol(got_hi_ptr, "got_hi"); @export_symbol(go);
        }
        """);
    int[] words = {0xabcd3c00, 0x00017bff, 0xfffebc01, 0x12345555};
    put(sim, "words", 0, 0, words, 32);
    sim.launch("go", List.of());
    int[] u = new int[4], h = new int[4], lo = new int[4], hi = new int[4];
    for (int i = 0; i < 4; i++) {
      u[i] = (int) (Integer.toUnsignedLong(words[i]) * 3); // u32 wraps
      h[i] = Fp16.fromFloat(Fp16.round(Fp16.toFloat((short) words[i]) * 2.0f)) & 0xffff; // 0x7bff * 2 is inf
      lo[i] = words[i] & 0xffff;
      hi[i] = words[i] >>> 16;
    }
    assertArrayEquals(u, get(sim, "got_u", 1, 0, 4, 32));
    assertArrayEquals(h, get(sim, "got_h", 1, 0, 4, 16));
    assertArrayEquals(lo, get(sim, "got_lo", 1, 0, 4, 16));
    assertArrayEquals(hi, get(sim, "got_hi", 1, 0, 4, 16));
  }

  // ---- 4. local tasks: @activate, @block/@unblock, .unblock, comptime activation ---------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void localTasksRunWhenActivatedAndUnblocked(String arch) throws Exception {
    Simulator sim = build(arch, layout(1, 1, "const loop = @get_color(7);", ", .loop = loop", """
          @set_color_config(0, 0, loop, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ RAMP } } });
        """ + names("a:[*]f32:true", "b:[*]f32:false", "log:[*]u16:false", "go")), """
        param loop: color;
        const N: i16 = 3;
        var a = @zeros([N]f32); var a_ptr: [*]f32 = &a;
        var b = @zeros([N]f32); const b_ptr: [*]f32 = &b;
        var log = @zeros([6]u16); const log_ptr: [*]u16 = &log;
        var n: i16 = 0;
        const a_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &a, .extent = N });
        const b_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &b, .extent = N });
        const iq = @get_input_queue(2); const oq = @get_output_queue(3);
        const loop_in = @get_dsd(fabin_dsd, .{ .fabric_color = loop, .extent = N, .input_queue = iq });
        const loop_out = @get_dsd(fabout_dsd, .{ .fabric_color = loop, .extent = N, .output_queue = oq });
        const early_id = @get_local_task_id(12); const first_id = @get_local_task_id(13);
        const second_id = @get_local_task_id(14); const third_id = @get_local_task_id(15);
        fn note(v: u16) void { log[n] = v; n += 1; }
        task early() void { note(1); }
        task first() void { note(4); @fmuls(b_dsd, b_dsd, 2.0); @activate(third_id); @unblock(third_id); }
        task second() void {
          note(3);
          @fmovs(b_dsd, loop_in, .{ .async = true, .unblock = first_id });
          @fmovs(loop_out, a_dsd, .{ .async = true });
        }
        task third() void { note(5); sys_mod.unblock_cmd_stream(); }
        fn go() void { note(2); @block(first_id); @activate(first_id); @activate(second_id); }
        comptime {
          @activate(early_id); // before its binding
          @block(third_id);
          @bind_local_task(early, early_id); @bind_local_task(first, first_id);
          @bind_local_task(second, second_id); @bind_local_task(third, third_id);
        """ + queue("iq", "loop") + queue("oq", "loop") + """
          @export_symbol(a_ptr, "a"); @export_symbol(b_ptr, "b"); @export_symbol(log_ptr, "log"); @export_symbol(go);
        }
        """);
    float[] a = {0.3f, -2.5f, 1e20f};
    put(sim, "a", 0, 0, f32(a), 32);
    sim.launch("go", List.of());
    // early ran before go (activated at comptime); first, though activated with a lower ID than second,
    // waited for the async receive second started to unblock it; third waited for first's @unblock
    assertArrayEquals(new int[] {1, 2, 3, 4, 5, 0}, get(sim, "log", 0, 0, 6, 16));
    assertArrayEquals(new float[] {a[0] * 2.0f, a[1] * 2.0f, a[2] * 2.0f}, floats(get(sim, "b", 0, 0, 3, 32)));
  }

  // ---- 5. control tasks ----------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void controlWaveletsActivateTheirTaskAfterTheDataBeforeThem(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 1, "const c = @get_color(6);", ", .px = x, .c = c",
        EAST_ROUTE + INTO_PE1 + names("src:[*]f32:true", "sum:[*]f32:false", "marks:[*]u16:false", "go")), """
        param px: i16; param c: color;
        const ctrl = @import_module("<control>");
        var src = @zeros([7]f32); var src_ptr: [*]f32 = &src;
        var sum = @zeros([1]f32); const sum_ptr: [*]f32 = &sum;
        var marks = @zeros([2]u16); const marks_ptr: [*]u16 = &marks;
        var payload = @zeros([1]u32);
        var seen: u16 = 0; var nm: i16 = 0;
        const iq = @get_input_queue(3); const oq = @get_output_queue(3);
        const head = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{3} -> src[i] });
        const tail = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{4} -> src[i + 3] });
        const p_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{1} -> payload[i] });
        const out3 = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 3, .output_queue = oq });
        const out4 = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 4, .output_queue = oq });
        const ctl_out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 1, .output_queue = oq, .control = true });
        const ctl_id = @get_control_task_id(2); // a lower ID than the data task's: it runs first once active
        task recv(v: f32) void { sum[0] += v; seen += 1; }
        task on_ctl() void { marks[nm] = seen; nm += 1; if (nm == 2) { sys_mod.unblock_cmd_stream(); } }
        fn go() void {
          if (px == 0) {
            payload[0] = ctrl.encode_control_task_payload(ctl_id);
            @fmovs(out3, head);
            @mov32(ctl_out, p_dsd);
            @fmovs(out4, tail);
            @mov32(ctl_out, p_dsd);
            sys_mod.unblock_cmd_stream();
          }
        }
        comptime {
          @bind_data_task(recv, %s);
          @bind_control_task(on_ctl, ctl_id);
        """.formatted(dataId(arch, "c", "iq")) + queue("iq", "c") + queue("oq", "c") + """
          @export_symbol(src_ptr, "src"); @export_symbol(sum_ptr, "sum"); @export_symbol(marks_ptr, "marks");
          @export_symbol(go);
        }
        """);
    float[] src = {0.5f, 1.0f / 3, -2.0f, 1e7f, 0.1f, 0.2f, 0.3f};
    put(sim, "src", 0, 0, f32(src), 32);
    sim.launch("go", List.of());
    float sum = 0;
    for (float v : src) {
      sum += v;
    }
    assertEquals(sum, floats(get(sim, "sum", 1, 0, 1, 32))[0]);
    // each control wavelet activated the task once the data wavelets before it had run their task
    assertArrayEquals(new int[] {3, 7}, get(sim, "marks", 1, 0, 2, 16));
  }

  // ---- 6. switches advanced by control wavelets ----------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void switchAdvanceControlWaveletsSteerTheWaveletsBehindThem(String arch) throws Exception {
    Simulator sim = build(arch, layout(3, 1, "const c = @get_color(8);", ", .px = x, .c = c"
        + ", .expect = if (x == 0) 6 else 4", """
          @set_color_config(0, 0, c, .{ .routes = .{ .rx = .{ EAST }, .tx = .{ RAMP } } });
          @set_color_config(1, 0, c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ WEST, EAST } },
              .switches = .{ .pos1 = .{ .tx = WEST }, .pos2 = .{ .tx = EAST }, .current_switch_pos = 1,
                             .ring_mode = true } });
          @set_color_config(2, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
        """ + names("got:[*]u32:false", "go")), """
        param px: i16; param c: color; param expect: i16;
        const ctrl = @import_module("<control>");
        var words = [8]u32 { 10, 11, 20, 21, 30, 31, 40, 41 };
        var got = @zeros([8]u32); const got_ptr: [*]u32 = &got;
        var adv = @zeros([1]u32);
        var n: i16 = 0;
        const iq = @get_input_queue(2); const oq = @get_output_queue(2);
        var chunk = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> words[i] });
        const adv_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &adv, .extent = 1 });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 2, .output_queue = oq });
        const adv_out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 1, .output_queue = oq, .control = true });
        task recv(v: u32) void { got[n] = v; n += 1; if (n == expect) { sys_mod.unblock_cmd_stream(); } }
        fn go() void {
          if (px == 1) {
            adv[0] = ctrl.encode_single_payload(ctrl.opcode.SWITCH_ADV, true, {}, 0);
            for (@range(i16, 4)) |k| {
              if (k > 0) { @mov32(adv_out, adv_dsd); }
              @mov32(out, chunk);
              chunk = @increment_dsd_offset(chunk, 2, u32);
            }
            sys_mod.unblock_cmd_stream();
          }
        }
        comptime {
          @bind_data_task(recv, %s);
        """.formatted(dataId(arch, "c", "iq")) + queue("iq", "c") + queue("oq", "c") + """
          @export_symbol(got_ptr, "got"); @export_symbol(go);
        }
        """);
    sim.launch("go", List.of());
    // position 1 (west), 2 (east), then ring mode wraps to position 0 (both) and on to 1 (west)
    assertArrayEquals(new int[] {10, 11, 30, 31, 40, 41, 0, 0}, get(sim, "got", 0, 0, 8, 32));
    assertArrayEquals(new int[] {20, 21, 30, 31, 0, 0, 0, 0}, get(sim, "got", 2, 0, 8, 32));
  }

  // ---- 7. range filters ----------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void rangeFiltersLetARampTakeTheIndicesInItsRange(String arch) throws Exception {
    int[][] ranges = {{0, 2}, {2, 4}, {6, 7}}; // PEs 1..3; 5 is nobody's
    StringBuilder routes = new StringBuilder(
        "  @set_color_config(0, 0, c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });\n");
    for (int x = 1; x <= 3; x++) {
      routes.append("  @set_color_config(%d, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP%s } },\n".formatted(
          x, x < 3 ? ", EAST" : ""));
      routes.append("      .filter = .{ .kind = .{ .range = true }, .min_idx = %d, .max_idx = %d } });\n".formatted(
          ranges[x - 1][0], ranges[x - 1][1]));
    }
    Simulator sim = build(arch, layout(4, 1, "const c = @get_color(9);", ", .px = x, .c = c"
        + ", .expect = if (x == 3) 2 else 3", routes + names("lo:[*]u16:false", "hi:[*]u16:false", "go")), """
        param px: i16; param c: color; param expect: i16;
        var words = @zeros([8]u32);
        var lo = @zeros([8]u16); const lo_ptr: [*]u16 = &lo;
        var hi = @zeros([8]u16); const hi_ptr: [*]u16 = &hi;
        var n: i16 = 0;
        const iq = @get_input_queue(4); const oq = @get_output_queue(4);
        const w_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{8} -> words[i] });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 8, .output_queue = oq });
        task recv(a: u16, b: u16) void {
          lo[n] = a; hi[n] = b; n += 1;
          if (n == expect) { sys_mod.unblock_cmd_stream(); }
        }
        fn go() void {
          if (px == 0) {
            for (@range(u32, 8)) |k| { words[k] = (k << 16) | (100 + k * k); }
            @mov32(out, w_dsd);
            sys_mod.unblock_cmd_stream();
          }
        }
        comptime {
          @bind_data_task(recv, %s);
        """.formatted(dataId(arch, "c", "iq")) + queue("iq", "c") + queue("oq", "c") + """
          @export_symbol(lo_ptr, "lo"); @export_symbol(hi_ptr, "hi"); @export_symbol(go);
        }
        """);
    sim.launch("go", List.of());
    for (int x = 1; x <= 3; x++) {
      int[] lo = new int[8];
      int[] hi = new int[8];
      int n = 0;
      for (int k = 0; k < 8; k++) {
        if (k >= ranges[x - 1][0] && k <= ranges[x - 1][1]) {
          lo[n] = 100 + k * k;
          hi[n++] = k;
        }
      }
      assertArrayEquals(lo, get(sim, "lo", x, 0, 8, 16), "PE " + x);
      assertArrayEquals(hi, get(sim, "hi", x, 0, 8, 16), "PE " + x);
    }
  }

  // ---- 8. FIFOs ------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void aFifoBetweenTwoAsyncOpsFeedsALoopbackColour(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 1, "const c = @get_color(1);\nconst loop = @get_color(2);",
        ", .px = x, .c = c, .loop = loop", EAST_ROUTE + INTO_PE1 + """
          @set_color_config(1, 0, loop, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ RAMP } } });
        """ + names("src:[*]f32:true", "out:[*]f32:false", "go")), """
        param px: i16; param c: color; param loop: color;
        const N: i16 = 10;
        var src = @zeros([N]f32); var src_ptr: [*]f32 = &src;
        var out = @zeros([N]f32); const out_ptr: [*]f32 = &out;
        var fbuf = @zeros([4]f32); // smaller than the stream: the writer waits for the reader
        const fifo = @allocate_fifo(fbuf);
        var n: i16 = 0;
        const send_q = @get_output_queue(2); const in_q = @get_input_queue(2);
        const loop_oq = @get_output_queue(3); const loop_iq = @get_input_queue(4);
        const src_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> src[i] });
        const send = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = N, .output_queue = send_q });
        const from_west = @get_dsd(fabin_dsd, .{ .fabric_color = c, .extent = N, .input_queue = in_q });
        const to_loop = @get_dsd(fabout_dsd, .{ .fabric_color = loop, .extent = N, .output_queue = loop_oq });
        task recv(v: f32) void { out[n] = v * 0.5; n += 1; if (n == N) { sys_mod.unblock_cmd_stream(); } }
        fn go() void {
          if (px == 0) {
            @fmovs(send, src_dsd);
            sys_mod.unblock_cmd_stream();
          } else {
            @fmovs(fifo, from_west, .{ .async = true });
            @fnegs(to_loop, fifo, .{ .async = true });
          }
        }
        comptime {
          @bind_data_task(recv, %s);
        """.formatted(dataId(arch, "loop", "loop_iq")) + queue("send_q", "c") + queue("in_q", "c")
        + queue("loop_oq", "loop") + queue("loop_iq", "loop") + """
          @export_symbol(src_ptr, "src"); @export_symbol(out_ptr, "out"); @export_symbol(go);
        }
        """);
    float[] src = new float[10];
    float[] out = new float[10];
    for (int i = 0; i < 10; i++) {
      src[i] = (i - 4.5f) / 7;
      out[i] = -src[i] * 0.5f;
    }
    put(sim, "src", 0, 0, f32(src), 32);
    sim.launch("go", List.of());
    assertArrayEquals(out, floats(get(sim, "out", 1, 0, 10, 32)));
  }

  // ---- 9. streaming memcpy -------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void streamingMemcpyFeedsFabricDsdsAndReadsThemBack(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 1, ", .MEMCPYH2D_1 = h2d_c, .MEMCPYD2H_1 = d2h_c",
        "const h2d_c = @get_color(2);\nconst d2h_c = @get_color(3);", "", names("halves:[*]u16:false")), """
        const N: i16 = 4;
        const bias = [N]u16 { 1, 0xfff0, 100, 7 };
        var halves = @zeros([N]u16); const halves_ptr: [*]u16 = &halves;
        var keep = @zeros([N]u32);
        const iq = @get_input_queue(2); const oq = @get_output_queue(3);
        const bias_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> bias[i] });
        const halves_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> halves[i] });
        const keep_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> keep[i] });
        const in_dsd = @get_dsd(fabin_dsd, .{ .fabric_color = sys_mod.MEMCPYH2D_1, .extent = N, .input_queue = iq });
        const out_dsd = @get_dsd(fabout_dsd, .{ .fabric_color = sys_mod.MEMCPYD2H_1, .extent = N, .output_queue = oq });
        const main_id = @get_local_task_id(20);
        task main() void {
          @add16(out_dsd, in_dsd, bias_dsd);
          @mov16(halves_dsd, in_dsd);
          @mov32(keep_dsd, in_dsd);
          @mov32(out_dsd, keep_dsd);
        }
        comptime {
          @activate(main_id);
          @bind_local_task(main, main_id);
        """ + queue("iq", "sys_mod.MEMCPYH2D_1") + queue("oq", "sys_mod.MEMCPYD2H_1") + """
          @export_symbol(halves_ptr, "halves");
        }
        """);
    sim.run(); // main starts and waits for the host's first words
    int[] bias = {1, 0xfff0, 100, 7};
    int[] in16 = {5, 0x20, 0xffff, 40, 9, 0x8000, 1, 2}; // PE 0's four, then PE 1's
    sim.h2dStream(2, in16, 0, 0, 2, 1, 4, Simulator.Order.ROW_MAJOR, false);
    int[] sums = new int[8];
    for (int i = 0; i < 8; i++) {
      sums[i] = (in16[i] + bias[i % 4]) & 0xffff; // u16 wraps; a 16-bit wavelet's upper half is 0
    }
    assertArrayEquals(sums, sim.d2hStream(3, 0, 0, 2, 1, 4, Simulator.Order.ROW_MAJOR));
    int[] more = {11, 12, 13, 14, 21, 22, 23, 24};
    sim.h2dStream(2, more, 0, 0, 2, 1, 4, Simulator.Order.ROW_MAJOR, true);
    int[] words = {0x80000001, -2, 0x7fffffff, 0x12345678, 0, 1, 0xdeadbeef, 0x00010000};
    // COL_MAJOR over a 2x1 rectangle: element k of PE px is host[px + 2k]
    int[] colMajor = new int[8];
    for (int px = 0; px < 2; px++) {
      for (int k = 0; k < 4; k++) {
        colMajor[px + 2 * k] = words[px * 4 + k];
      }
    }
    sim.h2dStream(2, colMajor, 0, 0, 2, 1, 4, Simulator.Order.COL_MAJOR, false);
    assertArrayEquals(words, sim.d2hStream(3, 0, 0, 2, 1, 4, Simulator.Order.ROW_MAJOR));
    assertArrayEquals(new int[] {11, 12, 13, 14}, get(sim, "halves", 0, 0, 4, 16));
    assertArrayEquals(new int[] {21, 22, 23, 24}, get(sim, "halves", 1, 0, 4, 16));
    sim.stop();
  }

  // ---- 10. a PE program's own colour config, and a module it imports -------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void anImportedModuleRoutesItsOwnColourAndBindsItsTask(String arch) throws Exception {
    String link = """
        param c: color; param n: i16; param sender: bool;
        param buf: [*]f32; param done_id: local_task_id;
        const iq = @get_input_queue(5); const oq = @get_output_queue(5);
        const src = @get_dsd(mem1d_dsd, .{ .base_address = buf, .extent = n });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = n, .output_queue = oq });
        var k: i16 = 0;
        task arrived(v: f32) void { buf[k] = v + @as(f32, k); k += 1; if (k == n) { @activate(done_id); } }
        fn send() void { @fmovs(out, src); }
        comptime {
          if (sender) {
            @set_local_color_config(c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } });
          } else {
            @set_local_color_config(c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
          }
          @bind_data_task(arrived, %s);
        """.formatted(dataId(arch, "c", "iq")) + queue("iq", "c") + queue("oq", "c") + "}\n";
    Simulator sim = build(arch, layout(2, 1, "const c = @get_color(11);", ", .px = x, .c = c",
        names("buf:[*]f32:true", "go")), """
        param px: i16; param c: color;
        var buf = @zeros([4]f32); var buf_ptr: [*]f32 = &buf;
        const done_id = @get_local_task_id(11);
        const link = @import_module("link.csl", .{ .c = c, .n = 4, .sender = px == 0, .buf = &buf,
                                                   .done_id = done_id });
        task done() void { sys_mod.unblock_cmd_stream(); }
        fn go() void {
          if (px == 0) { link.send(); sys_mod.unblock_cmd_stream(); }
        }
        comptime {
          @bind_local_task(done, done_id);
          @export_symbol(buf_ptr, "buf"); @export_symbol(go);
        }
        """, "link.csl", link);
    float[] in = {2.5f, 1e-8f, -3.0f, 16777216.0f};
    put(sim, "buf", 0, 0, f32(in), 32);
    sim.launch("go", List.of());
    float[] want = {in[0] + 0f, in[1] + 1f, in[2] + 2f, in[3] + 3f}; // 1e-8 + 1 rounds to 1
    assertArrayEquals(want, floats(get(sim, "buf", 1, 0, 4, 32)));
    assertArrayEquals(in, floats(get(sim, "buf", 0, 0, 4, 32)));
  }

  // ---- 11. <layout>, <math>, @map, @bitcast, 2-D tensor access, const array literals ---------------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void librariesMapBitcastAndTensorAccesses(String arch) throws Exception {
    Simulator sim = build(arch, layout(2, 2, "", "",
        names("xs:[*]f32:true", "m:[*]f32:true", "res:[*]f32:false", "ints:[*]u32:false", "go")), """
        const lay = @import_module("<layout>");
        const math = @import_module("<math>");
        const N: i16 = 4;
        var xs = @zeros([N]f32); var xs_ptr: [*]f32 = &xs;
        var m = @zeros([N, N]f32); var m_ptr: [*]f32 = &m;
        var res = @zeros([5 * N + 2]f32); const res_ptr: [*]f32 = &res;
        var ints = @zeros([2 + 2 + N]u32); const ints_ptr: [*]u32 = &ints;
        const table = [N]u32 { 7, 0xffffffff, 65536, 3 };
        const xs_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> xs[i] });
        const roots = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> res[i] });
        const inv = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> res[N + i] });
        const scaled = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> res[2 * N + i] });
        const diag = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> m[i, i] });
        const anti = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> m[i, N - 1 - i] });
        const res_diag = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> res[4 * N + 2 + i] });
        const table_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> table[i] });
        const ints_tail = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> ints[4 + i] });
        fn scale(x: f32, by: f32, lo: f32) f32 { return x * by + lo; }
        fn accumulate(x: f32, w: f32, acc: *f32) f32 { return acc.* + x * w; }
        fn go() void {
          ints[0] = lay.get_x_coord();
          ints[1] = lay.get_y_coord();
          @map(math.sqrt_f32, xs_dsd, roots);
          @map(math.invsqrt_f32, xs_dsd, inv);
          @map(scale, xs_dsd, 3.0, -1.0, scaled);
          for (@range(i16, N)) |i| {
            res[3 * N + i] = math.exp_f32(xs[i] * -0.5);
          }
          res[4 * N] = 0.0;
          @map(accumulate, xs_dsd, 1.5, &res[4 * N], &res[4 * N]);
          res[4 * N + 1] = @bitcast(f32, @bitcast(u32, xs[1]) ^ 0x80000000);
          ints[2] = @bitcast(u32, xs[2]);
          ints[3] = @bitcast(u16, @as(f16, -2.0));
          @fadds(res_diag, diag, anti);
          @mov32(ints_tail, table_dsd);
          sys_mod.unblock_cmd_stream();
        }
        comptime {
          @export_symbol(xs_ptr, "xs"); @export_symbol(m_ptr, "m"); @export_symbol(res_ptr, "res");
          @export_symbol(ints_ptr, "ints"); @export_symbol(go);
        }
        """);
    float[] xs = new float[16];
    float[] m = new float[64];
    for (int i = 0; i < 16; i++) {
      xs[i] = 0.25f + i * 0.7f;
    }
    for (int i = 0; i < 64; i++) {
      m[i] = (i * 37 % 11) - 4.5f;
    }
    sim.h2d(sim.symbol("xs").id(), f32(xs), 0, 0, 2, 2, 4, Simulator.Order.ROW_MAJOR, 32);
    sim.h2d(sim.symbol("m").id(), f32(m), 0, 0, 2, 2, 16, Simulator.Order.ROW_MAJOR, 32);
    sim.launch("go", List.of());
    for (int py = 0; py < 2; py++) {
      for (int px = 0; px < 2; px++) {
        int pe = py * 2 + px;
        float[] x = java.util.Arrays.copyOfRange(xs, pe * 4, pe * 4 + 4);
        float[] a = java.util.Arrays.copyOfRange(m, pe * 16, pe * 16 + 16);
        float[] res = new float[22];
        float acc = 0;
        for (int i = 0; i < 4; i++) {
          res[i] = (float) Math.sqrt(x[i]);
          res[4 + i] = (float) (1 / Math.sqrt(x[i]));
          res[8 + i] = x[i] * 3.0f + -1.0f;
          res[12 + i] = (float) Math.exp(x[i] * -0.5f);
          acc += x[i] * 1.5f;
          res[18 + i] = a[i * 4 + i] + a[i * 4 + 3 - i];
        }
        res[16] = acc;
        res[17] = -x[1];
        String at = "PE (" + px + ", " + py + ")";
        assertArrayEquals(res, floats(get(sim, "res", px, py, 22, 32)), at);
        int[] ints = {px, py, Float.floatToRawIntBits(x[2]), Fp16.fromFloat(-2.0f) & 0xffff, 7, -1, 65536, 3};
        assertArrayEquals(ints, get(sim, "ints", px, py, 8, 32), at);
      }
    }
  }

  // ---- 12. errors: one line, at the source that caused them -----------------------------------------

  /** PEs 0 and 1 in a row, colours c = 3 and d = 4 routed by {@code routes}; go runs {@code send} / {@code recv}. */
  private Simulator pair(String arch, String routes, String decls, String send, String recv, String ct)
      throws Exception {
    return build(arch, layout(2, 1, "const c = @get_color(3);\nconst d = @get_color(4);", ", .px = x, .c = c, .d = d",
        routes + "  @export_name(\"go\", fn()void);\n"), """
        param px: i16; param c: color; param d: color;
        var buf = @zeros([300]f32);
        const mem = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{5} -> buf[i] });
        const iq = @get_input_queue(2); const oq = @get_output_queue(3);
        const fin = @get_dsd(fabin_dsd, .{ .fabric_color = c, .extent = 5, .input_queue = iq });
        const fout = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 5, .output_queue = oq });
        """ + decls + """
        fn go() void {
          if (px == 0) {
        """ + send + """
          } else {
        """ + recv + """
          }
        }
        comptime {
        """ + ct + """
          @export_symbol(go);
        }
        """);
  }

  private String launchFails(Simulator sim) {
    return fails(() -> sim.launch("go", List.of()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void unroutableWaveletsAreErrorsAtTheirSend(String arch) throws Exception {
    String send = "@fmovs(fout, mem);\nsys_mod.unblock_cmd_stream();\n";
    String ct = queue("oq", "c");
    String m = launchFails(pair(arch, EAST_ROUTE, "", send, "sys_mod.unblock_cmd_stream();\n", ct));
    // a wavelet no route takes waits at that router (a route may be set at run time); none ever is: a deadlock
    has(m, "for a route: a wavelet on colour 3 sent by PE (0, 0) reaches PE (1, 0) from the WEST, whose router has no "
        + "route for colour 3 that receives from WEST");
    assertTrue(m.startsWith(src.at("pe.csl", "@fmovs(fout") + ": launch('go') waits forever"), m);
    String onward = "  @set_color_config(1, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP, EAST } } });\n";
    m = launchFails(pair(arch, EAST_ROUTE + onward, "", send, "sys_mod.unblock_cmd_stream();\n", ct));
    has(m, "a wavelet on colour 3 sent by PE (0, 0) leaves the kernel rectangle at PE (1, 0) going EAST (route at "
        + src.at("layout.csl", "@set_color_config(1, 0") + "): the wavelet is lost");
  }

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void deadlocksNameEveryPeAndWhatItWaitsFor(String arch) throws Exception {
    String queues = queue("iq", "c") + queue("oq", "c");
    // a data task blocked at comptime and never unblocked: its wavelets wait, and so does the host
    Simulator sim = pair(arch, EAST_ROUTE + INTO_PE1, "task recv(v: f32) void { sys_mod.unblock_cmd_stream(); }\n",
        "@fmovs(fout, mem);\nsys_mod.unblock_cmd_stream();\n", "",
        queues + "@bind_data_task(recv, " + dataId(arch, "c", "iq") + ");\n@block(recv);\n");
    String m = launchFails(sim);
    String block = src.at("pe.csl", "@block(recv)");
    assertTrue(m.startsWith(block + ": launch('go') waits forever: no PE can move (deadlock); "), m);
    has(m, "PE (1, 0): recv (data task " + (arch.equals("wse2") ? 3 : 2) + ") is blocked (by " + block + ") with work "
        + "waiting", "nothing left to unblock it", "PE (1, 0) has not called sys_mod.unblock_cmd_stream() since "
        + "launch('go')");
    // a synchronous receive of 5 wavelets when 3 come: PE 1 waits in it and never releases the command stream
    sim = pair(arch, EAST_ROUTE + INTO_PE1,
        "const fout3 = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 3, .output_queue = oq });\n",
        "@fmovs(fout3, buf[0]);\nsys_mod.unblock_cmd_stream();\n",
        "@fadds(mem, mem, fin);\nsys_mod.unblock_cmd_stream();\n", queues);
    m = launchFails(sim);
    String recv = src.at("pe.csl", "@fadds(mem");
    assertTrue(m.startsWith(recv + ": launch('go') waits forever"), m);
    has(m, "PE (1, 0) in go waits in @fadds at " + recv + " (3 of 5 done) for a wavelet on colour 3 (input queue 2)",
        "PE (1, 0) has not called sys_mod.unblock_cmd_stream() since launch('go')");
    assertTrue(!m.contains("PE (0, 0)"), m);
    // a launched fn that returns without releasing the command stream, on both PEs
    m = launchFails(pair(arch, "", "", "", "", ""));
    has(m, "launch('go') waits forever: no PE can move (deadlock); PE (0, 0) has not called "
        + "sys_mod.unblock_cmd_stream() since launch('go'); PE (1, 0) has not called");
  }

  @Test
  void twoAsyncOpsOnOneQueueIdShareAMicrothreadOnWse2() throws Exception {
    Simulator sim = pair("wse2", EAST_ROUTE + INTO_PE1,
        "const oq2 = @get_output_queue(2);\n"
            + "const back = @get_dsd(fabout_dsd, .{ .fabric_color = d, .extent = 5, .output_queue = oq2 });\n",
        "sys_mod.unblock_cmd_stream();\n",
        "@fadds(mem, mem, fin, .{ .async = true });\n@fmovs(back, mem, .{ .async = true });\n", "");
    String m = launchFails(sim);
    assertTrue(m.startsWith(src.at("pe.csl", "@fmovs(back") + ": @fmovs .async on microthread 2 while @fadds .async at "
        + src.at("pe.csl", "@fadds(mem") + " (0 of 5 done) still runs on it"), m);
    has(m, "on WSE-2 an async operation runs on the microthread of its fabric queue's ID");
  }

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void dsdStridesAreASignedByteAndLengthsSixteenBits(String arch) throws Exception {
    String ok = "const s127 = @get_dsd(mem1d_dsd, .{ .base_address = &buf, .extent = 3, .stride = 127 });\n";
    Simulator sim = build(arch, layout(1, 1, "", "", "  @export_name(\"buf\", [*]f32, false);\n"
        + "  @export_name(\"go\", fn()void);\n"), "var buf = @zeros([300]f32);\nconst buf_ptr: [*]f32 = &buf;\n" + ok
        + "fn go() void { @fmovs(s127, 2.5); sys_mod.unblock_cmd_stream(); }\n"
        + "comptime { @export_symbol(buf_ptr, \"buf\"); @export_symbol(go); }\n");
    sim.launch("go", List.of());
    int[] got = get(sim, "buf", 0, 0, 300, 32);
    for (int i = 0; i < 300; i++) {
      assertEquals(i % 127 == 0 && i <= 254 ? Float.floatToRawIntBits(2.5f) : 0, got[i], "buf[" + i + "]");
    }
    String[][] cases = {
        {"@get_dsd(mem1d_dsd, .{ .base_address = &buf, .extent = 2, .stride = 128 })", "@get_dsd",
            "a DSD's stride is a signed byte (-128 to 127), not 128"},
        {"@get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> buf[i * 128] })", "|i|",
            "a DSD's stride is a signed byte (-128 to 127), not 128"},
        {"@get_dsd(mem1d_dsd, .{ .base_address = &buf, .extent = 65536 })", "@get_dsd",
            "a DSD's length is 16 bits (0 to 65535), not 65536"},
        {"@get_dsd(fabin_dsd, .{ .fabric_color = c, .extent = 70000, .input_queue = iq })", "@get_dsd",
            "a DSD's length is 16 bits (0 to 65535), not 70000"}};
    for (String[] k : cases) { // DSDs are made when the program loads: cslc refuses them
      String m = fails(() -> pair(arch, "", "const bad = " + k[0] + ";\n", "@fmovs(bad, mem);\n", "@fmovs(bad, mem);\n",
          queue("iq", "c")));
      String line = src.at("pe.csl", "const bad = "); // column 1 of its line: the DSD starts at column 13
      String col = line.substring(0, line.lastIndexOf(':') + 1) + (13 + k[0].indexOf(k[1]));
      assertEquals(col + ": " + k[2], m, k[0]);
    }
  }

  @Test
  void queuesAndDataTaskIdsFollowTheirArch() throws Exception {
    String m = fails(() -> pair("wse3", "", "", "", "",
        "@initialize_queue(iq, .{ .color = c });\n@initialize_queue(iq, .{ .color = d });\n"));
    assertEquals(src.at("pe.csl", "@initialize_queue(iq, .{ .color = d")
        + ": input queue 2 is bound to colour 3 and now to colour 4: a queue serves one colour", m);
    String task = "task t(v: f32) void { }\n";
    m = fails(() -> pair("wse2", "", task, "", "", "@bind_data_task(t, @get_data_task_id(iq));\n"));
    assertTrue(m.startsWith(src.at("pe.csl", "@get_data_task_id") + ": @get_data_task_id takes a colour on wse2, not "), m);
    m = fails(() -> pair("wse3", "", task, "", "", "@bind_data_task(t, @get_data_task_id(c));\n"));
    assertTrue(m.startsWith(src.at("pe.csl", "@get_data_task_id") + ": @get_data_task_id takes an input queue on wse3, "
        + "not "), m);
  }
}
