package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK stand-ins end to end on a program written for this test: backends/csl/sdk/bin/cslc builds
 * it, cs_python runs a host script whose NumPy result it checks. Skipped without NumPy.
 */
class SimCliTest {
  @TempDir
  Path dir;

  static final Path BIN = Path.of("").toAbsolutePath().getParent().getParent().resolve("backends/csl/sdk/bin");

  static final String LAYOUT = """
      param n: i16;
      const memcpy = @import_module("<memcpy/get_params>", .{ .width = 2, .height = 1 });
      layout {
        @set_rectangle(2, 1);
        @set_tile_code(0, 0, "pe.csl", .{ .memcpy_params = memcpy.get_params(0), .n = n, .scale = 2 });
        @set_tile_code(1, 0, "pe.csl", .{ .memcpy_params = memcpy.get_params(1), .n = n, .scale = 3 });
        @export_name("v", [*]f32, true);
        @export_name("r", [*]f32, false);
        @export_name("scale_by", fn()void);
      }
      """;

  static final String PE = """
      param memcpy_params: comptime_struct;
      param n: i16;
      param scale: i16;
      const sys_mod = @import_module("<memcpy/memcpy>", memcpy_params);
      var v: [n]f32;
      var r = @zeros([n]f32);
      var v_ptr: [*]f32 = &v;
      const r_ptr: [*]f32 = &r;
      const v_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &v, .extent = n });
      const r_dsd = @get_dsd(mem1d_dsd, .{ .base_address = &r, .extent = n });
      fn scale_by() void {
        @fmuls(r_dsd, v_dsd, @as(f32, scale));
        sys_mod.unblock_cmd_stream();
      }
      comptime { @export_symbol(v_ptr, "v"); @export_symbol(r_ptr, "r"); @export_symbol(scale_by); }
      """;

  static final String RUN = """
      import argparse, json
      import numpy as np
      from cerebras.sdk.runtime.sdkruntimepybind import SdkRuntime, MemcpyDataType, MemcpyOrder
      p = argparse.ArgumentParser(); p.add_argument('--name'); a = p.parse_args()
      n = int(json.load(open(f"{a.name}/out.json"))['params']['n'])
      v = np.arange(2 * n, dtype=np.float32) * 0.5
      rt = SdkRuntime(a.name)
      v_id, r_id = rt.get_id('v'), rt.get_id('r')
      rt.load(); rt.run()
      rt.memcpy_h2d(v_id, v, 0, 0, 2, 1, n, streaming=False, order=MemcpyOrder.ROW_MAJOR,
                    data_type=MemcpyDataType.MEMCPY_32BIT, nonblock=False)
      rt.launch('scale_by', nonblock=False)
      r = np.zeros(2 * n, dtype=np.float32)
      rt.memcpy_d2h(r, r_id, 0, 0, 2, 1, n, streaming=False, order=MemcpyOrder.ROW_MAJOR,
                    data_type=MemcpyDataType.MEMCPY_32BIT, nonblock=False)
      WRITE_READ_ONLY
      rt.stop()
      expected = v * np.repeat(np.array([2, 3], dtype=np.float32), n)
      np.testing.assert_array_equal(r, expected)
      print("SUCCESS!")
      """;

  private static boolean numpy() {
    return python("numpy");
  }

  /** A golden kernel project (backends/csl's, which GoldenTest keeps current) copied into {@link #dir}. */
  private void copyGolden(String project) throws java.io.IOException {
    Path golden = BIN.getParent().getParent().resolve("src/test/resources/golden").resolve(project);
    try (java.util.stream.Stream<Path> files = Files.list(golden)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
  }

  /** A project's scripts run with the stand-ins first on PATH (and as $PYTHON) on meshc's classes. */
  private static ProcessBuilder standIns(ProcessBuilder pb) {
    pb.environment().put("MESHC_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("PATH", BIN + java.io.File.pathSeparator + System.getenv("PATH"));
    pb.environment().put("PYTHON", BIN.resolve("cs_python").toString());
    return pb;
  }

  /** Whether the interpreter cs_python runs imports {@code module}. */
  private static boolean python(String module) {
    try {
      String py = System.getenv().getOrDefault("MESHC_PYTHON", "python3"); // the interpreter cs_python runs
      Process p = new ProcessBuilder(py, "-c", "import " + module).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  /** Runs a stand-in with meshc's classes (the jar is not built under mvn test); returns {exit code, output}. */
  private Object[] run(String tool, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(BIN.resolve(tool).toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("MESHC_CLASSPATH", System.getProperty("java.class.path"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), tool + " did not finish");
    return new Object[] {p.exitValue(), out};
  }

  @Test
  void cslcAndCsPythonRunAHostScript() throws Exception {
    Assumptions.assumeTrue(numpy(), "python3 (or $MESHC_PYTHON) with NumPy is not installed");
    Files.writeString(dir.resolve("layout.csl"), LAYOUT);
    Files.writeString(dir.resolve("pe.csl"), PE);
    Files.writeString(dir.resolve("run.py"), RUN.replace("WRITE_READ_ONLY", ""));
    Object[] c = run("cslc", "--arch=wse3", "./layout.csl", "--fabric-dims=9,3", "--fabric-offsets=4,1",
        "--params=n:5", "-o", "out", "--memcpy", "--channels", "1");
    assertEquals(0, c[0], (String) c[1]);
    assertTrue(Files.readString(dir.resolve("out/out.json")).contains("\"n\": \"5\""));
    Object[] r = run("cs_python", "run.py", "--name", "out");
    assertEquals(0, r[0], (String) r[1]);
    assertTrue(((String) r[1]).contains("SUCCESS!"), (String) r[1]);

    // a host writing a read-only symbol: one line, exit 2, no traceback
    Files.writeString(dir.resolve("run.py"), RUN.replace("WRITE_READ_ONLY", "rt.memcpy_h2d(r_id, r, 0, 0, 2, 1, n)"));
    r = run("cs_python", "run.py", "--name", "out");
    assertEquals(2, r[0], (String) r[1]);
    assertTrue(((String) r[1]).startsWith("cs_python: error: memcpy_h2d into 'r'"), (String) r[1]);
    assertFalse(((String) r[1]).contains("Traceback"), (String) r[1]);
  }

  @Test
  void cslcRefusesWhatIsNotModelledAndSaysWhatItIs() throws Exception {
    Files.writeString(dir.resolve("layout.csl"), LAYOUT);
    Files.writeString(dir.resolve("pe.csl"), PE.replace("fn scale_by() void {",
        "const coll = @import_module(\"<collectives_2d/pe>\");\nfn scale_by() void {"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.execute(new String[] {"sim", "cslc", dir.resolve("layout.csl").toString(), "--fabric-dims=9,3",
        "--fabric-offsets=4,1", "--params=n:5", "-o", dir.resolve("out").toString(), "--memcpy"},
        new PrintStream(out), new PrintStream(err));
    assertEquals(2, code);
    // a library the simulator does not model is refused when the program is loaded, where it is imported
    String e = err.toString(StandardCharsets.UTF_8).strip();
    assertTrue(e.matches("meshc: error: .*pe\\.csl:11:14: <collectives_2d/pe> is not modelled yet \\(the simulator has .*\\)"),
        e);
    assertFalse(Files.exists(dir.resolve("out/out.json")));

    out.reset();
    assertEquals(0, Main.execute(new String[] {"sim", "cslc", "--version"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("not the Cerebras SDK"));
  }

  /**
   * meshc's own kernel projects (the golden ones GoldenTest keeps current) build with cslc and run
   * their run.py under the stand-ins: the CSL meshc writes computes what NumPy does.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"meshgemv-p4-wse2", "meshgemv-p4-wse3", "meshgemv-p8-wse2",
      "meshgemv-p8-wse3", "meshgemm-p4-wse2", "meshgemm-p4-wse3", "meshgemm-p8-wse2", "meshgemm-p8-wse3",
      "gemmt-p4-wse2", "gemmt-p4-wse3", "gemmt-p8-wse2", "gemmt-p8-wse3", "gemmt-p4-wse2-k130", "gemmt-p8-wse3-k130"})
  void meshcKernelProjectsRunUnderTheStandIns(String project) throws Exception {
    Assumptions.assumeTrue(numpy(), "python3 (or $MESHC_PYTHON) with NumPy is not installed");
    copyGolden(project);
    ProcessBuilder pb = new ProcessBuilder("sh", "commands.sh").directory(dir.toFile()).redirectErrorStream(true);
    Process p = standIns(pb).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), project + " did not finish");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("matches NumPy"), out);
  }

  /**
   * A kernel project's appliance path: {@code appliance.sh --simulator} compiles with the client's
   * SdkCompiler and runs run.py through SdkRuntime(artifact, simulator=True), here the stand-ins';
   * without {@code --simulator} it compiles for the system's whole fabric and the stand-in, having
   * no system, refuses the run in one line.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"meshgemv-p4-wse2", "gemmt-p8-wse3-k130"})
  void meshcKernelProjectsRunThroughTheAppliancePath(String project) throws Exception {
    Assumptions.assumeTrue(numpy(), "python3 (or $MESHC_PYTHON) with NumPy is not installed");
    copyGolden(project);
    for (boolean simulator : new boolean[] {true, false}) {
      ProcessBuilder pb = new ProcessBuilder(simulator ? List.of("sh", "appliance.sh", "--simulator")
          : List.of("sh", "appliance.sh")).directory(dir.toFile()).redirectErrorStream(true);
      Process p = standIns(pb).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), project + " did not finish");
      if (simulator) {
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("for the appliance's simulator") && out.contains("matches NumPy"), out);
      } else {
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("for the system"), out);
        assertTrue(out.strip().endsWith("meshc's stand-in has no CS system behind it; run with --simulator, or on "
            + "the appliance with the Cerebras SDK"), out);
      }
    }
  }

  /**
   * A decode project meshc writes generates ONNX Runtime's greedy ids (the committed greedy.json)
   * under the stand-ins, by its own commands.sh and by its appliance path on the appliance's
   * simulator: the example decoders, and every decoder family of the zoo on WSE-2 and WSE-3.
   * Needs NumPy and the onnx package (Debian's python3-onnx); ONNX Runtime's own check in run.py
   * is then skipped when onnxruntime is absent, so the ids are compared here.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("decoders")
  void meshcDecodeProjectsGenerateOnnxRuntimesIds(String model, String machine, String script) throws Exception {
    Assumptions.assumeTrue(numpy() && python("onnx"), "python3 (or $MESHC_PYTHON) with NumPy and onnx is not "
        + "installed");
    Path examples = BIN.getParent().getParent().getParent().getParent().resolve("examples");
    Path onnx = model.startsWith("tiny-") ? examples.resolve("models/" + model + ".onnx")
        : examples.resolve("zoo/" + model + "-dynamic.onnx");
    com.google.gson.JsonObject greedy = com.google.gson.JsonParser.parseString(Files.readString(
        onnx.resolveSibling(onnx.getFileName().toString().replace(".onnx", ".greedy.json")))).getAsJsonObject();
    List<Long> prompt = new java.util.ArrayList<>();
    greedy.getAsJsonArray("prompt_ids").forEach(e -> prompt.add(e.getAsLong()));
    List<Long> want = new java.util.ArrayList<>();
    greedy.getAsJsonArray("generated_ids").forEach(e -> want.add(e.getAsLong()));
    Path project = dir.resolve("decode");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, Main.execute(new String[] {"compile", onnx.toString(), "--input",
        "input_ids=1x16", "--phase", "decode", "--emit", "csl", "--grid", "3", "--max-context", "32", "--machine",
        machine, "-q", "-o", project.toString()}, new PrintStream(out), new PrintStream(err)), err.toString());
    String ids = String.join(",", prompt.stream().map(String::valueOf).toList());
    // commands.sh runs run.py with its defaults; the fixture's prompt is given by running it again
    List<String> cmd = script.equals("commands.sh")
        ? List.of("sh", "-c", "sh commands.sh > /dev/null 2>&1; cs_python run.py --name out --prompt " + ids
            + " --new 8")
        : List.of("sh", "appliance.sh", "--simulator", "--prompt", ids, "--new", "8");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(project.toFile()).redirectErrorStream(true);
    Process p = standIns(pb).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(600, TimeUnit.SECONDS), model + " did not finish");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("generated: \\[([0-9, ]*)\\]").matcher(log);
    assertTrue(m.find(), log);
    assertEquals(want.subList(0, 8).toString(), "[" + m.group(1) + "]", log);
    assertTrue(p.exitValue() == 0 || log.contains("onnxruntime is not installed"), log);
  }

  /**
   * A decode project hands the residual from region to region on the fabric as the regions lie
   * (meshc's Handoff), and still generates ONNX Runtime's ids: tiny-llama's three 2×2 regions
   * moved to each side of one another, with gaps, on a new row, and stacked (which the template
   * does not lay on the fabric: that hand-off stays with the host, so the project has two chains).
   * check-csl holds every route to the template's.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({
      "wse2, 0 0 2 0 4 0, 2", // the planner's: east along one row (anti-diagonal senders)
      "wse2, 4 0 2 0 0 0, 2", // west along one row (diagonal senders)
      "wse2, 0 0 2 0 0 2, 2", // a new row: west and below
      "wse2, 0 3 3 0 7 4, 2", // east and above, then east and below, with gaps
      "wse2, 0 0 0 2 2 2, 1", // stacked (the host), then east
      "wse3, 0 0 2 0 0 2, 2",
      "wse3, 0 3 3 0 7 4, 2"})
  void decodeProjectsHandTheResidualOnAsTheRegionsLie(String machine, String corners, int links) throws Exception {
    Assumptions.assumeTrue(numpy() && python("onnx"), "python3 (or $MESHC_PYTHON) with NumPy and onnx is not "
        + "installed");
    Path onnx = BIN.getParent().getParent().getParent().getParent().resolve("examples/models/tiny-llama.onnx");
    Path plan = dir.resolve("plan");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, Main.execute(new String[] {"compile", onnx.toString(), "--input", "input_ids=1x16", "--phase",
        "decode", "--emit", "plan", "--grid", "2", "--max-context", "32", "--machine", machine, "-q", "-o",
        plan.toString()}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
    dev.meshc.ir.Placement planned = dev.meshc.compiler.plan.PlanDir.read(plan).module().placements().stream()
        .filter(p -> p.phase().equals("decode")).findFirst().orElseThrow();
    String[] xy = corners.split(" ");
    assertEquals(2 * planned.regions().size(), xy.length, "the plan has three regions");
    List<dev.meshc.ir.Placement.Region> moved = new java.util.ArrayList<>();
    for (dev.meshc.ir.Placement.Region r : planned.regions()) {
      moved.add(new dev.meshc.ir.Placement.Region(r.index(), r.info().toBuilder()
          .put("x", Long.parseLong(xy[2 * r.index()])).put("y", Long.parseLong(xy[2 * r.index() + 1])).build(),
          r.kernels()));
    }
    List<dev.meshc.compiler.onnx.InputBinding> bind = List.of(new dev.meshc.compiler.onnx.InputBinding("input_ids",
        new long[] {1, 16}));
    dev.meshc.ir.Module step = dev.meshc.compiler.Frontend.atLength(onnx, bind, "input_ids", 1,
        dev.meshc.ir.Limits.DEFAULTS).module();
    float[] theta = dev.meshc.backends.mesh.MeshDecoder.thetas(dev.meshc.compiler.Frontend.load(onnx, bind).module());
    Path project = dir.resolve("decode");
    dev.meshc.backends.csl.CslProject.decode(step.withPlacements(List.of(new dev.meshc.ir.Placement("decode",
        planned.info(), moved))), theta, onnx.toString(), dev.meshc.ir.machine.MachineSpec.load(machine))
        .writeTo(project);
    String manifest = Files.readString(project.resolve("meshc-project.properties"));
    java.util.regex.Matcher h = java.util.regex.Pattern.compile("(?m)^handoffs=(.*)$").matcher(manifest);
    assertTrue(h.find(), manifest);
    assertEquals(links, h.group(1).split(";").length, manifest);
    err.reset();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertEquals(0, Main.execute(new String[] {"check-csl", project.toString()}, new PrintStream(out),
        new PrintStream(err)), err + out.toString());
    com.google.gson.JsonObject greedy = com.google.gson.JsonParser.parseString(Files.readString(
        onnx.resolveSibling("tiny-llama.greedy.json"))).getAsJsonObject();
    List<String> prompt = new java.util.ArrayList<>();
    greedy.getAsJsonArray("prompt_ids").forEach(e -> prompt.add(e.getAsString()));
    List<Long> want = new java.util.ArrayList<>();
    greedy.getAsJsonArray("generated_ids").forEach(e -> want.add(e.getAsLong()));
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", "sh commands.sh > /dev/null 2>&1; cs_python run.py --name out "
        + "--prompt " + String.join(",", prompt) + " --new 8").directory(project.toFile()).redirectErrorStream(true);
    Process p = standIns(pb).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(600, TimeUnit.SECONDS), "did not finish");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("generated: \\[([0-9, ]*)\\]").matcher(log);
    assertTrue(m.find(), log);
    assertEquals(want.subList(0, 8).toString(), "[" + m.group(1) + "]", log);
  }

  /** The example decoders by both paths, and the zoo's decoder families on both machines. */
  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> decoders() {
    List<org.junit.jupiter.params.provider.Arguments> a = new java.util.ArrayList<>(List.of(
        org.junit.jupiter.params.provider.Arguments.of("tiny-llama", "wse2", "commands.sh"),
        org.junit.jupiter.params.provider.Arguments.of("tiny-gpt2", "wse3", "appliance.sh")));
    for (String m : List.of("falcon", "gemma", "gpt-neox", "gpt2", "gptj", "llama", "llama-tied", "mistral", "opt",
        "phi3", "qwen2", "qwen2-fp16", "qwen3", "stablelm")) {
      for (String machine : List.of("wse2", "wse3")) {
        a.add(org.junit.jupiter.params.provider.Arguments.of(m, machine, "commands.sh"));
      }
    }
    return a.stream();
  }

  /** check-csl holds a meshc project's PE programs to the SDK's rules by loading them in the simulator. */
  @Test
  void checkCslLoadsEveryPeProgramInTheSimulator() throws Exception {
    Path golden = BIN.getParent().getParent().resolve("src/test/resources/golden/meshgemv-p4-wse3");
    try (java.util.stream.Stream<Path> files = Files.list(golden)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, Main.execute(new String[] {"check-csl", dir.toString()}, new PrintStream(out), new PrintStream(err)),
        err.toString(StandardCharsets.UTF_8));
    // the output pointer made a var: the layout still exports it read-only
    Path pe = dir.resolve("meshgemv.csl");
    String src = Files.readString(pe);
    assertTrue(src.contains("const y_ptr"), "the golden project exports y through a const pointer");
    Files.writeString(pe, src.replace("const y_ptr", "var y_ptr"));
    err.reset();
    assertEquals(2, Main.execute(new String[] {"check-csl", dir.toString()}, new PrintStream(out), new PrintStream(err)));
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.matches("(?s).*meshgemv\\.csl:\\d+:\\d+: 'y' is declared var but @export_name at .*layout\\.csl:\\d+:\\d+ "
        + "gives mutability false.*"), e);
  }
}
