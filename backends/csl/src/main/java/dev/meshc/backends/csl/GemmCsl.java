package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.ShiftGemm;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * MeshGEMM as a Cerebras SDK project, rendered from meshc's {@link ShiftGemm} template: C = A·B on
 * a P×P kernel, PE (x, y) keeping C block (y, x). The host pre-skews B in ring coordinates; each
 * row aligns A on the mesh by the fewer ring shifts (forward or reverse); then P steps, A rotating
 * along the X ring and B along the Y ring (every hop ≤ 2 PEs) while each PE multiplies the tiles
 * it holds. Transfers are asynchronous and overlap the tile product; a step ends when its four
 * transfers and its product are done.
 */
final class GemmCsl {
  private GemmCsl() {}

  static CslProject emit(KernelTemplate.Problem p, int grid, MachineSpec m) {
    CslProject.Target target = CslProject.Target.of(m);
    ShiftGemm t = ShiftGemm.meshGemm(p, grid, false);
    int mt = (int) (t.padded().m() / grid);
    int kt = (int) (t.padded().k() / grid);
    int nt = (int) (t.padded().n() / grid);
    String params = String.format("P:%d,Mt:%d,Kt:%d,Nt:%d", grid, mt, kt, nt);
    Map<String, String> files = new TreeMap<>();
    files.put("layout.csl", layout(t, m, target));
    files.put("meshgemm.csl", program(target));
    files.put("run.py", host(p, grid, mt, kt, nt, target));
    files.put("commands.sh", GemvCsl.commands(grid, grid, params, target, "MeshGEMM"));
    HostFiles.appliance(files, grid, grid, params, target, m.fabricWidth(), m.fabricHeight(), "MeshGEMM");
    files.put("README.md", readme(t, m, target, mt, kt, nt));
    files.put(CslProject.MANIFEST, CslProject.manifest("meshgemm", p, grid, grid, 0, m, params));
    return new CslProject(files);
  }

  private static String layout(ShiftGemm t, MachineSpec m, CslProject.Target target) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("// meshc: MeshGEMM C[%d,%d] = A[%d,%d] · B[%d,%d] on a %dx%d kernel, %s (Cerebras SDK %s).", p.m(), p.n(),
        p.m(), p.k(), p.k(), p.n(), t.width(), t.height(), target.arch, target.sdk);
    c.line("// PE (px, py) keeps C block (py, px). B comes pre-skewed from the host (run.py); each row aligns A");
    c.line("// by the fewer ring shifts, forward or reverse; then P steps rotate A along X and B along Y on the");
    c.line("// interleaved rings (no hop longer than 2 PEs) while every PE multiplies its tiles (fp16, @fmach).");
    c.line("// Padded problem %s; %,d bytes of arrays per PE; %d colours, at most %d on one PE.", t.padded(),
        t.maxBytesPerPe(), t.colors(), t.maxColorsPerPe());
    c.blank();
    c.line("param P: i16; // kernel side");
    c.line("param Mt: i16; // tile rows of A and C");
    c.line("param Kt: i16; // tile columns of A, rows of B");
    c.line("param Nt: i16; // tile columns of B and C");
    c.blank();
    c.line("// The template's nine logical colours as physical IDs, skipping the ones memcpy keeps (%s):",
        m.reservedColors());
    c.line("// three per ring, picked by flow (see ring_color).");
    c.line("const x_colors = [3]color{ @get_color(%d), @get_color(%d), @get_color(%d) }; // A, forward along X",
        m.physicalColor(0), m.physicalColor(1), m.physicalColor(2));
    c.line("const y_colors = [3]color{ @get_color(%d), @get_color(%d), @get_color(%d) }; // B, forward along Y",
        m.physicalColor(3), m.physicalColor(4), m.physicalColor(5));
    c.line("const xr_colors = [3]color{ @get_color(%d), @get_color(%d), @get_color(%d) }; // A's reverse alignment",
        m.physicalColor(6), m.physicalColor(7), m.physicalColor(8));
    c.blank();
    c.line("const memcpy = @import_module(\"<memcpy/get_params>\", .{ .width = P, .height = P });");
    c.blank();
    RingCsl.helpers(c, "P");
    c.blank();
    c.line("// ring shifts row y makes to align A: its ring position forward, or the rest of the ring reverse");
    c.line("fn shifts(y: i16) i16 {");
    c.line("if (ring_pos(y) <= P - ring_pos(y)) {");
    c.line("return ring_pos(y);");
    c.line("}");
    c.line("return P - ring_pos(y);");
    c.line("}");
    c.blank();
    c.line("layout {");
    c.line("@set_rectangle(P, P);");
    c.line("var px: i16 = 0;");
    c.line("while (px < P) : (px += 1) {");
    c.line("const memcpy_params = memcpy.get_params(px);");
    c.line("var py: i16 = 0;");
    c.line("while (py < P) : (py += 1) {");
    c.line("@set_tile_code(px, py, \"meshgemm.csl\", .{");
    c.line(".memcpy_params = memcpy_params, .P = P, .Mt = Mt, .Kt = Kt, .Nt = Nt,");
    c.line(".shifts = shifts(py), .forward = ring_pos(py) <= P - ring_pos(py),");
    c.line(".x_send = x_colors[ring_color(px)], .x_recv = x_colors[ring_color(ring_prev(px))],");
    c.line(".xr_send = xr_colors[ring_color(ring_prev(px))], .xr_recv = xr_colors[ring_color(px)],");
    c.line(".y_send = y_colors[ring_color(py)], .y_recv = y_colors[ring_color(ring_prev(py))],");
    c.line("});");
    c.line("if (P > 1) {");
    c.line("// A's ring along row py, forward");
    RingCsl.routes(c, "px", "P", "x_colors", Dir.WEST, Dir.EAST, true, "x");
    c.line("// B's ring along column px, forward");
    RingCsl.routes(c, "py", "P", "y_colors", Dir.NORTH, Dir.SOUTH, true, "y");
    c.line("// A's ring along row py, reverse: the rows that align the other way round");
    RingCsl.routes(c, "px", "P", "xr_colors", Dir.WEST, Dir.EAST, false, "xr");
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
    c.kernelExports("a", "b", "c");
    c.line("}");
    return c.toString();
  }

  /** One PE: its tiles, the alignment shifts, the P overlapped steps, joined by completion tasks. */
  private static String program(CslProject.Target target) {
    boolean wse3 = target == CslProject.Target.WSE3;
    CslText c = new CslText();
    c.line("// meshc: one PE of MeshGEMM, %s (Cerebras SDK %s). layout.csl says where each PE sits.", target.arch,
        target.sdk);
    c.line("// Transfers run asynchronously (microthreads) while the PE multiplies its tiles; each completion");
    c.line("// activates its own task, which records it, so a step moves on only when all have happened.");
    c.blank();
    c.line("param memcpy_params: comptime_struct;");
    c.line("param P: i16;");
    c.line("param Mt: i16;");
    c.line("param Kt: i16;");
    c.line("param Nt: i16;");
    c.line("param shifts: i16; // ring shifts this row makes to align A");
    c.line("param forward: bool; // align on the forward ring (else the reverse one)");
    c.line("param x_send: color;");
    c.line("param x_recv: color;");
    c.line("param xr_send: color;");
    c.line("param xr_recv: color;");
    c.line("param y_send: color;");
    c.line("param y_recv: color;");
    c.blank();
    c.line("const sys_mod = @import_module(\"<memcpy/memcpy>\", memcpy_params);");
    c.blank();
    c.line("// A block (py, px) and B block (skewed, px), row-major, each twice (what is sent, what arrives);");
    c.line("// C block (py, px): written and read by the host (run.py)");
    c.line("var a0: [Mt * Kt]f16 = @zeros([Mt * Kt]f16);");
    c.line("var a1: [Mt * Kt]f16 = @zeros([Mt * Kt]f16);");
    c.line("var b0: [Kt * Nt]f16 = @zeros([Kt * Nt]f16);");
    c.line("var b1: [Kt * Nt]f16 = @zeros([Kt * Nt]f16);");
    c.line("var c: [Mt * Nt]f16 = @zeros([Mt * Nt]f16);");
    c.kernelPointers("a", "a0", "b", "b0", "c", "c");
    c.line("var a_cur: [*]f16 = &a0;");
    c.line("var a_nxt: [*]f16 = &a1;");
    c.line("var b_cur: [*]f16 = &b0;");
    c.line("var b_nxt: [*]f16 = &b1;");
    c.blank();
    c.line("const a_sent_id: local_task_id = @get_local_task_id(10);");
    c.line("const a_recv_id: local_task_id = @get_local_task_id(11);");
    c.line("const b_sent_id: local_task_id = @get_local_task_id(12);");
    c.line("const b_recv_id: local_task_id = @get_local_task_id(13);");
    c.blank();
    c.queues(List.of("x_out_q", "y_out_q", "xr_out_q"), List.of("x_in_q", "y_in_q", "xr_in_q"));
    c.blank();
    c.line("const a_out = @get_dsd(fabout_dsd, .{ .fabric_color = x_send, .extent = Mt * Kt, .output_queue = x_out_q });");
    c.line("const a_in = @get_dsd(fabin_dsd, .{ .fabric_color = x_recv, .extent = Mt * Kt, .input_queue = x_in_q });");
    c.line("const ar_out = @get_dsd(fabout_dsd, .{ .fabric_color = xr_send, .extent = Mt * Kt, .output_queue = xr_out_q });");
    c.line("const ar_in = @get_dsd(fabin_dsd, .{ .fabric_color = xr_recv, .extent = Mt * Kt, .input_queue = xr_in_q });");
    c.line("const b_out = @get_dsd(fabout_dsd, .{ .fabric_color = y_send, .extent = Kt * Nt, .output_queue = y_out_q });");
    c.line("const b_in = @get_dsd(fabin_dsd, .{ .fabric_color = y_recv, .extent = Kt * Nt, .input_queue = y_in_q });");
    c.line("var a_mem = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Mt * Kt} -> a0[k] });");
    c.line("var b_mem = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Kt * Nt} -> b0[k] });");
    c.line("const c_row0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Nt} -> c[k] });");
    c.line("const b_row0 = @get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Nt} -> b0[k] });");
    c.blank();
    c.line("var shifts_left: i16 = 0;");
    c.line("var step: i16 = 0;");
    c.line("var a_sent: bool = false;");
    c.line("var a_recv: bool = false;");
    c.line("var b_sent: bool = false;");
    c.line("var b_recv: bool = false;");
    c.blank();
    c.line("// C += A · B over the tiles held now: row m of C += A[m, k] · row k of B (fp16, @fmach)");
    c.line("fn multiply() void {");
    c.line("var c_row = c_row0;");
    c.line("var m: i16 = 0;");
    c.line("while (m < Mt) : (m += 1) {");
    c.line("var b_row = @set_dsd_base_addr(b_row0, b_cur);");
    c.line("var k: i16 = 0;");
    c.line("while (k < Kt) : (k += 1) {");
    c.line("@fmach(c_row, c_row, b_row, a_cur[m * Kt + k]);");
    c.line("b_row = @increment_dsd_offset(b_row, Nt, f16);");
    c.line("}");
    c.line("c_row = @increment_dsd_offset(c_row, Nt, f16);");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("fn swap_a() void {");
    c.line("const t = a_cur;");
    c.line("a_cur = a_nxt;");
    c.line("a_nxt = t;");
    c.line("}");
    c.blank();
    c.line("fn swap_b() void {");
    c.line("const t = b_cur;");
    c.line("b_cur = b_nxt;");
    c.line("b_nxt = t;");
    c.line("}");
    c.blank();
    String ut = wse3 ? ", .ut_id = @get_ut_id(%d)" : "";
    c.line("// one alignment shift: A to the next PE on the row's ring, the neighbour's A in");
    c.line("fn align() void {");
    c.line("if (shifts_left == 0) {");
    c.line("start_step();");
    c.line("return;");
    c.line("}");
    c.line("a_mem = @set_dsd_base_addr(a_mem, a_cur);");
    c.line("if (forward) {");
    c.line("@mov16(a_out, a_mem, .{ .async = true, .activate = a_sent_id" + String.format(ut, 2) + " });");
    c.line("@mov16(@set_dsd_base_addr(a_mem, a_nxt), a_in, .{ .async = true, .activate = a_recv_id"
        + String.format(ut, 3) + " });");
    c.line("} else {");
    c.line("@mov16(ar_out, a_mem, .{ .async = true, .activate = a_sent_id" + String.format(ut, 2) + " });");
    c.line("@mov16(@set_dsd_base_addr(a_mem, a_nxt), ar_in, .{ .async = true, .activate = a_recv_id"
        + String.format(ut, 3) + " });");
    c.line("}");
    c.line("}");
    c.blank();
    c.line("// a step: send both tiles on, take the next ones in, multiply meanwhile; the last step only multiplies");
    c.line("fn start_step() void {");
    c.line("if (step == P - 1) {");
    c.line("multiply();");
    c.line("sys_mod.unblock_cmd_stream();");
    c.line("return;");
    c.line("}");
    c.line("a_mem = @set_dsd_base_addr(a_mem, a_cur);");
    c.line("b_mem = @set_dsd_base_addr(b_mem, b_cur);");
    c.line("@mov16(a_out, a_mem, .{ .async = true, .activate = a_sent_id" + String.format(ut, 2) + " });");
    c.line("@mov16(@set_dsd_base_addr(a_mem, a_nxt), a_in, .{ .async = true, .activate = a_recv_id"
        + String.format(ut, 3) + " });");
    c.line("@mov16(b_out, b_mem, .{ .async = true, .activate = b_sent_id" + String.format(ut, 4) + " });");
    c.line("@mov16(@set_dsd_base_addr(b_mem, b_nxt), b_in, .{ .async = true, .activate = b_recv_id"
        + String.format(ut, 5) + " });");
    c.line("multiply();");
    c.line("advance();");
    c.line("}");
    c.blank();
    c.line("// moves on once every transfer of the round has completed (the product, if any, is done)");
    c.line("fn advance() void {");
    c.line("if (shifts_left > 0) {");
    c.line("if (a_sent and a_recv) {");
    c.line("a_sent = false;");
    c.line("a_recv = false;");
    c.line("swap_a();");
    c.line("shifts_left -= 1;");
    c.line("align();");
    c.line("}");
    c.line("return;");
    c.line("}");
    c.line("if (a_sent and a_recv and b_sent and b_recv) {");
    c.line("a_sent = false;");
    c.line("a_recv = false;");
    c.line("b_sent = false;");
    c.line("b_recv = false;");
    c.line("swap_a();");
    c.line("swap_b();");
    c.line("step += 1;");
    c.line("start_step();");
    c.line("}");
    c.line("}");
    c.blank();
    c.completionTask("a_sent");
    c.completionTask("a_recv");
    c.completionTask("b_sent");
    c.completionTask("b_recv");
    c.line("// the host launches this on every PE (run.py) after writing a0 and b0");
    c.line("fn compute() void {");
    c.line("a_cur = &a0;");
    c.line("a_nxt = &a1;");
    c.line("b_cur = &b0;");
    c.line("b_nxt = &b1;");
    c.line("step = 0;");
    c.line("shifts_left = shifts;");
    c.line("@fmovh(@get_dsd(mem1d_dsd, .{ .tensor_access = |k|{Mt * Nt} -> c[k] }), 0.0);");
    c.line("align();");
    c.line("}");
    c.blank();
    c.line("comptime {");
    c.line("@bind_local_task(on_a_sent, a_sent_id);");
    c.line("@bind_local_task(on_a_recv, a_recv_id);");
    c.line("@bind_local_task(on_b_sent, b_sent_id);");
    c.line("@bind_local_task(on_b_recv, b_recv_id);");
    c.kernelSymbols("a", "b", "c");
    if (wse3) {
      c.line("// SDK 1.4 (WSE-3): every queue a fabric DSD uses is bound to its colour first");
      c.line("if (P > 1) {");
      c.line("@initialize_queue(x_out_q, .{ .color = x_send });");
      c.line("@initialize_queue(x_in_q, .{ .color = x_recv });");
      c.line("@initialize_queue(y_out_q, .{ .color = y_send });");
      c.line("@initialize_queue(y_in_q, .{ .color = y_recv });");
      c.line("if (!forward) {");
      c.line("@initialize_queue(xr_out_q, .{ .color = xr_send });");
      c.line("@initialize_queue(xr_in_q, .{ .color = xr_recv });");
      c.line("}");
      c.line("}");
    }
    c.line("}");
    return c.toString();
  }

  private static String host(KernelTemplate.Problem p, int grid, int mt, int kt, int nt, CslProject.Target target) {
    CslText c = new CslText();
    c.line("#!/usr/bin/env cs_python");
    c.line("# meshc: runs this MeshGEMM project (%s, Cerebras SDK %s) and checks C against NumPy.", target.arch,
        target.sdk);
    c.line("# The tiling is the template's: PE (px, py) gets A block (py, px) and B block (kb, px) with");
    c.line("# kb = ring_at((ring_pos(px) + ring_pos(py)) % P), Cannon's skew in ring coordinates; it ends with");
    c.line("# C block (py, px). Tiles are row-major.");
    GemvCsl.imports(c);
    c.blank();
    c.line("P, MT, KT, NT = %d, %d, %d, %d", grid, mt, kt, nt);
    c.line("M, K, N = %d, %d, %d", p.m(), p.k(), p.n());
    c.blank();
    c.blank();
    c.line("def ring_pos(i):");
    c.line("  return i // 2 if i % 2 == 0 else P - (i + 1) // 2");
    c.blank();
    c.blank();
    c.line("def ring_at(k):");
    c.line("  return 2 * k if k < (P + 1) // 2 else 2 * (P - k) - 1");
    c.blank();
    c.blank();
    GemvCsl.hostArgs(c);
    c.line("rng = np.random.default_rng(args.seed)");
    c.line("a = rng.standard_normal((M, K)).astype(np.float16)");
    c.line("b = rng.standard_normal((K, N)).astype(np.float16)");
    c.line("ap = np.zeros((P * MT, P * KT), np.float16)");
    c.line("ap[:M, :K] = a");
    c.line("bp = np.zeros((P * KT, P * NT), np.float16)");
    c.line("bp[:K, :N] = b");
    c.line("a_tiles = ap.reshape(P, MT, P, KT).transpose(0, 2, 1, 3)  # [py, px] = A block (py, px)");
    c.line("b_blocks = bp.reshape(P, KT, P, NT).transpose(0, 2, 1, 3)  # [kb, px] = B block (kb, px)");
    c.line("b_tiles = np.empty_like(b_blocks)");
    c.line("for py in range(P):");
    c.line("  for px in range(P):");
    c.line("    b_tiles[py, px] = b_blocks[ring_at((ring_pos(px) + ring_pos(py)) % P), px]");
    c.blank();
    run(c, "KT * NT");
    c.line("expected = a.astype(np.float32) @ b.astype(np.float32)");
    c.line("# fp16 accumulation (@fmach): about sqrt(K) roundings of 2^-11 relative");
    c.line("tol = 2.0 ** -10 * np.sqrt(K) * np.abs(a).max() * np.abs(b).max()");
    c.line("np.testing.assert_allclose(c, expected, rtol=1e-2, atol=tol)");
    c.line("print(\"MeshGEMM %dx%d: C matches NumPy\" % (P, P))");
    return c.toString();
  }

  /**
   * The host's run of a GEMM project: A and B tiles (B's of {@code bWords} values) onto the PEs,
   * {@code compute}, C's tiles back as the [M, N] result {@code c}.
   */
  static void run(CslText c, String bWords) {
    c.line("c_words = np.zeros(P * P * MT * NT, np.uint32)");
    c.line("with runtime(args.artifact or args.name, args.cmaddr) as runner:");
    c.line("  for sym, tiles, n in ((\"a\", a_tiles, MT * KT), (\"b\", b_tiles, %s)):", bWords);
    c.line("    runner.memcpy_h2d(runner.get_id(sym), u32(tiles), 0, 0, P, P, n, streaming=False,");
    c.line("                      data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)");
    c.line("  runner.launch(\"compute\", nonblock=False)");
    c.line("  runner.memcpy_d2h(c_words, runner.get_id(\"c\"), 0, 0, P, P, MT * NT, streaming=False,");
    c.line("                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)");
    c.blank();
    c.line("c_tiles = c_words.astype(np.uint16).view(np.float16).reshape(P, P, MT, NT)");
    c.line("c = c_tiles.transpose(0, 2, 1, 3).reshape(P * MT, P * NT)[:M, :N].astype(np.float32)");
  }

  private static String readme(ShiftGemm t, MachineSpec m, CslProject.Target target, int mt, int kt, int nt) {
    KernelTemplate.Problem p = t.problem();
    CslText c = new CslText();
    c.line("# MeshGEMM %s on a %dx%d kernel (%s, Cerebras SDK %s)", p, t.width(), t.height(), target.arch,
        target.sdk);
    c.blank();
    c.line("Written by meshc from its MeshGEMM kernel template: the same rules the planner costs and the");
    c.line("Java mesh runtime runs. C[%d,%d] = A[%d,%d] · B[%d,%d] in fp16 (WSE's `@fmach`).", p.m(), p.n(), p.m(),
        p.k(), p.k(), p.n());
    c.blank();
    c.line("| file | what |");
    c.line("|---|---|");
    c.line("| `layout.csl` | params, the three rings' colours, the kernel rectangle, each PE's code and routes |");
    c.line("| `meshgemm.csl` | one PE: its tiles, A's alignment shifts, the P overlapped transfer-and-multiply steps |");
    c.line("| `run.py` | the host: random A and B, B pre-skewed, tiled onto the PEs, `compute` launched, C checked |");
    c.line("| `commands.sh` | the exact `cslc` and `cs_python` commands |");
    c.line("| `compile_appliance.py`, `appliance.sh` | the appliance path: `SdkCompiler` for the system's whole fabric, then "
        + "`run.py --artifact` through the appliance's `SdkRuntime` |");
    c.line("| `%s` | what `meshc check-csl` rebuilds the template from |", CslProject.MANIFEST);
    c.blank();
    c.line("Plan: tiles Mt = %d, Kt = %d, Nt = %d (padded problem %s); %,d bytes of arrays per PE of %,d; %d "
        + "colours, at most %d on one PE; no transfer longer than %d hops.", mt, kt, nt, t.padded(), t.maxBytesPerPe(),
        m.bytesPerPe(), t.colors(), t.maxColorsPerPe(), t.maxHopsPerTransfer());
    c.blank();
    GemvCsl.runSection(c);
    return c.toString();
  }
}
