package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.util.Map;
import java.util.TreeMap;

/**
 * MeshGEMV as a Cerebras SDK project, rendered from meshc's {@link GemvKernel} template: PE (x, y)
 * holds x's block y and W's block (y, x), multiplies them with {@code @fmach}, and the K-tree
 * all-reduce along each column (WaferLLM's two phases and a multicast) leaves y's block x on every
 * PE of column x. Routes are the template's rules written as comptime {@code if} chains over the
 * PE's row; the PE program reads the same positions from its parameters.
 */
final class GemvCsl {
  private GemvCsl() {}

  static CslProject emit(KernelTemplate.Problem p, int width, int height, int groups, MachineSpec m) {
    CslProject.Target target = CslProject.Target.of(m);
    GemvKernel t = GemvKernel.meshGemv(p, width, height, false, groups > 0 ? groups : KTree.defaultGroups(height));
    KTree tree = CslProject.tree(t);
    int kt = (int) (t.padded().k() / height);
    int nt = (int) (t.padded().n() / width);
    int g = tree.groupSize();
    String params = String.format("W:%d,H:%d,Kt:%d,Nt:%d,g:%d", width, height, kt, nt, g);
    Map<String, String> files = new TreeMap<>();
    files.put("layout.csl", layout(t, m, target, kt, nt, g, tree));
    files.put("meshgemv.csl", program(target));
    files.put("run.py", host(p, width, height, kt, nt, target));
    files.put("commands.sh", commands(width, height, params, target, "MeshGEMV"));
    HostFiles.appliance(files, width, height, params, target, m.fabricWidth(), m.fabricHeight(), "MeshGEMV");
    files.put("README.md", readme(t, m, target, kt, nt, tree));
    files.put(CslProject.MANIFEST, CslProject.manifest("meshgemv", p, width, height, tree.groupCount(), m, params));
    return new CslProject(files);
  }

  private static String layout(GemvKernel t, MachineSpec m, CslProject.Target target, int kt, int nt, int g,
      KTree tree) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("// meshc: MeshGEMV y[1,%d] = x[1,%d] · W[%d,%d] on a %dx%d kernel, %s (Cerebras SDK %s).", p.n(), p.k(),
        p.k(), p.n(), t.width(), t.height(), target.arch, target.sdk);
    c.line("// PE (px, py) holds x[py·Kt, +Kt) and W[py·Kt, +Kt) × [px·Nt, +Nt), multiplies them (fp16, @fmach),");
    c.line("// and a K-tree all-reduce along each column leaves y[px·Nt, +Nt) on every PE of column px.");
    c.line("// Padded problem %s; %,d bytes of arrays per PE; %d colours, at most %d on one PE.", t.padded(),
        t.maxBytesPerPe(), t.colors(), t.maxColorsPerPe());
    c.line("// K-tree: %d groups of %d rows; group roots at their middle rows; the middle group's root (row %d)",
        tree.groupCount(), g, tree.globalRoot());
    c.line("// multicasts the total. Routes below are meshc's KTree rules, checked PE by PE by meshc check-csl.");
    c.blank();
    c.line("param W: i16; // kernel columns");
    c.line("param H: i16; // kernel rows: the length of each column's K-tree");
    c.line("param Kt: i16; // x values and W rows per PE");
    c.line("param Nt: i16; // W columns and y values per PE");
    c.line("param g: i16; // K-tree group size (rows)");
    c.blank();
    c.line("// The template's five logical colours as physical IDs, skipping the ones memcpy keeps (%s).",
        m.reservedColors());
    KTreeCsl.colours(c, m, 0, "c_");
    c.blank();
    c.line("const memcpy = @import_module(\"<memcpy/get_params>\", .{ .width = W, .height = H });");
    c.blank();
    KTreeCsl.helpers(c);
    c.blank();
    c.line("layout {");
    c.line("@set_rectangle(W, H);");
    c.line("var px: i16 = 0;");
    c.line("while (px < W) : (px += 1) {");
    c.line("const memcpy_params = memcpy.get_params(px);");
    c.line("var py: i16 = 0;");
    c.line("while (py < H) : (py += 1) {");
    c.line("@set_tile_code(px, py, \"meshgemv.csl\", .{");
    c.line(".memcpy_params = memcpy_params, .Kt = Kt, .Nt = Nt, .H = H, .g = g, .i = py,");
    c.line(".c_p1_0 = c_p1_0, .c_p1_1 = c_p1_1, .c_p2_0 = c_p2_0, .c_p2_1 = c_p2_1, .c_b = c_b,");
    c.line("});");
    c.line("// the K-tree along column px: index py, NORTH is py − 1");
    c.line("if (H > 1) {");
    KTreeCsl.routes(c, new KTreeCsl.Tree("c_", "", "py", "H", "g", "px, py", Dir.NORTH, Dir.SOUTH));
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
    c.kernelExports("x", "w", "y");
    c.line("}");
    return c.toString();
  }

  /** One PE's program: its blocks, the local GEMV, the two reduction phases and the broadcast. */
  private static String program(CslProject.Target target) {
    boolean wse3 = target == CslProject.Target.WSE3;
    CslText c = new CslText();
    c.line("// meshc: one PE of MeshGEMV, %s (Cerebras SDK %s). layout.csl says where each PE sits.", target.arch,
        target.sdk);
    c.line("// The K-tree all-reduce streams element by element: every relay is one synchronous");
    c.line("// @faddh(out, in, y) over fabric DSDs, so a chain is pipelined across its PEs.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    c.line("param Kt: i16;");
    c.line("param Nt: i16;");
    c.line("param H: i16; // PEs on this PE's column: the K-tree's line");
    c.line("param g: i16; // group size");
    c.line("param i: i16; // this PE's row: its index on the line");
    for (String name : KTreeCsl.NAMES) {
      c.line("param c_%s: color;", name);
    }
    c.blank();
    c.line("const sys_mod = @import_module(\"<memcpy/memcpy>\", memcpy_params);");
    c.blank();
    c.line("// x block i, W block (i, px) row-major, y block px: written and read by the host (run.py)");
    c.line("var x: [Kt]f16 = @zeros([Kt]f16);");
    c.line("var w: [Kt * Nt]f16 = @zeros([Kt * Nt]f16);");
    c.line("var y: [Nt]f16 = @zeros([Nt]f16);");
    c.kernelPointers("x", "x", "w", "w", "y", "y");
    c.blank();
    c.line("// this PE's place on the K-tree, by the rules layout.csl routes with");
    c.line("const groups: i16 = (H + g - 1) / g;");
    c.line("const q: i16 = i / g;");
    c.line("const start: i16 = q * g;");
    c.line("const end: i16 = if ((q + 1) * g < H) (q + 1) * g else H;");
    c.line("const root: i16 = start + (end - start) / 2;");
    c.line("const root_group: i16 = groups / 2;");
    c.line("const r2_end: i16 = if ((root_group + 1) * g < H) (root_group + 1) * g else H;");
    c.line("const r2: i16 = root_group * g + (r2_end - root_group * g) / 2;");
    c.blank();
    c.line("// colours by position: a chain link's colour alternates with the index of its sender");
    c.line("const p1_lo_color: color = %s; // from the PE before, toward the root", KTreeCsl.inLo("i", "c_", "p1"));
    c.line("const p1_hi_color: color = %s; // from the PE after", KTreeCsl.inHi("i", "c_", "p1"));
    c.line("const p1_out_color: color = if (i < root) (%s) else (%s);", KTreeCsl.out("i", "c_", "p1", true),
        KTreeCsl.out("i", "c_", "p1", false));
    c.line("const p2_lo_color: color = %s;", KTreeCsl.inLo("q", "c_", "p2"));
    c.line("const p2_hi_color: color = %s;", KTreeCsl.inHi("q", "c_", "p2"));
    c.line("const p2_out_color: color = if (q < root_group) (%s) else (%s);", KTreeCsl.out("q", "c_", "p2", true),
        KTreeCsl.out("q", "c_", "p2", false));
    c.blank();
    c.line("// queues: memcpy keeps 0 and 1");
    String[][] in = {{"p1_in_lo_q", "2"}, {"p1_in_hi_q", "3"}, {"p2_in_lo_q", "4"}, {"p2_in_hi_q", "5"},
        {"b_in_q", "6"}};
    String[][] out = {{"p1_out_q", "2"}, {"p2_out_q", "3"}, {"b_out_q", "4"}};
    for (String[] q : in) {
      c.line("const %s = @get_input_queue(%s);", q[0], q[1]);
    }
    for (String[] q : out) {
      c.line("const %s = @get_output_queue(%s);", q[0], q[1]);
    }
    c.blank();
    c.line("const y_dsd = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Nt} -> y[k] });");
    c.line("const w_row0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Nt} -> w[k] });");
    fabric(c, "p1_in_lo", "fabin_dsd", "p1_lo_color", ".input_queue = p1_in_lo_q");
    fabric(c, "p1_in_hi", "fabin_dsd", "p1_hi_color", ".input_queue = p1_in_hi_q");
    fabric(c, "p1_send", "fabout_dsd", "p1_out_color", ".output_queue = p1_out_q");
    fabric(c, "p2_in_lo", "fabin_dsd", "p2_lo_color", ".input_queue = p2_in_lo_q");
    fabric(c, "p2_in_hi", "fabin_dsd", "p2_hi_color", ".input_queue = p2_in_hi_q");
    fabric(c, "p2_send", "fabout_dsd", "p2_out_color", ".output_queue = p2_out_q");
    fabric(c, "b_recv", "fabin_dsd", "c_b", ".input_queue = b_in_q");
    fabric(c, "b_send", "fabout_dsd", "c_b", ".output_queue = b_out_q");
    c.blank();
    c.line("// y = x · W over this PE's blocks: y += x[k] · W[k, :] row by row (fp16, as WSE's @fmach)");
    c.line("fn gemv() void {");
    c.line("@fmovh(y_dsd, 0.0);");
    c.line("var row = w_row0;");
    c.line("var k: i16 = 0;");
    c.line("while (k < Kt) : (k += 1) {");
    c.line("@fmach(y_dsd, y_dsd, row, x[k]);");
    c.line("row = @increment_dsd_offset(row, Nt, f16);");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// phase 1: chains from both ends of the group meet at its root");
    c.line("fn phase1() void {");
    c.line("if (i < root) {");
    c.line("if (i == start) { @fmovh(p1_send, y_dsd); } else { @faddh(p1_send, p1_in_lo, y_dsd); }");
    c.line("} else if (i > root) {");
    c.line("if (i == end - 1) { @fmovh(p1_send, y_dsd); } else { @faddh(p1_send, p1_in_hi, y_dsd); }");
    c.line("} else {");
    c.line("if (i > start) { @faddh(y_dsd, y_dsd, p1_in_lo); }");
    c.line("if (i < end - 1) { @faddh(y_dsd, y_dsd, p1_in_hi); }");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// phase 2: group roots chain toward the middle group's root (g hops per link)");
    c.line("fn phase2() void {");
    c.line("if (i != root) { return; }");
    c.line("if (q < root_group) {");
    c.line("if (q == 0) { @fmovh(p2_send, y_dsd); } else { @faddh(p2_send, p2_in_lo, y_dsd); }");
    c.line("} else if (q > root_group) {");
    c.line("if (q == groups - 1) { @fmovh(p2_send, y_dsd); } else { @faddh(p2_send, p2_in_hi, y_dsd); }");
    c.line("} else {");
    c.line("if (q > 0) { @faddh(y_dsd, y_dsd, p2_in_lo); }");
    c.line("if (q < groups - 1) { @faddh(y_dsd, y_dsd, p2_in_hi); }");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// the global root multicasts the total up and down the column (one send; the routers copy it)");
    c.line("fn broadcast() void {");
    c.line("if (i == r2) {");
    c.line("if (H > 1) { @fmovh(b_send, y_dsd); }");
    c.line("} else {");
    c.line("@fmovh(y_dsd, b_recv);");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// the host launches this on every PE (run.py); memcpy waits for unblock_cmd_stream");
    c.line("fn compute() void {");
    c.line("gemv();");
    c.line("phase1();");
    c.line("phase2();");
    c.line("broadcast();");
    c.line("sys_mod.unblock_cmd_stream();");
    c.line("}");
    c.blank();
    c.line("comptime {");
    c.kernelSymbols("x", "w", "y");
    if (wse3) {
      c.line("// SDK 1.4 (WSE-3): every queue a fabric DSD uses is bound to its colour first");
      queue(c, "i > start and i <= root", "p1_in_lo_q", "p1_lo_color");
      queue(c, "i < end - 1 and i >= root", "p1_in_hi_q", "p1_hi_color");
      queue(c, "i != root", "p1_out_q", "p1_out_color");
      queue(c, "i == root and q > 0 and q <= root_group", "p2_in_lo_q", "p2_lo_color");
      queue(c, "i == root and q < groups - 1 and q >= root_group", "p2_in_hi_q", "p2_hi_color");
      queue(c, "i == root and q != root_group", "p2_out_q", "p2_out_color");
      queue(c, "i != r2", "b_in_q", "c_b");
      queue(c, "i == r2 and H > 1", "b_out_q", "c_b");
    }
    c.line("}");
    return c.toString();
  }

  private static void fabric(CslText c, String name, String kind, String color, String queue) {
    c.line("const %s = @get_dsd(%s, .{ .fabric_color = %s, .extent = Nt, %s });", name, kind, color, queue);
  }

  private static void queue(CslText c, String when, String queue, String color) {
    c.line("if (%s) { @initialize_queue(%s, .{ .color = %s }); }", when, queue, color);
  }

  /** The SDK host script: random fp16 x and W tiled as the template's TileMaps say, y checked against NumPy. */
  private static String host(KernelTemplate.Problem p, int width, int height, int kt, int nt,
      CslProject.Target target) {
    CslText c = new CslText();
    c.line("#!/usr/bin/env cs_python");
    c.line("# meshc: runs this MeshGEMV project (%s, Cerebras SDK %s) and checks y against NumPy.", target.arch,
        target.sdk);
    c.line("# The tiling is the template's: PE (px, py) gets x[py*Kt:+Kt] and W[py*Kt:+Kt, px*Nt:+Nt]; every PE");
    c.line("# of column px ends with y[px*Nt:+Nt].");
    imports(c);
    c.blank();
    c.line("W, H, KT, NT = %d, %d, %d, %d", width, height, kt, nt);
    c.line("K, N = %d, %d", p.k(), p.n());
    c.blank();
    c.blank();
    hostArgs(c);
    c.line("rng = np.random.default_rng(args.seed)");
    c.line("x = rng.standard_normal(K).astype(np.float16)");
    c.line("w = rng.standard_normal((K, N)).astype(np.float16)");
    c.line("xp = np.zeros(H * KT, np.float16)");
    c.line("xp[:K] = x");
    c.line("wp = np.zeros((H * KT, W * NT), np.float16)");
    c.line("wp[:K, :N] = w");
    c.line("# one (H, W, elements) array per symbol, ROW_MAJOR: the first axis is the PE row");
    c.line("x_tiles = np.broadcast_to(xp.reshape(H, 1, KT), (H, W, KT))");
    c.line("w_tiles = wp.reshape(H, KT, W, NT).transpose(0, 2, 1, 3)");
    c.blank();
    c.blank();
    c.line("y_words = np.zeros(H * W * NT, np.uint32)");
    c.line("with runtime(args.artifact or args.name, args.cmaddr) as runner:");
    c.line("  for sym, tiles, n in ((\"x\", x_tiles, KT), (\"w\", w_tiles, KT * NT)):");
    c.line("    runner.memcpy_h2d(runner.get_id(sym), u32(tiles), 0, 0, W, H, n, streaming=False,");
    c.line("                      data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)");
    c.line("  runner.launch(\"compute\", nonblock=False)");
    c.line("  runner.memcpy_d2h(y_words, runner.get_id(\"y\"), 0, 0, W, H, NT, streaming=False,");
    c.line("                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)");
    c.blank();
    c.line("y_tiles = y_words.astype(np.uint16).view(np.float16).reshape(H, W * NT)");
    c.line("expected = x.astype(np.float32) @ w.astype(np.float32)");
    c.line("# fp16 accumulation (@fmach): about sqrt(K) roundings of 2^-11 relative");
    c.line("tol = 2.0 ** -10 * np.sqrt(K) * np.abs(x).max() * np.abs(w).max()");
    c.line("for row in range(H):  # every row of PEs holds all of y");
    c.line("  np.testing.assert_allclose(y_tiles[row, :N].astype(np.float32), expected, rtol=1e-2, atol=tol)");
    c.line("print(\"MeshGEMV %dx%d: y matches NumPy on every PE row\" % (W, H))");
    return c.toString();
  }

  /** A kernel host script's imports (the SDK runtime's come with {@link HostFiles#runtime}, by the path taken). */
  static void imports(CslText c) {
    c.line("import argparse");
    c.line("import contextlib");
    c.line("import json");
    c.blank();
    c.line("import numpy as np");
  }

  /** The host scripts' shared part: the u32 packing helper, the command line and the runtime. */
  static void hostArgs(CslText c) {
    c.line("def u32(a):");
    c.line("  \"\"\"16-bit values travel one per 32-bit word.\"\"\"");
    c.line("  return np.ascontiguousarray(a, np.float16).view(np.uint16).astype(np.uint32).ravel()");
    c.blank();
    c.blank();
    c.line("parser = argparse.ArgumentParser(description=__doc__)");
    c.line("parser.add_argument(\"--name\", default=\"out\", help=\"the cslc output folder\")");
    c.line("parser.add_argument(\"--cmaddr\", help=\"IP:port of a CS system; the simulator when absent\")");
    c.line("parser.add_argument(\"--artifact\", help=\"the JSON compile_appliance.py wrote: run through the appliance\")");
    c.line("parser.add_argument(\"--simulator\", action=\"store_true\", help=\"with --artifact: the appliance's "
        + "simulator\")");
    c.line("parser.add_argument(\"--seed\", type=int, default=1)");
    c.line("args = parser.parse_args()");
    c.blank();
    HostFiles.runtime(c);
    c.blank();
  }

  /** commands.sh: the exact cslc invocation for a width × height kernel, then the host script. */
  static String commands(int width, int height, String params, CslProject.Target target, String what) {
    CslText c = new CslText();
    c.line("#!/bin/sh");
    c.line("# meshc: build this %s project with cslc and run it on the simulator (Cerebras SDK %s).", what,
        target.sdk);
    c.line("# memcpy needs 3 columns west and 2 east of the kernel plus a one-PE border: fabric (W+7)x(H+2).");
    c.line("set -e");
    c.line(cslc(width, height, params, target, "out"));
    c.line("cs_python run.py --name out");
    return c.toString();
  }

  /** The cslc command for a width × height kernel at memcpy's offsets, into {@code out}. */
  static String cslc(int width, int height, String params, CslProject.Target target, String out) {
    return "cslc layout.csl " + cslcFlags(width + 7, height + 2, params, target) + " -o " + out;
  }

  /** cslc's flags for a fabric of the given size, memcpy's offsets and channel, and the params. */
  static String cslcFlags(int fabricWidth, int fabricHeight, String params, CslProject.Target target) {
    return String.format(java.util.Locale.ROOT, "%s--fabric-dims=%d,%d --fabric-offsets=4,1 %s--memcpy --channels=1",
        target == CslProject.Target.WSE3 ? "--arch=wse3 " : "", fabricWidth, fabricHeight,
        params.isEmpty() ? "" : "--params=" + params + " ");
  }

  private static String readme(GemvKernel t, MachineSpec m, CslProject.Target target, int kt, int nt, KTree tree) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("# MeshGEMV %s on a %dx%d kernel (%s, Cerebras SDK %s)", p, t.width(), t.height(), target.arch, target.sdk);
    c.blank();
    c.line("Written by meshc from its MeshGEMV kernel template: the same rules the planner costs and the");
    c.line("Java mesh runtime runs. y[1,%d] = x[1,%d] · W[%d,%d] in fp16 (WSE's `@fmach`).", p.n(), p.k(), p.k(),
        p.n());
    c.blank();
    c.line("| file | what |");
    c.line("|---|---|");
    c.line("| `layout.csl` | params, the five K-tree colours, the kernel rectangle, each PE's code and routes |");
    c.line("| `meshgemv.csl` | one PE: its blocks of x and W, the local GEMV, the two-phase reduction, the broadcast |");
    c.line("| `run.py` | the host: random x and W, tiled onto the PEs, `compute` launched, y checked against NumPy |");
    c.line("| `commands.sh` | the exact `cslc` and `cs_python` commands |");
    c.line("| `compile_appliance.py`, `appliance.sh` | the appliance path: `SdkCompiler` for the system's whole fabric, then "
        + "`run.py --artifact` through the appliance's `SdkRuntime` |");
    c.line("| `%s` | what `meshc check-csl` rebuilds the template from |", CslProject.MANIFEST);
    c.blank();
    c.line("Plan: tiles Kt = %d, Nt = %d (padded problem %s); %,d bytes of arrays per PE of %,d; K-tree of %d "
        + "groups of %d rows, global root row %d; %d colours, at most %d on one PE, IDs %s.", kt, nt, t.padded(),
        t.maxBytesPerPe(), m.bytesPerPe(), tree.groupCount(), tree.groupSize(), tree.globalRoot(), t.colors(),
        t.maxColorsPerPe(), colourIds(m, t.colors()));
    c.blank();
    runSection(c);
    return c.toString();
  }

  /** The README's "Run it" section, the same for every project. */
  static void runSection(CslText c) {
    c.line("## Run it");
    c.blank();
    c.line("On the simulator (the SDK's `cslc` and `cs_python` on the PATH): `sh commands.sh`.");
    c.line("On a system through the appliance (the SDK's client package, `cerebras.sdk.client`): `sh appliance.sh`");
    c.line("compiles with `SdkCompiler` for the system's whole fabric (`compile_appliance.py`) and runs `run.py");
    c.line("--artifact out_appliance/artifact-0.json` with `SdkRuntime(artifact, simulator=False)`; `sh appliance.sh");
    c.line("--simulator` does the same on the appliance's simulator. A system reached directly: build as in");
    c.line("`commands.sh` with the system's fabric dimensions, then `cs_python run.py --name out --cmaddr IP:PORT`.");
    c.blank();
    c.line("Check it without the SDK: `meshc check-csl .` parses every file, evaluates the layout, rebuilds every");
    c.line("PE's routes and holds them to the template, the colour budget and the PE's memory.");
  }

  private static String colourIds(MachineSpec m, int n) {
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < n; k++) {
      b.append(k == 0 ? "" : ", ").append(m.physicalColor(k));
    }
    return b.toString();
  }
}
