package dev.meshc.backends.csl.sim;

import static dev.meshc.backends.csl.sim.SimSources.f16;
import static dev.meshc.backends.csl.sim.SimSources.f32;
import static dev.meshc.backends.csl.sim.SimSources.fails;
import static dev.meshc.backends.csl.sim.SimSources.has;
import static dev.meshc.backends.csl.sim.SimSources.queue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The simulator's builtins and libraries that CslSimTest and CslFabricTest leave out: the rest of
 * the DSD ops and DSD setters, DSRs, casts and type builtins, asserts, {@code <math>}, {@code <time>},
 * {@code <random>}, {@code <directions>}, colour swap, popping switches, WSE-3 microthreads, {@code @rpc}
 * and cslc's colour params, each on a small CSL program written for it. Expected values are computed
 * here in plain Java (f32 as float, f16 through Fp16).
 */
class CslLibraryTest {
  @TempDir
  Path dir;

  /** The files the current test writes (made before each test: the temporary folder is its). */
  private SimSources src;

  @org.junit.jupiter.api.BeforeEach
  void sources() {
    src = new SimSources(dir);
  }

  private static final String PRE = """
      param memcpy_params: comptime_struct;
      const sys_mod = @import_module("<memcpy/memcpy>", memcpy_params);
      """;

  /** A w×h layout: {@code top}, every PE running pe.csl with memcpy's params and {@code params}, then {@code body}. */
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

  private static String layout(int w, int h, String top, String params, String body) {
    return layout(w, h, "", top, params, body);
  }

  private Simulator build(String arch, String layout, String pe) throws Exception {
    return build(arch, Map.of(), layout, pe);
  }

  /** Writes layout.csl and pe.csl (PRE + {@code pe}) and builds them, cslc's colour params {@code colors}. */
  private Simulator build(String arch, Map<String, Object> colors, String layout, String pe) throws Exception {
    src.write("layout.csl", layout);
    src.write("pe.csl", PRE + pe);
    return Simulator.build(new Simulator.Config(dir.resolve("layout.csl"), arch, Map.of(), new int[] {40, 40},
        new int[] {4, 1}, true, 1, colors));
  }

  /**
   * One PE (or a w×h rectangle with no routes) whose program declares the arrays {@code specs}
   * ({@code "name:T:n"} read by the host, {@code "name:T:n:w"} written by it), then {@code body}
   * (which defines {@code fn go}), and exports them and go.
   */
  private Simulator arrays(String arch, int w, int h, String params, String[] specs, String body) throws Exception {
    StringBuilder decl = new StringBuilder();
    StringBuilder names = new StringBuilder();
    StringBuilder exports = new StringBuilder("comptime {\n");
    for (String s : specs) {
      String[] p = s.split(":");
      boolean rw = p.length > 3;
      decl.append("var %s = @zeros([%s]%s); %s %s_ptr: [*]%s = &%s;\n".formatted(p[0], p[2], p[1],
          rw ? "var" : "const", p[0], p[1], p[0]));
      names.append("  @export_name(\"%s\", [*]%s, %s);\n".formatted(p[0], p[1], rw));
      exports.append("  @export_symbol(%s_ptr, \"%s\");\n".formatted(p[0], p[0]));
    }
    java.util.regex.Matcher go = java.util.regex.Pattern.compile("fn go\\(([^)]*)\\)").matcher(body);
    String args = go.find() ? go.group(1).replaceAll("\\w+: ", "") : "";
    names.append("  @export_name(\"go\", fn(%s)void);\n".formatted(args));
    exports.append("  @export_symbol(go);\n}\n");
    return build(arch, layout(w, h, "", params, names.toString()), decl + body + exports);
  }

  private Simulator one(String... specsThenBody) throws Exception {
    int n = specsThenBody.length - 1;
    return arrays("wse2", 1, 1, "", java.util.Arrays.copyOf(specsThenBody, n), specsThenBody[n]);
  }

  private static String route(int x, String color, String rx, String tx, String extra) {
    return "  @set_color_config(%d, 0, %s, .{ .routes = .{ .rx = .{ %s }, .tx = .{ %s }%s } });\n".formatted(x, color,
        rx, tx, extra);
  }

  /** f16 values the host writes: each rounded to f16 first. */
  private static float[] halves(float... v) {
    float[] r = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      r[i] = Fp16.round(v[i]);
    }
    return r;
  }

  private static int[] get(Simulator sim, String name, int x, int y, int n, int bits) {
    return sim.d2h(sim.symbol(name).id(), x, y, 1, 1, n, Simulator.Order.ROW_MAJOR, bits);
  }

  private static void put(Simulator sim, String name, int[] words, int bits) {
    sim.h2d(sim.symbol(name).id(), words, 0, 0, 1, 1, words.length, Simulator.Order.ROW_MAJOR, bits);
  }

  private static void go(Simulator sim) {
    sim.launch("go", List.of());
  }

  // ---- 1. DSD ops of both widths, scalar operands, the DSD setters, lengths -------------------------

  @Test
  void dsdOpsWithScalarOperandsAndTheDsdSetters() throws Exception {
    Simulator sim = one("x:f32:5:w", "y:f32:5:w", "hx:f16:5:w", "hy:f16:5:w", "rs:f32:20", "rh:f16:30",
        "tgt:f32:12", "cut:f32:5", """
        const N: i16 = 5;
        const xd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> x[i] });
        const yd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> y[i] });
        const hxd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> hx[i] });
        const hyd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> hy[i] });
        const cut3 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{3} -> cut[i] });
        var rsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> rs[i] });
        var rhd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> rh[i] });
        var bd = @get_dsd(mem1d_dsd, .{ .base_address = &x, .extent = 2 });
        fn nexts() void { rsd = @increment_dsd_offset(rsd, N, f32); }
        fn nexth() void { rhd = @increment_dsd_offset(rhd, N, f16); }
        fn go() void {
          @fsubs(rsd, xd, yd); nexts();
          @fsubs(rsd, xd, 0.75); nexts();
          @fmaxs(rsd, xd, yd); nexts();
          @fmaxs(rsd, -0.5, yd);
          @fmach(rhd, hyd, hxd, hxd); nexth();
          @fmach(rhd, hyd, hxd, 1.5); nexth();
          @fsubh(rhd, hxd, hyd); nexth();
          @fmulh(rhd, hxd, -3.0); nexth();
          @fnegh(rhd, hxd); nexth();
          @fmaxh(rhd, hxd, 0.2);
          bd = @set_dsd_base_addr(bd, &tgt[1]);
          @fmovs(bd, 1.0);
          bd = @set_dsd_length(bd, 4);
          @fadds(bd, bd, 10.0);
          bd = @set_dsd_stride(bd, 3);
          @fadds(bd, bd, 100.0);
          @fnegs(cut3, xd); // the destination's 3: x is read only that far
          sys_mod.unblock_cmd_stream();
        }
        """);
    float[] x = {1.25f, -0.1f, 3.3f, 1e-3f, 7.0f};
    float[] y = {0.3f, -2.5f, 3.3f, 1e4f, -7.5f};
    float[] hx = halves(0.1f, 0.3f, -1.7f, 2.2f, 0.7f);
    float[] hy = halves(1.1f, -0.4f, 3.3f, -2.5f, 0.05f);
    put(sim, "x", f32(x), 32);
    put(sim, "y", f32(y), 32);
    put(sim, "hx", f16(hx), 16);
    put(sim, "hy", f16(hy), 16);
    go(sim);
    float[] rs = new float[20];
    float[] rh = new float[30];
    float[] cut = new float[5];
    for (int i = 0; i < 5; i++) {
      rs[i] = x[i] - y[i];
      rs[5 + i] = x[i] - 0.75f;
      rs[10 + i] = Math.max(x[i], y[i]);
      rs[15 + i] = Math.max(-0.5f, y[i]);
      rh[i] = Fp16.round(hy[i] + Fp16.round(hx[i] * hx[i])); // the product rounded, then the sum
      rh[5 + i] = Fp16.round(hy[i] + Fp16.round(hx[i] * 1.5f));
      rh[10 + i] = Fp16.round(hx[i] - hy[i]);
      rh[15 + i] = Fp16.round(hx[i] * -3.0f);
      rh[20 + i] = -hx[i];
      rh[25 + i] = Math.max(hx[i], Fp16.round(0.2f));
      cut[i] = i < 3 ? -x[i] : 0;
    }
    assertArrayEquals(f32(rs), get(sim, "rs", 0, 0, 20, 32));
    assertArrayEquals(f16(rh), get(sim, "rh", 0, 0, 30, 16));
    assertArrayEquals(f32(cut), get(sim, "cut", 0, 0, 5, 32));
    // base &tgt[1] length 2 = 1; length 4 += 10; stride 3 (tgt[1], [4], [7], [10]) += 100
    float[] tgt = {0, 111, 11, 10, 110, 0, 0, 100, 0, 0, 100, 0};
    assertArrayEquals(f32(tgt), get(sim, "tgt", 0, 0, 12, 32));

    // an operation ends when its shortest memory DSD does: a[3], a[4] stay
    Simulator shortest = one("a:f32:5:w", "b:f32:8:w", """
        const ad = @get_dsd(mem1d_dsd, .{ .base_address = &a, .extent = 5 });
        const bd = @get_dsd(mem1d_dsd, .{ .base_address = &b, .extent = 3 });
        fn go() void { @fadds(ad, ad, bd); sys_mod.unblock_cmd_stream(); }
        """);
    put(shortest, "a", f32(1, 2, 3, 4, 5), 32);
    put(shortest, "b", f32(10, 20, 30, 40, 50, 60, 70, 80), 32);
    go(shortest);
    assertArrayEquals(f32(11, 22, 33, 4, 5), get(shortest, "a", 0, 0, 5, 32));
  }

  // ---- 2. DSRs: a DSR's DSD, .save_address, and @map over a fn that runs ops on DSRs ---------------

  @Test
  void dsrsWalkTheirDsdWhenTheySaveTheAddress() throws Exception {
    Simulator sim = one("a:f32:6:w", "b:f32:6", "acc:f32:2", """
        const a2 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> a[i] });
        const b2 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> b[i] });
        const acc2 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> acc[i] });
        const to_b = @get_dsr(dsr_dest, 1);
        const from_a = @get_dsr(dsr_src0, 1);
        const to_acc = @get_dsr(dsr_dest, 2);
        const from_acc = @get_dsr(dsr_src0, 2);
        const from_a1 = @get_dsr(dsr_src1, 1);
        fn go() void {
          @load_to_dsr(to_b, b2, .{ .save_address = true });
          @load_to_dsr(from_a, a2, .{ .save_address = true });
          @load_to_dsr(to_acc, acc2);
          @load_to_dsr(from_acc, acc2, .{ .save_address = false });
          @load_to_dsr(from_a1, a2, .{ .save_address = true });
          for (@range(i16, 3)) |k| {
            @fmuls(to_b, from_a, 2.0); // the next block of a into the next block of b
            @fadds(to_acc, from_acc, from_a1); // acc stays; a walks
          }
          sys_mod.unblock_cmd_stream();
        }
        """);
    float[] a = {0.5f, 1.0f / 3, -2.0f, 1e7f, 0.1f, 0.2f};
    put(sim, "a", f32(a), 32);
    go(sim);
    float[] b = new float[6];
    for (int i = 0; i < 6; i++) {
      b[i] = a[i] * 2.0f;
    }
    float[] acc = {0f + a[0] + a[2] + a[4], 0f + a[1] + a[3] + a[5]};
    assertArrayEquals(f32(b), get(sim, "b", 0, 0, 6, 32));
    assertArrayEquals(f32(acc), get(sim, "acc", 0, 0, 2, 32));
  }

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void mapOfAVoidFnRunningFmachOnDsrsIsAMatrixProductInF16(String arch) throws Exception {
    int m = 3;
    int kk = 4;
    int n = 2;
    Simulator sim = arrays(arch, 1, 1, "", new String[] {"a:f16:12:w", "b:f16:8:w", "c:f16:6"}, """
        const M: i16 = 3; const K: i16 = 4; const N: i16 = 2;
        const c_col = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{M} -> c[i] });
        var a_col = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{M} -> a[i] });
        var b_row = @get_dsd(mem1d_dsd, .{ .tensor_access = |j|{N} -> b[j] });
        const c_out = @get_dsr(dsr_dest, 3);
        const c_in = @get_dsr(dsr_src0, 3);
        const a_in = @get_dsr(dsr_src1, 3);
        fn step(w: f16) void { @fmach(c_out, c_in, a_in, w); } // column j of C += column k of A * B[k, j]
        fn go() void {
          for (@range(i16, K)) |k| {
            @load_to_dsr(c_out, c_col, .{ .save_address = true });
            @load_to_dsr(c_in, c_col, .{ .save_address = true });
            @load_to_dsr(a_in, a_col, .{ .save_address = false });
            @map(step, b_row);
            a_col = @increment_dsd_offset(a_col, M, f16);
            b_row = @increment_dsd_offset(b_row, N, f16);
          }
          sys_mod.unblock_cmd_stream();
        }
        """);
    float[] a = new float[m * kk]; // column-major: A[i, k] at k * M + i
    float[] b = new float[kk * n]; // row-major: B[k, j] at k * N + j
    for (int i = 0; i < a.length; i++) {
      a[i] = Fp16.round(0.17f * (i + 1) - 0.93f);
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = Fp16.round(2.7f - 0.61f * i); // two of C's six differ from a fused fmac's
    }
    put(sim, "a", f16(a), 16);
    put(sim, "b", f16(b), 16);
    go(sim);
    float[] c = new float[m * n]; // column-major
    for (int k = 0; k < kk; k++) {
      for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
          c[j * m + i] = Fp16.round(c[j * m + i] + Fp16.round(a[k * m + i] * b[k * n + j]));
        }
      }
    }
    assertArrayEquals(f16(c), get(sim, "c", 0, 0, 6, 16));
  }

  // ---- 3. @ptrcast, @bitcast, @type_of, @is_same_type, asserts, @concat_structs, @get_rectangle -----

  @Test
  void castsTypesStructsAndTheRectangle() throws Exception {
    Simulator sim = arrays("wse2", 3, 2, ", .big = 40000, .c = @get_color(4)", new String[] {"fs:f32:3:w",
        "ws:u32:4", "is:i16:2", "hs:u16:2", "flags:u16:9", "rect:u16:2"}, """
        param big: comptime_int;
        param c: color;
        param extra = {};
        const parts = @concat_structs(.{ .lo = 3, .hi = 4 }, .{ .mid = 10 });
        comptime { @comptime_assert(parts.lo + parts.hi + parts.mid == 17); }
        fn go() void {
          const ip = @ptrcast([*]u32, &fs);
          ws[0] = ip[0];
          ip[1] = 0x40490fdb;
          ip[2] = ip[2] ^ 0x80000000;
          @assert(ws[0] == @bitcast(u32, fs[0]));
          hs[0] = @bitcast(u16, big);
          is[0] = @bitcast(i16, big) / 2;
          ws[1] = @bitcast(u32, @as(i32, -2));
          hs[1] = @bitcast(u16, @bitcast(f16, @as(u16, 0x3c01)) * 2.0);
          is[1] = @bitcast(i16, @bitcast(f16, @as(u16, 0xbc00)));
          ws[2] = @bitcast(u32, @bitcast(f32, @as(i32, 0x3f800000)) + 1.0);
          ws[3] = parts.mid + parts.lo * parts.hi;
          flags[0] = @is_same_type(@type_of(extra), void);
          flags[1] = @is_same_type(@type_of(fs[0]), f32);
          flags[2] = @is_same_type(@type_of(big), comptime_int);
          flags[3] = @is_same_type(@type_of(c), color);
          flags[4] = @is_same_type(@type_of(hs[0]), f16);
          flags[5] = @is_same_type(@type_of(EAST), direction);
          flags[6] = @is_same_type(@type_of(is[0]), i16);
          flags[7] = @bitcast(i16, @as(u16, 65535)) < 0;
          flags[8] = @is_same_type(@type_of(@get_color(9)), color);
          rect[0] = @get_rectangle().width;
          rect[1] = @get_rectangle().height;
          sys_mod.unblock_cmd_stream();
        }
        """);
    float[] fs = {1.5f, 0f, -0.375f};
    int[] every = new int[18]; // the same three on each of the six PEs
    for (int i = 0; i < 18; i++) {
      every[i] = Float.floatToRawIntBits(fs[i % 3]);
    }
    sim.h2d(sim.symbol("fs").id(), every, 0, 0, 3, 2, 3, Simulator.Order.ROW_MAJOR, 32);
    go(sim);
    for (int[] pe : new int[][] {{0, 0}, {2, 1}}) {
      int x = pe[0];
      int y = pe[1];
      assertArrayEquals(f32(fs[0], (float) Math.PI, -fs[2]), get(sim, "fs", x, y, 3, 32));
      assertArrayEquals(new int[] {Float.floatToRawIntBits(fs[0]), -2, Float.floatToRawIntBits(2.0f), 22},
          get(sim, "ws", x, y, 4, 32));
      // 40000 as i16 is -25536, halved -12768; as u16 it stays 40000; 0xbc00 is f16 -1.0
      assertArrayEquals(new int[] {-12768 & 0xffff, 0xbc00}, get(sim, "is", x, y, 2, 16));
      assertArrayEquals(new int[] {40000, Fp16.fromFloat(Fp16.toFloat((short) 0x3c01) * 2) & 0xffff},
          get(sim, "hs", x, y, 2, 16));
      assertArrayEquals(new int[] {1, 1, 1, 1, 0, 1, 1, 1, 1}, get(sim, "flags", x, y, 9, 16));
      assertArrayEquals(new int[] {3, 2}, get(sim, "rect", x, y, 2, 16));
    }
  }

  @Test
  void failingAssertsAreOneLineAtTheirPlace() throws Exception {
    String m = fails(() -> one("v:f32:1", """
        comptime { @comptime_assert(@get_rectangle().width == 2); }
        fn go() void { sys_mod.unblock_cmd_stream(); }
        """));
    assertEquals(src.at("pe.csl", "@comptime_assert") + ": @comptime_assert failed", m);
    Simulator sim = one("v:f32:1:w", """
        fn go() void { @assert(v[0] > 1.0); sys_mod.unblock_cmd_stream(); }
        """);
    put(sim, "v", f32(2.0f), 32);
    go(sim); // holds
    put(sim, "v", f32(0.5f), 32);
    m = fails(() -> go(sim));
    assertEquals(src.at("pe.csl", "@assert") + ": @assert failed", m);
    m = fails(() -> go(one("v:f32:1", "fn go() void { var h = @bitcast(u16, v[0]); }\n")));
    assertEquals(src.at("pe.csl", "@bitcast") + ": @bitcast(u16, f32): the sizes differ", m);
  }

  // ---- 4. <math> ------------------------------------------------------------------------------------

  private static final String[] MATH = {"sqrt", "invsqrt", "log", "exp", "tanh", "abs", "floor", "ceil"};

  private static final DoubleUnaryOperator[] JAVA = {Math::sqrt, v -> 1 / Math.sqrt(v), Math::log, Math::exp,
      Math::tanh, Math::abs, Math::floor, Math::ceil};

  @Test
  void mathFunctionsRoundToTheirTypeCalledAndMapped() throws Exception {
    StringBuilder body = new StringBuilder("""
        const math = @import_module("<math>");
        const N: i16 = 5;
        const p32 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> p[i] });
        const q32 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> q[i] });
        const p16 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> ph[i] });
        const q16 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> qh[i] });
        var o32 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> m[i] });
        var o16 = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{N} -> mh[i] });
        fn go() void {
          for (@range(i16, N)) |i| {
        """);
    for (int k = 0; k < MATH.length; k++) { // sqrt, invsqrt and log of the positive p, the rest of q
      String in = k < 3 ? "p" : "q";
      body.append("    r[%d * N + i] = math.%s_f32(%s[i]);\n".formatted(k, MATH[k], in));
      body.append("    rh[%d * N + i] = math.%s_f16(%sh[i]);\n".formatted(k, MATH[k], in));
    }
    body.append("  }\n");
    for (int k = 0; k < MATH.length; k++) {
      String in = k < 3 ? "p" : "q";
      body.append("  @map(math.%s_f32, %s32, o32); o32 = @increment_dsd_offset(o32, N, f32);\n".formatted(MATH[k], in));
      body.append("  @map(math.%s_f16, %s16, o16); o16 = @increment_dsd_offset(o16, N, f16);\n".formatted(MATH[k], in));
    }
    body.append("  sys_mod.unblock_cmd_stream();\n}\n");
    Simulator sim = one("p:f32:5:w", "q:f32:5:w", "ph:f16:5:w", "qh:f16:5:w", "r:f32:40", "rh:f16:40", "m:f32:40",
        "mh:f16:40", body.toString());
    float[] p = {0.3f, 2.0f, 1e-4f, 17.7f, 1234.5f};
    float[] q = {-2.75f, -0.3f, 0.0f, 1.5f, 7.2f};
    float[] ph = halves(p);
    float[] qh = halves(q);
    put(sim, "p", f32(p), 32);
    put(sim, "q", f32(q), 32);
    put(sim, "ph", f16(ph), 16);
    put(sim, "qh", f16(qh), 16);
    go(sim);
    float[] want = new float[40];
    float[] wantH = new float[40];
    for (int k = 0; k < MATH.length; k++) {
      for (int i = 0; i < 5; i++) {
        want[k * 5 + i] = (float) JAVA[k].applyAsDouble((double) (k < 3 ? p : q)[i]);
        wantH[k * 5 + i] = Fp16.round((float) JAVA[k].applyAsDouble((double) (k < 3 ? ph : qh)[i]));
      }
    }
    assertArrayEquals(f32(want), get(sim, "r", 0, 0, 40, 32));
    assertArrayEquals(f16(wantH), get(sim, "rh", 0, 0, 40, 16));
    assertArrayEquals(f32(want), get(sim, "m", 0, 0, 40, 32));
    assertArrayEquals(f16(wantH), get(sim, "mh", 0, 0, 40, 16));
  }

  // ---- 5. <time> ------------------------------------------------------------------------------------

  private static long stamp(int[] words, int at) {
    return words[at] | (long) words[at + 1] << 16 | (long) words[at + 2] << 32;
  }

  @Test
  void timestampsCountCyclesInThreeWordsAndStopAndReset() throws Exception {
    Simulator sim = one("ts:u16:15", "size:u16:1", """
        const timestamp = @import_module("<time>");
        var buf = @zeros([300]f32);
        const big = @get_dsd(mem1d_dsd, .{ .base_address = &buf, .extent = 300 });
        var tsc = @zeros([timestamp.tsc_size_words]u16);
        fn keep(k: i16) void { for (@range(i16, 3)) |i| { ts[3 * k + i] = tsc[i]; } }
        fn go() void {
          size[0] = timestamp.tsc_size_words;
          timestamp.enable_tsc();
          timestamp.get_timestamp(&tsc); keep(0);
          @fadds(big, big, 1.0);
          timestamp.get_timestamp(&ts[3]);
          timestamp.disable_tsc();
          timestamp.get_timestamp(&ts[6]);
          @fadds(big, big, 1.0);
          timestamp.get_timestamp(&ts[9]);
          timestamp.enable_tsc();
          timestamp.reset_tsc_counter();
          timestamp.get_timestamp(&ts[12]);
          sys_mod.unblock_cmd_stream();
        }
        """);
    go(sim);
    assertArrayEquals(new int[] {3}, get(sim, "size", 0, 0, 1, 16));
    int[] ts = get(sim, "ts", 0, 0, 15, 16);
    long t0 = stamp(ts, 0);
    long t1 = stamp(ts, 3);
    assertTrue(t1 - t0 >= 300, t0 + " then " + t1);
    assertEquals(stamp(ts, 6), stamp(ts, 9), "a disabled counter does not move");
    assertTrue(stamp(ts, 6) >= t1);
    assertTrue(stamp(ts, 12) < stamp(ts, 9), "reset: " + stamp(ts, 12));
  }

  // ---- 6. <random> ----------------------------------------------------------------------------------

  private int[][] draws(long seed) throws Exception {
    Simulator sim = one("f:f32:16", "h:f16:16", "u:u32:16", "w:u32:16", """
        const random = @import_module("<random>");
        fn go(seed: u32) void {
          random.set_global_prng_seed(seed);
          for (@range(i16, 16)) |i| {
            f[i] = random.random_f32(-2.0, 3.0);
            h[i] = random.random_f16(0.5, 1.5);
            u[i] = random.random_u16();
            w[i] = random.random_u32();
          }
          sys_mod.unblock_cmd_stream();
        }
        """);
    sim.launch("go", List.of(seed));
    return new int[][] {get(sim, "f", 0, 0, 16, 32), get(sim, "h", 0, 0, 16, 16), get(sim, "u", 0, 0, 16, 32),
        get(sim, "w", 0, 0, 16, 32)};
  }

  @Test
  void aSeededGeneratorRepeatsItsSequenceWithinItsRanges() throws Exception {
    int[][] a = draws(12345);
    int[][] again = draws(12345); // a second build
    int[][] other = draws(777);
    for (int k = 0; k < 4; k++) {
      assertArrayEquals(a[k], again[k], "sequence " + k);
      assertNotEquals(java.util.Arrays.toString(a[k]), java.util.Arrays.toString(other[k]), "sequence " + k);
    }
    for (int[][] d : new int[][][] {a, other}) {
      java.util.Set<Integer> distinct = new java.util.HashSet<>();
      for (int i = 0; i < 16; i++) {
        float f = Float.intBitsToFloat(d[0][i]);
        float h = Fp16.toFloat((short) d[1][i]);
        assertTrue(f >= -2.0f && f < 3.0f, "random_f32 " + f);
        assertTrue(h >= 0.5f && h < 1.5f, "random_f16 " + h);
        assertTrue(d[2][i] >= 0 && d[2][i] < 65536, "random_u16 " + d[2][i]);
        distinct.add(d[3][i]);
      }
      assertTrue(distinct.size() > 12, "random_u32 " + distinct);
    }
  }

  // ---- 6b. <debug>, <simprint>, word moves and the operation's length -------------------------------

  @Test
  void tracesPrintsWordMovesAndTheLengthOfAnOperation() throws Exception {
    String top = "const c: color = @get_color(4);\n";
    String routes = route(0, "c", "RAMP", "EAST", "") + route(1, "c", "WEST", "RAMP", "");
    String names = "  @export_name(\"w\", [*]u32, true);\n  @export_name(\"got\", [*]u32, false);\n"
        + "  @export_name(\"go\", fn()void);\n";
    Simulator sim = build("wse2", layout(2, 1, top, ", .c = c", routes + names), """
        param c: color;
        const layout_mod = @import_module("<layout>");
        const trace = @import_module("<debug>", .{ .key = "t", .buffer_size = 4 });
        const times = @import_module("<debug>", .{ .key = "times" });
        const prt = @import_module("<simprint>");
        var w = @zeros([5]u32);
        var w_ptr: [*]u32 = &w;
        var got = @zeros([5]u32);
        const got_ptr: [*]u32 = &got;
        var n: u16 = 0;
        const oq = @get_output_queue(2);
        // extent 1, but the memory source has 5: the operation moves 5 (its first memory DSD's length)
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 1, .output_queue = oq });
        const w_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{5} -> w[i] });
        task recv(v: u32) void {
          got[n] = v;
          n += 1;
          trace.trace_u32(v);
          if (n == 5) { times.trace_timestamp(); sys_mod.unblock_cmd_stream(); }
        }
        fn go() void {
          if (layout_mod.get_x_coord() == 0) {
            trace.trace_string("send");
            prt.print_string("PE(");
            prt.print_u16_decimal(layout_mod.get_x_coord());
            prt.print_string("): sends\\n\\ttab\\\\ \\"q\\"");
            @fmovs(out, w_dsd); // an f32 move over a u32 array moves its words
            sys_mod.unblock_cmd_stream();
          }
        }
        comptime {
          @bind_data_task(recv, @get_data_task_id(c));
          @export_symbol(w_ptr, "w");
          @export_symbol(got_ptr, "got");
          @export_symbol(go);
        }
        """);
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    sim.printTo(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    int[] w = {1, 0x7fc00001, 0xffffffff, 42, 0x80000000}; // a NaN's payload and -0.0 survive a word move
    sim.h2d(sim.symbol("w").id(), w, 0, 0, 1, 1, 5, Simulator.Order.ROW_MAJOR, 32);
    go(sim);
    assertArrayEquals(w, get(sim, "got", 1, 0, 5, 32));
    assertEquals("PE(0): sends\n\ttab\\ \"q\"", printed.toString(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(List.of("send"), sim.trace(4, 1, "t")); // fabric places: the kernel starts at 4, 1
    assertEquals(List.of(1L, 0x7fc00001L, 0xffffffffL, 42L), sim.trace(5, 1, "t"), "buffer_size 4 keeps the first 4");
    List<Object> t = sim.trace(5, 1, "times");
    assertEquals(1, t.size());
    assertTrue((Long) t.get(0) >= 5, "the timestamp counts the 5 receives: " + t);
    assertEquals(List.of(), sim.trace(4, 1, "times"));
    has(fails(() -> sim.trace(3, 1, "t")), "read_trace(3, 1, 't'): no PE of the kernel is there");
    Map<String, Map<String, List<Object>>> all = sim.traces();
    assertEquals(List.of("4,1", "5,1"), List.copyOf(all.keySet()));
  }

  // ---- 7. <directions> ------------------------------------------------------------------------------

  @Test
  void flipGivesTheOppositeDirectionInALayoutAndInAPe() throws Exception {
    String top = "const dirs = @import_module(\"<directions>\");\nconst c = @get_color(6);";
    Simulator sim = build("wse2", layout(2, 1, top, ", .px = x, .c = c", route(0, "c", "RAMP", "dirs.flip(WEST)", "")
        + "  @export_name(\"got\", [*]f32, false);\n  @export_name(\"flags\", [*]u16, false);\n"
        + "  @export_name(\"go\", fn()void);\n"), """
        param px: i16; param c: color;
        const dirs = @import_module("<directions>");
        var got = @zeros([3]f32); const got_ptr: [*]f32 = &got;
        var flags = @zeros([3]u16); const flags_ptr: [*]u16 = &flags;
        const src = [3]f32 { 0.5, -1.25, 9.0 };
        const src_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{3} -> src[i] });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 3, .output_queue = @get_output_queue(2) });
        var n: i16 = 0;
        task recv(v: f32) void { got[n] = v; n += 1; if (n == 3) { sys_mod.unblock_cmd_stream(); } }
        fn go() void {
          if (dirs.flip(EAST) == WEST) { flags[0] = 1; }
          if (dirs.flip(NORTH) == SOUTH) { flags[1] = 1; }
          if (dirs.flip(WEST) == WEST) { flags[2] = 1; }
          if (px == 0) { @fmovs(out, src_dsd); sys_mod.unblock_cmd_stream(); }
        }
        comptime {
          if (px == 1) {
            @set_local_color_config(c, .{ .routes = .{ .rx = .{ dirs.flip(EAST) }, .tx = .{ RAMP } } });
          }
          @bind_data_task(recv, @get_data_task_id(c));
          @export_symbol(got_ptr, "got"); @export_symbol(flags_ptr, "flags"); @export_symbol(go);
        }
        """);
    go(sim);
    assertArrayEquals(f32(0.5f, -1.25f, 9.0f), get(sim, "got", 1, 0, 3, 32));
    assertArrayEquals(new int[] {1, 1, 0}, get(sim, "flags", 0, 0, 3, 16));
  }

  // ---- 8. colour swap, popping switches, TEARDOWN ---------------------------------------------------

  @Test
  void colourSwapFlipsTheLowBitAtEachHopOnWse2() throws Exception {
    StringBuilder routes = new StringBuilder();
    for (int x = 0; x < 3; x++) {
      for (String c : new String[] {"c0", "c1"}) {
        routes.append(route(x, c, x == 0 ? "RAMP" : "WEST", x == 0 ? "EAST" : x == 1 ? "RAMP, EAST" : "RAMP",
            ", .color_swap_x = true"));
      }
    }
    String top = "const c0 = @get_color(0);\nconst c1 = @get_color(1);";
    Simulator sim = build("wse2", layout(3, 1, top, ", .px = x, .c0 = c0, .c1 = c1", routes
        + "  @export_name(\"counts\", [*]u16, false);\n  @export_name(\"sums\", [*]f32, false);\n"
        + "  @export_name(\"go\", fn()void);\n"), """
        param px: i16; param c0: color; param c1: color;
        var counts = @zeros([2]u16); const counts_ptr: [*]u16 = &counts;
        var sums = @zeros([2]f32); const sums_ptr: [*]f32 = &sums;
        const src = [4]f32 { 1.5, 2.0, -0.25, 8.0 };
        const src_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{4} -> src[i] });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = c1, .extent = 4, .output_queue = @get_output_queue(4) });
        fn done() void { if (counts[0] + counts[1] == 4) { sys_mod.unblock_cmd_stream(); } }
        task on0(v: f32) void { counts[0] += 1; sums[0] += v; done(); }
        task on1(v: f32) void { counts[1] += 1; sums[1] += v * 2.0; done(); }
        fn go() void { if (px == 0) { @fmovs(out, src_dsd); sys_mod.unblock_cmd_stream(); } }
        comptime {
          @bind_data_task(on0, @get_data_task_id(c0));
          @bind_data_task(on1, @get_data_task_id(c1));
          @export_symbol(counts_ptr, "counts"); @export_symbol(sums_ptr, "sums"); @export_symbol(go);
        }
        """);
    go(sim);
    float sum = 0;
    float twice = 0;
    for (float v : new float[] {1.5f, 2.0f, -0.25f, 8.0f}) {
      sum += v;
      twice += v * 2.0f;
    }
    // sent on colour 1: PE 1 takes it on colour 0, PE 2 on colour 1 again
    assertArrayEquals(new int[] {0, 0}, get(sim, "counts", 0, 0, 2, 16));
    assertArrayEquals(new int[] {4, 0}, get(sim, "counts", 1, 0, 2, 16));
    assertArrayEquals(new int[] {0, 4}, get(sim, "counts", 2, 0, 2, 16));
    assertArrayEquals(f32(sum, 0), get(sim, "sums", 1, 0, 2, 32));
    assertArrayEquals(f32(0, twice), get(sim, "sums", 2, 0, 2, 32));

    String m = fails(() -> build("wse3", layout(3, 1, top, "", routes + "  @export_name(\"go\", fn()void);\n"),
        "fn go() void { sys_mod.unblock_cmd_stream(); }\ncomptime { @export_symbol(go); }\n"));
    assertEquals(src.at("layout.csl", "@set_color_config(0, 0, c0") + ": colour swap is WSE-2's (the SDK does not "
        + "support it on WSE-3)", m);
  }

  /** PE 0 sends words, then each control wavelet of {@code cmds} before the next two words, on colour c. */
  private static final String SWITCH_PE = """
      param px: i16; param c: color; param expect: i16;
      const ctrl = @import_module("<control>");
      var words = [8]u32 { 10, 11, 20, 21, 30, 31, 40, 41 };
      var cmds = @zeros([3]u32);
      var got = @zeros([8]u32); const got_ptr: [*]u32 = &got;
      var n: i16 = 0;
      const iq = @get_input_queue(2); const oq = @get_output_queue(2);
      var chunk = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{2} -> words[i] });
      var cmd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{1} -> cmds[i] });
      const out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 2, .output_queue = oq });
      const ctl_out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 1, .output_queue = oq, .control = true });
      task recv(v: u32) void { got[n] = v; n += 1; if (n == expect) { sys_mod.unblock_cmd_stream(); } }
      fn go() void {
        if (px == 0) {
          %s
          for (@range(i16, 4)) |k| {
            if (k > 0) { @mov32(ctl_out, cmd); cmd = @increment_dsd_offset(cmd, 1, u32); }
            @mov32(out, chunk);
            chunk = @increment_dsd_offset(chunk, 2, u32);
          }
          sys_mod.unblock_cmd_stream();
        }
      }
      comptime {
        @bind_data_task(recv, %s);
      """;

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void poppedCommandsMoveOnlyTheFirstSwitchTheyReach(String arch) throws Exception {
    StringBuilder routes = new StringBuilder(route(0, "c", "RAMP", "EAST", ""));
    for (int x = 1; x <= 2; x++) { // position 0 takes and forwards, position 1 only forwards
      routes.append(route(x, "c", "WEST", "RAMP, EAST", "").replace(" });\n", ",\n      .switches = .{ .pos1 = .{ "
          + ".tx = EAST }, .pop_mode = .{ .pop_on_advance = true } } });\n"));
    }
    routes.append(route(3, "c", "WEST", "RAMP", ""));
    String cmds = """
        cmds[0] = (5 << 22) | (4 << 25); // SWITCH_ADV then NOP, NO_CE on both
        cmds[1] = ctrl.encode_single_payload(ctrl.opcode.SWITCH_RST, true, {}, 0);
        cmds[2] = (5 << 22) | (5 << 25); // SWITCH_ADV twice
        """;
    Simulator sim = build(arch, layout(4, 1, "const c = @get_color(8);", ", .px = x, .c = c, .expect = "
        + "if (x == 1) 4 else if (x == 2) 6 else 8", routes + "  @export_name(\"got\", [*]u32, false);\n"
        + "  @export_name(\"go\", fn()void);\n"), SWITCH_PE.formatted(cmds, arch.equals("wse2")
        ? "@get_data_task_id(c)" : "@get_data_task_id(iq)") + queue("iq", "c") + queue("oq", "c") + """
          @export_symbol(got_ptr, "got"); @export_symbol(go);
        }
        """);
    go(sim);
    // the first ADV moves PE 1 only; RST brings PE 1 back; the double ADV moves PE 1, then PE 2
    assertArrayEquals(new int[] {10, 11, 30, 31, 0, 0, 0, 0}, get(sim, "got", 1, 0, 8, 32));
    assertArrayEquals(new int[] {10, 11, 20, 21, 30, 31, 0, 0}, get(sim, "got", 2, 0, 8, 32));
    assertArrayEquals(new int[] {10, 11, 20, 21, 30, 31, 40, 41}, get(sim, "got", 3, 0, 8, 32));

    String m = fails(() -> go(one("v:u32:1", """
        const ctrl = @import_module("<control>");
        fn go() void { v[0] = ctrl.encode_single_payload(ctrl.opcode.TEARDOWN, true, {}, 0); }
        """)));
    String line = src.at("pe.csl", "ctrl.encode_single_payload");
    assertTrue(m.startsWith(line.substring(0, line.lastIndexOf(':') + 1)), m);
    has(m, "a TEARDOWN control wavelet is not modelled yet");
  }

  // ---- 9. WSE-3 microthreads ------------------------------------------------------------------------

  /** One PE sending to itself on a loopback colour: an async receive, then an async send, {@code opts} theirs. */
  private Simulator loopback(String arch, String recvOpts, String sendOpts, String pre) throws Exception {
    return build(arch, layout(1, 1, "const loop = @get_color(7);", ", .loop = loop", """
          @set_color_config(0, 0, loop, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ RAMP } } });
          @export_name("src", [*]f32, true); @export_name("dst", [*]f32, false); @export_name("go", fn()void);
        """), """
        param loop: color;
        var src = @zeros([6]f32); var src_ptr: [*]f32 = &src;
        var dst = @zeros([6]f32); const dst_ptr: [*]f32 = &dst;
        const iq = @get_input_queue(2); const oq = @get_output_queue(2);
        const src_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{6} -> src[i] });
        const dst_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{6} -> dst[i] });
        const from_loop = @get_dsd(fabin_dsd, .{ .fabric_color = loop, .extent = 6, .input_queue = iq });
        const to_loop = @get_dsd(fabout_dsd, .{ .fabric_color = loop, .extent = 6, .output_queue = oq });
        const send_dsr = @get_dsr(dsr_dest, 2);
        const done_id = @get_local_task_id(9);
        task done() void { sys_mod.unblock_cmd_stream(); }
        fn go() void {
          %s
          @fadds(dst_dsd, src_dsd, from_loop, .{ .async = true, .activate = done_id%s });
          @fmovs(%s, src_dsd, .{ .async = true%s });
        }
        comptime {
          @bind_local_task(done, done_id);
        """.formatted(pre, recvOpts, pre.isEmpty() ? "to_loop" : "send_dsr", sendOpts) + queue("iq", "loop")
        + queue("oq", "loop") + """
          @export_symbol(src_ptr, "src"); @export_symbol(dst_ptr, "dst"); @export_symbol(go);
        }
        """);
  }

  @Test
  void utIdsLetASendAndAReceiveOnQueuesOfOneIdRunAtOnce() throws Exception {
    float[] words = {0.1f, -2.0f, 3.5f, 1e-5f, 65504f, -0.0f};
    float[] want = new float[6];
    for (int i = 0; i < 6; i++) {
      want[i] = words[i] + words[i];
    }
    String dsr = "@load_to_dsr(send_dsr, to_loop, .{ .async = true, .ut_id = @get_ut_id(%d) });";
    for (Simulator sim : new Simulator[] {
        loopback("wse3", ", .ut_id = @get_ut_id(5)", ", .ut_id = @get_ut_id(4)", ""),
        loopback("wse3", ", .ut_id = @get_ut_id(5)", "", dsr.formatted(4))}) {
      put(sim, "src", f32(words), 32);
      go(sim);
      assertArrayEquals(f32(want), get(sim, "dst", 0, 0, 6, 32));
    }
    Simulator same = loopback("wse3", ", .ut_id = @get_ut_id(4)", ", .ut_id = @get_ut_id(4)", "");
    String m = fails(() -> go(same));
    assertTrue(m.startsWith(src.at("pe.csl", "@fmovs(") + ": @fmovs .async on microthread 4 while @fadds .async at "
        + src.at("pe.csl", "@fadds(") + " (0 of 6 done) still runs on it"), m);
    has(m, "give each concurrent async operation its own .ut_id");
    Simulator viaDsr = loopback("wse3", ", .ut_id = @get_ut_id(5)", "", dsr.formatted(5)); // the DSR's microthread
    has(fails(() -> go(viaDsr)), src.at("pe.csl", "@fmovs(") + ": @fmovs .async on microthread 5 while");
    Simulator wse2 = loopback("wse2", ", .ut_id = @get_ut_id(5)", "", "");
    assertEquals(src.at("pe.csl", "@get_ut_id") + ": @get_ut_id is WSE-3's: on WSE-2 an async operation runs on its "
        + "fabric queue's microthread", fails(() -> go(wse2)));
  }

  // ---- 10. @rpc and cslc's colour params ------------------------------------------------------------

  @Test
  void rpcOfTheLaunchTaskAndAColourParamFromCslc() throws Exception {
    String pe = """
        var vals = @zeros([3]u32); var vals_ptr: [*]u32 = &vals;
        const oq = @get_output_queue(3);
        const vals_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{3} -> vals[i] });
        const out = @get_dsd(fabout_dsd, .{ .fabric_color = sys_mod.MEMCPYD2H_1, .extent = 3, .output_queue = oq });
        fn go() void { @mov32(out, vals_dsd); sys_mod.unblock_cmd_stream(); }
        comptime {
          @rpc(@get_data_task_id(sys_mod.LAUNCH));
          @export_symbol(vals_ptr, "vals"); @export_symbol(go);
        }
        """;
    String lay = layout(1, 1, ", .MEMCPYD2H_1 = c", "param c: color;", "",
        "  @export_name(\"vals\", [*]u32, true);\n  @export_name(\"go\", fn()void);\n");
    Simulator sim = build("wse2", Map.of("c", 5L), lay, pe);
    int[] vals = {7, 0xdeadbeef, -1};
    put(sim, "vals", vals, 32);
    go(sim);
    assertArrayEquals(vals, sim.d2hStream(5, 0, 0, 1, 1, 3, Simulator.Order.ROW_MAJOR));
    has(fails(() -> sim.d2hStream(4, 0, 0, 1, 1, 3, Simulator.Order.ROW_MAJOR)), "stream d2h on colours [5]");
  }

  // ---- 11. the rest: a library fn as a callback, a control task's data, run-time @range steps -------

  @ParameterizedTest
  @ValueSource(strings = {"wse2", "wse3"})
  void aLibraryFnAsACallbackAndAControlWaveletsData(String arch) throws Exception {
    src.write("fin.csl", """
        param on_done: fn()void;
        param out: [*]u32;
        fn finish() void { out[5] = out[5] + 1; on_done(); }
        """);
    Simulator sim = build(arch, layout(2, 1, "const c = @get_color(3);", ", .px = x, .c = c",
        route(0, "c", "RAMP", "EAST", "") + route(1, "c", "WEST", "RAMP", "")
        + "  @export_name(\"got\", [*]u32, false);\n  @export_name(\"go\", fn()void);\n"), """
        param px: i16; param c: color;
        const ctrl = @import_module("<control>");
        var got = @zeros([6]u32); const got_ptr: [*]u32 = &got;
        var payload = @zeros([1]u32);
        const oq = @get_output_queue(2);
        const p_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &payload, .extent = 1 });
        const third = @get_dsd(mem1d_dsd, .{ .base_address = &got, .offset = 3, .extent = 1 });
        const ctl_out = @get_dsd(fabout_dsd, .{ .fabric_color = c, .extent = 1, .output_queue = oq, .control = true });
        const ctl_id = @get_control_task_id(5);
        const fin = @import_module("fin.csl", .{ .on_done = sys_mod.unblock_cmd_stream, .out = &got });
        task on_ctl(d: u16) void { got[0] = d; fin.finish(); }
        fn go() void {
          var total: f32 = @zeros(f32);
          for (@range(i16, 1, 8, 3)) |k| { total += @as(f32, k); }
          got[1] = @as(u32, total);
          @mov32(third, 77);
          if (px == 0) {
            payload[0] = ctrl.encode_single_payload(ctrl.opcode.NOP, true, ctl_id, 1234);
            @mov32(ctl_out, p_dsd);
            fin.finish();
          }
        }
        comptime {
          @bind_control_task(on_ctl, ctl_id);
        """ + queue("oq", "c") + """
          @export_symbol(got_ptr, "got"); @export_symbol(go);
        }
        """);
    go(sim);
    // 1 + 4 + 7; the control wavelet's 16 data bits reach PE 1's control task 5, which calls the callback
    assertArrayEquals(new int[] {0, 12, 0, 77, 0, 1}, get(sim, "got", 0, 0, 6, 32));
    assertArrayEquals(new int[] {1234, 12, 0, 77, 0, 1}, get(sim, "got", 1, 0, 6, 32));
  }
}
