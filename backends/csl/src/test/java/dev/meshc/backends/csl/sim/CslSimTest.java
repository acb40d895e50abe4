package dev.meshc.backends.csl.sim;

import static dev.meshc.backends.csl.sim.SimSources.f16;
import static dev.meshc.backends.csl.sim.SimSources.f32;
import static dev.meshc.backends.csl.sim.SimSources.fails;
import static dev.meshc.backends.csl.sim.SimSources.floats;
import static dev.meshc.backends.csl.sim.SimSources.has;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulator's features, each on a small CSL program written for it; expected values are
 * computed here in plain Java with the element types' rounding (f32 as float, f16 through Fp16).
 */
class CslSimTest {
  @TempDir
  Path dir;

  /** A w×h layout giving every PE pe.csl with memcpy params and {@code extra}, exporting {@code exports}. */
  private Simulator build(int w, int h, String extra, String exports, String pe) throws Exception {
    Files.writeString(dir.resolve("layout.csl"), """
        const memcpy = @import_module("<memcpy/get_params>", .{ .width = %d, .height = %d });
        layout {
          @set_rectangle(%d, %d);
          for (@range(i16, %d)) |x| {
            for (@range(i16, %d)) |y| {
              @set_tile_code(x, y, "pe.csl", .{ .memcpy_params = memcpy.get_params(x)%s });
            }
          }
          %s
        }
        """.formatted(w, h, w, h, w, h, extra, exports));
    Files.writeString(dir.resolve("pe.csl"), """
        param memcpy_params: comptime_struct;
        const sys_mod = @import_module("<memcpy/memcpy>", memcpy_params);
        """ + pe);
    return Simulator.build(new Simulator.Config(dir.resolve("layout.csl"), "wse2", Map.of(), new int[] {w + 7, h + 2},
        new int[] {4, 1}, true, 1));
  }

  @Test
  void scalarsLoopsAndPointersRoundAsTheirTypes() throws Exception {
    Simulator sim = build(1, 1, "", """
        @export_name("out", [*]f32, false);
        @export_name("ints", [*]i16, false);
        @export_name("go", fn()void);
        """, """
        var out = @zeros([3]f32);
        var ints = @zeros([2]i16);
        const out_ptr: [*]f32 = &out;
        const ints_ptr: [*]i16 = &ints;
        fn bump(p: *f32, by: f32) void { p.* += by; }
        fn go() void {
          var acc: f32 = 0.0;
          for (@range(i16, 10)) |k| { acc += 0.1; }
          out[0] = acc;
          var third: f32 = 1.0;
          bump(&third, 2.0);
          out[1] = third / 3.0;
          var h: f16 = 0.0;
          var i: i16 = 0;
          while (i < 3) : (i += 1) { h += @as(f16, 0.1); }
          out[2] = @as(f32, h);
          var big: i16 = 32767;
          big += 1;
          ints[0] = big;
          ints[1] = @as(i16, -7.9);
          sys_mod.unblock_cmd_stream();
        }
        comptime {
          @export_symbol(out_ptr, "out");
          @export_symbol(ints_ptr, "ints");
          @export_symbol(go);
        }
        """);
    sim.launch("go", List.of());
    float acc = 0;
    for (int k = 0; k < 10; k++) {
      acc += 0.1f;
    }
    float h = 0;
    for (int k = 0; k < 3; k++) {
      h = Fp16.round(h + Fp16.round(0.1f));
    }
    float[] out = floats(sim.d2h(sim.symbol("out").id(), 0, 0, 1, 1, 3, Simulator.Order.ROW_MAJOR, 32));
    assertArrayEquals(new float[] {acc, 3.0f / 3.0f, h}, out);
    int[] ints = sim.d2h(sim.symbol("ints").id(), 0, 0, 1, 1, 2, Simulator.Order.ROW_MAJOR, 16);
    assertArrayEquals(new int[] {0x8000, (-7) & 0xffff}, ints); // i16 wraps; @as truncates toward zero
    assertTrue(sim.pe(0, 0).cycles() > 10);
  }

  @Test
  void dsdOpsWalkTensorAccessesAndOffsets() throws Exception {
    // z = columns of a 3x4 row-major M summed with weights w, then + c; f16 halves moved and added
    Simulator sim = build(1, 1, "", """
        @export_name("m", [*]f32, true);
        @export_name("z", [*]f32, false);
        @export_name("hz", [*]f16, false);
        @export_name("go", fn()void);
        """, """
        var m: [12]f32;
        var z = @zeros([3]f32);
        var c = @constants([3]f32, 0.5);
        var hz = @zeros([4]f16);
        const wts = [4]f32 { 1.0, -2.0, 0.25, 3.0 };
        var col = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{3} -> m[i*4] });
        const z_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &z, .extent = 3 });
        const c_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &c, .extent = 3 });
        const hz_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &hz, .extent = 4 });
        var m_ptr: [*]f32 = &m;
        const z_ptr: [*]f32 = &z;
        const hz_ptr: [*]f16 = &hz;
        fn go() void {
          for (@range(i16, 4)) |j| {
            @fmacs(z_dsd, z_dsd, col, wts[j]);
            col = @increment_dsd_offset(col, 1, f32);
          }
          @fadds(z_dsd, z_dsd, c_dsd);
          @fmovh(hz_dsd, 0.1);
          @faddh(hz_dsd, hz_dsd, hz_dsd);
          sys_mod.unblock_cmd_stream();
        }
        comptime {
          @export_symbol(m_ptr, "m");
          @export_symbol(z_ptr, "z");
          @export_symbol(hz_ptr, "hz");
          @export_symbol(go);
        }
        """);
    float[] m = new float[12];
    for (int i = 0; i < 12; i++) {
      m[i] = 0.3f * i - 1;
    }
    sim.h2d(sim.symbol("m").id(), f32(m), 0, 0, 1, 1, 12, Simulator.Order.ROW_MAJOR, 32);
    long before = sim.pe(0, 0).cycles();
    sim.launch("go", List.of());
    float[] wts = {1.0f, -2.0f, 0.25f, 3.0f};
    float[] z = new float[3];
    for (int j = 0; j < 4; j++) {
      for (int i = 0; i < 3; i++) {
        z[i] = z[i] + m[i * 4 + j] * wts[j];
      }
    }
    for (int i = 0; i < 3; i++) {
      z[i] += 0.5f;
    }
    assertArrayEquals(z, floats(sim.d2h(sim.symbol("z").id(), 0, 0, 1, 1, 3, Simulator.Order.ROW_MAJOR, 32)));
    int half = Fp16.fromFloat(Fp16.round(Fp16.round(0.1f) * 2)) & 0xffff;
    assertArrayEquals(new int[] {half, half, half, half},
        sim.d2h(sim.symbol("hz").id(), 0, 0, 1, 1, 4, Simulator.Order.ROW_MAJOR, 16));
    // 4 fmacs + 1 fadds of 3 elements, 2 f16 ops of 4: at least their lengths in cycles
    assertTrue(sim.pe(0, 0).cycles() - before >= 4 * 3 + 3 + 2 * 4);
  }

  @Test
  void memcpyOrdersOverARectangleAndParamsPerPe() throws Exception {
    Simulator sim = build(3, 2, ", .k = x * 10 + y", """
        @export_name("a", [*]u16, true);
        @export_name("go", fn()void);
        """, """
        param k: i16;
        var a = @zeros([2]u16);
        var a_ptr: [*]u16 = &a;
        fn go() void {
          a[1] = a[0] + @as(u16, k);
          sys_mod.unblock_cmd_stream();
        }
        comptime { @export_symbol(a_ptr, "a"); @export_symbol(go); }
        """);
    int w = 3;
    int h = 2;
    int n = 2;
    int[] host = new int[w * h * n];
    for (int i = 0; i < host.length; i++) {
      host[i] = 100 + i;
    }
    // COL_MAJOR: element e of PE (px, py) is host[py + px*h + e*h*w]
    sim.h2d(sim.symbol("a").id(), host, 0, 0, w, h, n, Simulator.Order.COL_MAJOR, 16);
    sim.launch("go", List.of());
    int[] back = sim.d2h(sim.symbol("a").id(), 0, 0, w, h, n, Simulator.Order.ROW_MAJOR, 16);
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        int a0 = host[py + px * h];
        assertEquals(a0, back[(py * w + px) * n], "PE (" + px + ", " + py + ")");
        assertEquals(a0 + px * 10 + py, back[(py * w + px) * n + 1], "PE (" + px + ", " + py + ")");
      }
    }
  }

  private String fails(String exports, String pe) {
    return assertThrows(MeshcException.class, () -> {
      Simulator sim = build(1, 1, "", exports, pe);
      sim.h2d(sim.symbol("x").id(), new int[4], 0, 0, 1, 1, 4, Simulator.Order.ROW_MAJOR, 32);
      sim.launch("go", List.of());
    }).getMessage();
  }

  @Test
  void refusalsAndSdkRulesAreOneLineAtTheirPlace() {
    String go = "fn go() void { sys_mod.unblock_cmd_stream(); }\n";
    String exp = "@export_name(\"x\", [*]f32, true); @export_name(\"go\", fn()void);";
    String x = "var x: [4]f32;\nvar x_ptr: [*]f32 = &x;\n";
    String both = "comptime { @export_symbol(x_ptr, \"x\"); @export_symbol(go); }\n";
    String m = fails(exp, x + "fn go() void { @set_teardown_handler(go); sys_mod.unblock_cmd_stream(); }\n" + both);
    assertTrue(m.endsWith("pe.csl:5:16: @set_teardown_handler is not modelled yet"), m);
    m = fails(exp, x.replace("var x_ptr", "const x_ptr") + go + both);
    assertTrue(m.contains("pe.csl:6:") && m.contains("declared const") && m.contains("mutability true"), m);
    m = fails(exp, x + "fn go() void { }\n" + both);
    assertTrue(m.contains("launch('go') waits forever") && m.contains("PE (0, 0) has not called sys_mod.unblock_cmd_stream()"),
        m);
    m = fails(exp.replace("true", "false"), x.replace("var x_ptr", "const x_ptr") + go + both);
    assertTrue(m.contains("memcpy_h2d into 'x'") && m.contains("read-only"), m);
    m = fails(exp, "const t = @import_module(\"<collectives_2d/pe>\");\n" + x + go + both);
    assertTrue(m.contains("pe.csl:3:11: <collectives_2d/pe> is not modelled yet"), m);
    m = fails(exp, x + "fn go() void { x[4] = 1.0; sys_mod.unblock_cmd_stream(); }\n" + both);
    assertTrue(m.contains("pe.csl:5:17") && m.contains("element 4 of 'x' is outside its 4"), m);
    m = fails(exp.replace("[*]f32", "[*]f16"), x + go + both);
    assertTrue(m.contains("'x' points at f32, but the layout exports it as [*]f16"), m);
  }
}
