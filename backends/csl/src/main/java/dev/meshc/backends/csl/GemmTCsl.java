package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.DistGemmT;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * dist-GEMM-T as a Cerebras SDK project, rendered from meshc's {@link DistGemmT} template: C[M,N] =
 * A[M,K] · B[N,K]ᵀ with no transpose (prefill's q·kᵀ), PE (x, y) keeping C block (y, x). A and B
 * lie the same way (rows along Y, K along X). P steps: B's row blocks rotate along the Y ring
 * (asynchronously, as in MeshGEMM) while every PE forms the partial A(y, x)·B(nb, x)ᵀ of the block
 * it holds and row y sums the partials into the block's owner x = nb by relay chains from both
 * ends (synchronous fabric adds, pipelined across the row). The chains' colours alternate by
 * parity in each direction, so one static configuration serves every owner.
 */
final class GemmTCsl {
  private GemmTCsl() {}

  static CslProject emit(KernelTemplate.Problem p, int grid, MachineSpec m) {
    CslProject.Target target = CslProject.Target.of(m);
    DistGemmT t = new DistGemmT(p, grid, false);
    int mt = (int) (t.padded().m() / grid);
    int kt = (int) (t.padded().k() / grid);
    int nt = (int) (t.padded().n() / grid);
    String params = String.format("P:%d,Mt:%d,Kt:%d,Nt:%d", grid, mt, kt, nt);
    Map<String, String> files = new TreeMap<>();
    files.put("layout.csl", layout(t, m, target));
    files.put("gemmt.csl", program(target));
    files.put("run.py", host(p, grid, mt, kt, nt, target));
    files.put("commands.sh", GemvCsl.commands(grid, grid, params, target, "dist-GEMM-T"));
    HostFiles.appliance(files, grid, grid, params, target, m.fabricWidth(), m.fabricHeight(), "dist-GEMM-T");
    files.put("README.md", readme(t, m, target, mt, kt, nt));
    files.put(CslProject.MANIFEST, CslProject.manifest(t.algorithm(), p, grid, grid, 0, m, params));
    return new CslProject(files);
  }

  private static String layout(DistGemmT t, MachineSpec m, CslProject.Target target) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("// meshc: dist-GEMM-T C[%d,%d] = A[%d,%d] · B[%d,%d]ᵀ on a %dx%d kernel, %s (Cerebras SDK %s).", p.m(),
        p.n(), p.m(), p.k(), p.n(), p.k(), t.width(), t.height(), target.arch, target.sdk);
    c.line("// PE (px, py) holds A block (py, px) and B block (py, px) (rows along Y, K along X) and keeps C");
    c.line("// block (py, px). B's blocks rotate along each column's ring; row py sums each step's partials into");
    c.line("// their owner by relay chains. Padded problem %s; %,d bytes of arrays per PE; %d colours, at most",
        t.padded(), t.maxBytesPerPe(), t.colors());
    c.line("// %d on one PE. Routes below are meshc's Ring and Chains rules, checked PE by PE by meshc check-csl.",
        t.maxColorsPerPe());
    c.blank();
    c.line("param P: i16; // kernel side");
    c.line("param Mt: i16; // tile rows of A and C");
    c.line("param Kt: i16; // tile columns of A and B");
    c.line("param Nt: i16; // tile rows of B, columns of C");
    c.blank();
    c.line("// The template's seven logical colours as physical IDs, skipping the ones memcpy keeps (%s):",
        m.reservedColors());
    c.line("// three for B's ring, picked by flow (see ring_color); four for the row chains: toward EAST by the");
    c.line("// sender's parity (0, 1), toward WEST by the sender's parity (2, 3).");
    c.line("const y_colors = [3]color{ @get_color(%d), @get_color(%d), @get_color(%d) }; // B, forward along Y",
        m.physicalColor(0), m.physicalColor(1), m.physicalColor(2));
    c.line("const ch_colors = [4]color{ @get_color(%d), @get_color(%d), @get_color(%d), @get_color(%d) };",
        m.physicalColor(3), m.physicalColor(4), m.physicalColor(5), m.physicalColor(6));
    c.blank();
    c.line("const memcpy = @import_module(\"<memcpy/get_params>\", .{ .width = P, .height = P });");
    c.blank();
    RingCsl.helpers(c, "P");
    c.blank();
    c.line("layout {");
    c.line("@set_rectangle(P, P);");
    c.line("var px: i16 = 0;");
    c.line("while (px < P) : (px += 1) {");
    c.line("const memcpy_params = memcpy.get_params(px);");
    c.line("var py: i16 = 0;");
    c.line("while (py < P) : (py += 1) {");
    c.line("@set_tile_code(px, py, \"gemmt.csl\", .{");
    c.line(".memcpy_params = memcpy_params, .P = P, .Mt = Mt, .Kt = Kt, .Nt = Nt, .px = px, .pos = ring_pos(py),");
    c.line(".y_send = y_colors[ring_color(py)], .y_recv = y_colors[ring_color(ring_prev(py))],");
    c.line(".east_in = ch_colors[(px + 1) % 2], .east_out = ch_colors[px % 2],");
    c.line(".west_in = ch_colors[2 + (px + 1) % 2], .west_out = ch_colors[2 + px % 2],");
    c.line("});");
    c.line("if (P > 1) {");
    c.line("// B's ring along column px, forward");
    RingCsl.routes(c, "py", "P", "y_colors", Dir.NORTH, Dir.SOUTH, true, "y");
    c.line("// the row's chains: partials flowing EAST take the sender's parity, those flowing WEST 2 + it");
    c.line("if (px > 0) {");
    c.route("px, py", "ch_colors[(px + 1) % 2]", Dir.WEST, Dir.RAMP);
    c.route("px, py", "ch_colors[2 + px % 2]", Dir.RAMP, Dir.WEST);
    c.line("}");
    c.line("if (px < P - 1) {");
    c.route("px, py", "ch_colors[px % 2]", Dir.RAMP, Dir.EAST);
    c.route("px, py", "ch_colors[2 + (px + 1) % 2]", Dir.EAST, Dir.RAMP);
    c.line("}");
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
    c.kernelExports("a", "b", "c");
    c.line("}");
    return c.toString();
  }

  /** One PE: its tiles, the partial product, the row chains, and B's asynchronous rotation. */
  private static String program(CslProject.Target target) {
    boolean wse3 = target == CslProject.Target.WSE3;
    CslText c = new CslText();
    c.line("// meshc: one PE of dist-GEMM-T, %s (Cerebras SDK %s). layout.csl says where each PE sits.", target.arch,
        target.sdk);
    c.line("// B moves asynchronously (microthreads) while the PE forms its partial and relays the row's chain;");
    c.line("// each completion activates a task, and a step moves on once B has gone and come and the chain is done.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    c.line("param P: i16;");
    c.line("param Mt: i16;");
    c.line("param Kt: i16;");
    c.line("param Nt: i16;");
    c.line("param px: i16; // this PE's column: its place on the row's chains");
    c.line("param pos: i16; // this PE's row's place on the column's ring");
    c.line("param y_send: color;");
    c.line("param y_recv: color;");
    c.line("param east_in: color; // a partial from the west, flowing east");
    c.line("param east_out: color;");
    c.line("param west_in: color; // a partial from the east, flowing west");
    c.line("param west_out: color;");
    c.blank();
    c.line("const sys_mod = @import_module(\"<memcpy/memcpy>\", memcpy_params);");
    c.blank();
    c.line("// A block (py, px) row-major; B block (py, px) k-major (column k of B is Nt contiguous words, so no DSD");
    c.line("// stride grows with Kt: a stride is an i8), twice (what is sent, what arrives); the partial;");
    c.line("// C block (py, px): written and read by the host (run.py)");
    c.line("var a: [Mt * Kt]f16 = @zeros([Mt * Kt]f16);");
    c.line("var b0: [Nt * Kt]f16 = @zeros([Nt * Kt]f16);");
    c.line("var b1: [Nt * Kt]f16 = @zeros([Nt * Kt]f16);");
    c.line("var t: [Mt * Nt]f16 = @zeros([Mt * Nt]f16);");
    c.line("var c: [Mt * Nt]f16 = @zeros([Mt * Nt]f16);");
    c.kernelPointers("a", "a", "b", "b0", "c", "c");
    c.line("var b_cur: [*]f16 = &b0;");
    c.line("var b_nxt: [*]f16 = &b1;");
    c.blank();
    c.line("const b_sent_id: local_task_id = @get_local_task_id(12);");
    c.line("const b_recv_id: local_task_id = @get_local_task_id(13);");
    c.blank();
    c.queues(List.of("y_out_q", "east_out_q", "west_out_q"), List.of("y_in_q", "east_in_q", "west_in_q"));
    c.blank();
    c.line("const b_out = @get_dsd(fabout_dsd, .{ .fabric_color = y_send, .extent = Nt * Kt, .output_queue = y_out_q });");
    c.line("const b_in = @get_dsd(fabin_dsd, .{ .fabric_color = y_recv, .extent = Nt * Kt, .input_queue = y_in_q });");
    c.line("const to_east = @get_dsd(fabout_dsd, .{ .fabric_color = east_out, .extent = Mt * Nt, .output_queue = "
        + "east_out_q });");
    c.line("const from_west = @get_dsd(fabin_dsd, .{ .fabric_color = east_in, .extent = Mt * Nt, .input_queue = "
        + "east_in_q });");
    c.line("const to_west = @get_dsd(fabout_dsd, .{ .fabric_color = west_out, .extent = Mt * Nt, .output_queue = "
        + "west_out_q });");
    c.line("const from_east = @get_dsd(fabin_dsd, .{ .fabric_color = west_in, .extent = Mt * Nt, .input_queue = "
        + "west_in_q });");
    c.line("var b_mem = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Nt * Kt} -> b0[k] });");
    c.line("const b_col0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |j|{Nt} -> b0[j] }); // column 0 of B, k-major");
    c.line("const t_all = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Mt * Nt} -> t[k] });");
    c.line("const c_all = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Mt * Nt} -> c[k] });");
    c.line("const t_row0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |j|{Nt} -> t[j] });");
    c.line("const c_row0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |j|{Nt} -> c[j] });");
    c.blank();
    c.line("var step: i16 = 0;");
    c.line("var b_sent: bool = false;");
    c.line("var b_recv: bool = false;");
    c.line("var reduced: bool = false;");
    c.blank();
    c.line("// the ring's PE at place k, and the owner (column) of the C block this row finishes at step s");
    c.line("fn ring_at(k: i16) i16 {");
    c.line("if (k < (P + 1) / 2) {");
    c.line("return 2 * k;");
    c.line("}");
    c.line("return 2 * (P - k) - 1;");
    c.line("}");
    c.blank();
    c.line("fn owner(s: i16) i16 {");
    c.line("return ring_at((pos + s) % P);");
    c.line("}");
    c.blank();
    c.line("// into = A · Bᵀ over the tiles held now: row m of it = Σ_k A[m, k] · column k of B (fp16, @fmach)");
    c.line("fn partial(row0: mem1d_dsd, all: mem1d_dsd) void {");
    c.line("@fmovh(all, 0.0);");
    c.line("var row = row0;");
    c.line("var m: i16 = 0;");
    c.line("while (m < Mt) : (m += 1) {");
    c.line("var col = @set_dsd_base_addr(b_col0, b_cur);");
    c.line("var k: i16 = 0;");
    c.line("while (k < Kt) : (k += 1) {");
    c.line("@fmach(row, row, col, a[m * Kt + k]);");
    c.line("col = @increment_dsd_offset(col, Nt, f16);");
    c.line("}");
    c.line("row = @increment_dsd_offset(row, Nt, f16);");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// the row's chains toward the owner: the ends send, the PEs between add their partial on the way,");
    c.line("// the owner adds both sides into its C block");
    c.line("fn reduce(root: i16) void {");
    c.line("if (px == root) {");
    c.line("partial(c_row0, c_all);");
    c.line("if (px > 0) { @faddh(c_all, c_all, from_west); }");
    c.line("if (px < P - 1) { @faddh(c_all, c_all, from_east); }");
    c.line("return;");
    c.line("}");
    c.line("partial(t_row0, t_all);");
    c.line("if (px < root) {");
    c.line("if (px == 0) { @fmovh(to_east, t_all); } else { @faddh(to_east, from_west, t_all); }");
    c.line("} else {");
    c.line("if (px == P - 1) { @fmovh(to_west, t_all); } else { @faddh(to_west, from_east, t_all); }");
    c.line("}");
    c.line("}");
    c.blank();
    String ut = wse3 ? ", .ut_id = @get_ut_id(%d)" : "";
    c.line("// a step: B on along the ring and the next one in (not on the last), the partial and the chain meanwhile");
    c.line("fn start_step() void {");
    c.line("if (step < P - 1) {");
    c.line("b_mem = @set_dsd_base_addr(b_mem, b_cur);");
    c.line("@mov16(b_out, b_mem, .{ .async = true, .activate = b_sent_id" + String.format(ut, 4) + " });");
    c.line("@mov16(@set_dsd_base_addr(b_mem, b_nxt), b_in, .{ .async = true, .activate = b_recv_id"
        + String.format(ut, 5) + " });");
    c.line("}");
    c.line("reduce(owner(step));");
    c.line("if (step == P - 1) {");
    c.line("sys_mod.unblock_cmd_stream();");
    c.line("return;");
    c.line("}");
    c.line("reduced = true;");
    c.line("advance();");
    c.line("}");
    c.blank();
    c.line("// moves on once B has gone and come and this step's chain is done");
    c.line("fn advance() void {");
    c.line("if (b_sent and b_recv and reduced) {");
    c.line("b_sent = false;");
    c.line("b_recv = false;");
    c.line("reduced = false;");
    c.line("const s = b_cur;");
    c.line("b_cur = b_nxt;");
    c.line("b_nxt = s;");
    c.line("step += 1;");
    c.line("start_step();");
    c.line("}");
    c.line("}");
    c.blank();
    c.completionTask("b_sent");
    c.completionTask("b_recv");
    c.line("// the host launches this on every PE (run.py) after writing a and b0");
    c.line("fn compute() void {");
    c.line("b_cur = &b0;");
    c.line("b_nxt = &b1;");
    c.line("step = 0;");
    c.line("start_step();");
    c.line("}");
    c.blank();
    c.line("comptime {");
    c.line("@bind_local_task(on_b_sent, b_sent_id);");
    c.line("@bind_local_task(on_b_recv, b_recv_id);");
    c.kernelSymbols("a", "b", "c");
    if (wse3) {
      c.line("// SDK 1.4 (WSE-3): every queue a fabric DSD uses is bound to its colour first");
      c.line("if (P > 1) {");
      c.line("@initialize_queue(y_out_q, .{ .color = y_send });");
      c.line("@initialize_queue(y_in_q, .{ .color = y_recv });");
      c.line("if (px < P - 1) {");
      c.line("@initialize_queue(east_out_q, .{ .color = east_out });");
      c.line("@initialize_queue(west_in_q, .{ .color = west_in });");
      c.line("}");
      c.line("if (px > 0) {");
      c.line("@initialize_queue(east_in_q, .{ .color = east_in });");
      c.line("@initialize_queue(west_out_q, .{ .color = west_out });");
      c.line("}");
      c.line("}");
    }
    c.line("}");
    return c.toString();
  }

  private static String host(KernelTemplate.Problem p, int grid, int mt, int kt, int nt, CslProject.Target target) {
    CslText c = new CslText();
    c.line("#!/usr/bin/env cs_python");
    c.line("# meshc: runs this dist-GEMM-T project (%s, Cerebras SDK %s) and checks C against NumPy.", target.arch,
        target.sdk);
    c.line("# The tiling is the template's: PE (px, py) gets A block (py, px) and B block (py, px), both with rows");
    c.line("# along Y and K along X, as q and k leave their projections; it ends with C block (py, px) of A·Bᵀ.");
    c.line("# A and C tiles are row-major; a B tile is k-major (its Kt columns one after another, as WaferLLM keeps");
    c.line("# its tiles), so the PE walks a column of B without a DSD stride. B as a whole is never transposed.");
    GemvCsl.imports(c);
    c.blank();
    c.line("P, MT, KT, NT = %d, %d, %d, %d", grid, mt, kt, nt);
    c.line("M, K, N = %d, %d, %d", p.m(), p.k(), p.n());
    c.blank();
    c.blank();
    GemvCsl.hostArgs(c);
    c.line("rng = np.random.default_rng(args.seed)");
    c.line("a = rng.standard_normal((M, K)).astype(np.float16)");
    c.line("b = rng.standard_normal((N, K)).astype(np.float16)");
    c.line("ap = np.zeros((P * MT, P * KT), np.float16)");
    c.line("ap[:M, :K] = a");
    c.line("bp = np.zeros((P * NT, P * KT), np.float16)");
    c.line("bp[:N, :K] = b");
    c.line("a_tiles = ap.reshape(P, MT, P, KT).transpose(0, 2, 1, 3)  # [py, px] = A block (py, px)");
    c.line("b_tiles = bp.reshape(P, NT, P, KT).transpose(0, 2, 3, 1)  # [py, px] = B block (py, px), k-major");
    c.blank();
    GemmCsl.run(c, "NT * KT");
    c.line("expected = a.astype(np.float32) @ b.astype(np.float32).T");
    c.line("# fp16 accumulation (@fmach, then fp16 adds along the row): about sqrt(K) roundings of 2^-11 relative");
    c.line("tol = 2.0 ** -10 * np.sqrt(K) * np.abs(a).max() * np.abs(b).max()");
    c.line("np.testing.assert_allclose(c, expected, rtol=1e-2, atol=tol)");
    c.line("print(\"dist-GEMM-T %dx%d: C matches NumPy\" % (P, P))");
    return c.toString();
  }

  private static String readme(DistGemmT t, MachineSpec m, CslProject.Target target, int mt, int kt, int nt) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("# dist-GEMM-T %s on a %dx%d kernel (%s, Cerebras SDK %s)", p, t.width(), t.height(), target.arch,
        target.sdk);
    c.blank();
    c.line("Written by meshc from its dist-GEMM-T kernel template: the same rules the planner costs and the");
    c.line("Java mesh runtime runs. C[%d,%d] = A[%d,%d] · B[%d,%d]ᵀ in fp16 (WSE's `@fmach`), prefill's q·kᵀ:",
        p.m(), p.n(), p.m(), p.k(), p.n(), p.k());
    c.line("B is never transposed as a whole: each PE keeps its B tile k-major, so a column of it is contiguous.");
    c.blank();
    c.line("| file | what |");
    c.line("|---|---|");
    c.line("| `layout.csl` | params, the ring's and the chains' colours, the kernel rectangle, each PE's code and routes |");
    c.line("| `gemmt.csl` | one PE: its tiles, the P steps of partial product, row chain and B rotation |");
    c.line("| `run.py` | the host: random A and B, tiled onto the PEs, `compute` launched, C checked against NumPy |");
    c.line("| `commands.sh` | the exact `cslc` and `cs_python` commands |");
    c.line("| `compile_appliance.py`, `appliance.sh` | the appliance path: `SdkCompiler` for the system's whole fabric, then "
        + "`run.py --artifact` through the appliance's `SdkRuntime` |");
    c.line("| `%s` | what `meshc check-csl` rebuilds the template from |", CslProject.MANIFEST);
    c.blank();
    c.line("Plan: tiles Mt = %d, Kt = %d, Nt = %d (padded problem %s); %,d bytes of arrays per PE of %,d; %d "
        + "colours, at most %d on one PE; no ring hop longer than %d PEs.", mt, kt, nt, t.padded(),
        t.maxBytesPerPe(), m.bytesPerPe(), t.colors(), t.maxColorsPerPe(), t.maxHopsPerTransfer());
    c.blank();
    GemvCsl.runSection(c);
    return c.toString();
  }
}
