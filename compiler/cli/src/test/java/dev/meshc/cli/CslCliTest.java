package dev.meshc.cli;

import static dev.meshc.cli.CliTest.meshc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** meshc kernel --emit-csl writes SDK projects that meshc check-csl passes; a broken one fails with file:line. */
class CslCliTest {
  @TempDir
  Path dir;

  @Test
  void emitThenCheck() throws Exception {
    Path gemv = dir.resolve("gemv");
    CliTest.Run e = meshc("kernel", "gemv", "--grid", "6x5", "--shape", "1x100x70", "--machine", "wse3", "--emit-csl",
        gemv.toString(), "--json");
    assertEquals(0, e.code(), e.err());
    assertEquals("wse3", e.json().get("machine").getAsString());
    assertTrue(Files.readString(gemv.resolve("commands.sh")).contains("--arch=wse3 --fabric-dims=13,7"));
    CliTest.Run c = meshc("check-csl", gemv.toString(), "--json");
    assertEquals(0, c.code(), c.err());
    assertTrue(c.json().get("ok").getAsBoolean());
    assertEquals(30, c.json().get("pes").getAsInt());

    Path gemm = dir.resolve("gemm");
    assertEquals(0, meshc("kernel", "gemm", "--grid", "5", "--shape", "40x50x30", "--emit-csl", gemm.toString()).code());
    CliTest.Run ok = meshc("check-csl", gemm.toString());
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().startsWith("ok: 2 files parsed, 1 project checked (25 PEs, at most "), ok.out());

    Path gemmt = dir.resolve("gemmt");
    assertEquals(0, meshc("kernel", "gemm", "--algorithm", "gemmt", "--grid", "5", "--shape", "40x50x30", "--machine",
        "wse3", "--emit-csl", gemmt.toString()).code());
    assertTrue(Files.readString(gemmt.resolve("meshc-project.properties")).contains("algorithm=gemmt"));
    assertEquals(0, meshc("check-csl", gemmt.toString()).code());

    Path layout = gemm.resolve("layout.csl");
    Files.writeString(layout, Files.readString(layout).replace("@get_color(4)", "@get_color(23)"));
    CliTest.Run bad = meshc("check-csl", gemm.toString());
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains(layout + ":") && bad.err().contains("colour 23 is reserved on wse2"), bad.err());
    assertTrue(bad.err().trim().endsWith("in the CSL"), bad.err());
    assertEquals(0, meshc("check-csl", "--parse-only", gemm.toString()).code());
  }

  @Test
  void syntaxErrorsAndRefusals() throws Exception {
    Path f = dir.resolve("bad.csl");
    Files.writeString(f, "const x: i16 = 1;\nfn f() void {\n  x = ;\n}\n");
    CliTest.Run r = meshc("check-csl", f.toString());
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("meshc: error: " + f + ":3:7: "), r.err());
    assertEquals(1, r.err().trim().lines().count(), r.err());
    CliTest.Run cannon = meshc("kernel", "gemm", "--algorithm", "cannon", "--grid", "4", "--shape", "8x8x8",
        "--emit-csl", dir.resolve("c").toString());
    assertEquals(2, cannon.code());
    assertTrue(cannon.err().contains("writes meshgemm, gemmt (dist-GEMM-T) and meshgemv projects, not cannon"),
        cannon.err());
    assertTrue(Files.notExists(dir.resolve("c")));
    assertEquals(2, meshc("check-csl", dir.resolve("nothing").toString()).code());
  }

  /**
   * A compiled decoder fixture's decode plan as a project, byte for byte against the committed copy
   * (regenerate after a deliberate change with
   * {@code mvn -B -q -pl compiler/cli -am test -Dtest=CslCliTest -Dsurefire.failIfNoSpecifiedTests=false -Dmeshc.golden.update=true}),
   * checked clean; the same command twice writes the same bytes. The output folder sits at a fixed
   * place in the build tree, so the model's relative path in weights.json is the same on every machine.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"tiny-llama, wse2", "tiny-gpt2, wse2", "tiny-llama, wse3",
      "tiny-gpt2, wse3"})
  void decoderProjectMatchesGolden(String name, String machine) throws Exception {
    Path out = Path.of("target", "csl-golden", name + "-" + machine);
    String[] args = {"compile", CliTest.model(name + ".onnx"), "--input", "input_ids=1x8", "--phase", "decode",
        "--max-context", "64", "--grid", "8", "--machine", machine, "--emit", "csl", "-o", out.toString()};
    CliTest.Run r = meshc(args);
    assertEquals(0, r.code(), r.err());
    CliTest.Run c = meshc("check-csl", out.toString(), "--json");
    assertEquals(0, c.code(), c.err());
    assertEquals(64, c.json().get("pes").getAsInt());
    java.util.Map<String, String> first = read(out);
    assertEquals(0, meshc(args).code());
    assertEquals(first, read(out), "a second compile wrote other bytes");
    Path golden = Path.of("src", "test", "resources", "golden", "decode-" + name + "-" + machine);
    if (Boolean.getBoolean("meshc.golden.update")) {
      Files.createDirectories(golden);
      try (var old = Files.list(golden)) {
        for (Path f : old.toList()) {
          Files.delete(f);
        }
      }
      for (var e : first.entrySet()) {
        Files.writeString(golden.resolve(e.getKey()), e.getValue());
      }
    }
    assertEquals(read(golden), first, name + " decode project differs from " + golden);
  }

  /**
   * A WSE-3 decode project's routes live in its three run-time configurations: the checker holds
   * each to the template, and names a route deleted from one, a configuration no PE gets, and one
   * the template does not have.
   */
  @Test
  void wse3RunTimeConfigurationsAreChecked() throws Exception {
    Path out = dir.resolve("w3");
    assertEquals(0, meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--phase", "decode",
        "--max-context", "64", "--grid", "8", "--machine", "wse3", "--emit", "csl", "-q", "-o", out.toString()).code());
    Path layout = out.resolve("layout.csl");
    String clean = Files.readString(layout);
    assertTrue(!clean.contains("@set_color_config") && clean.contains(".routes_row = row_config(row_class_8[px])"));
    assertTrue(Files.readString(out.resolve("decode.csl")).contains("reset_routes(c_p1_0, routes_row.c_p1_0);"));

    // the row tree's broadcast no longer forwarded onward from the PEs before the root
    String relay = ".c_b = .{ .rx = EAST, .tx = [2]direction{ WEST, RAMP } }";
    int at = clean.indexOf(relay, clean.indexOf("fn row_config"));
    assertTrue(at > 0, "no broadcast relay in row_config");
    Files.writeString(layout, clean.substring(0, at) + ".c_b = NONE" + clean.substring(at + relay.length()));
    CliTest.Run bad = meshc("check-csl", out.toString());
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("in run-time configuration 'row': colour 4 leaves toward WEST, but the PE there "
        + "does not route that colour"), bad.err());
    assertTrue(bad.err().contains("in run-time configuration 'row': the kernel template routes colour 4 [EAST]→[WEST, "
        + "RAMP], the layout does not configure it"), bad.err());

    // the shift configuration never passed to the PEs; a configuration the template does not know
    Files.writeString(layout, clean.replace(".routes_shift = ", ".routes_spare = "));
    CliTest.Run missing = meshc("check-csl", out.toString());
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains("the kernel template switches to configuration 'shift' at run time, but no PE "
        + "gets a param routes_shift"), missing.err());
    assertTrue(missing.err().contains("run-time configuration 'spare' is not in the kernel template"), missing.err());
  }

  /**
   * A decode region's PEs share their programs: a PE reads where it sits at run time and its part
   * in the K-trees and the KV shift from tables meshc computed, so the count of distinct (file,
   * params) programs does not grow with the grid (coordinates as params would make it 9 and 64).
   */
  @Test
  void decodeProgramsDoNotGrowWithTheGrid() throws Exception {
    int[] grids = {3, 8};
    int[] programs = new int[grids.length];
    for (int i = 0; i < grids.length; i++) {
      Path out = dir.resolve("grid" + grids[i]);
      assertEquals(0, meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--phase",
          "decode", "--max-context", "64", "--grid", Integer.toString(grids[i]), "--emit", "csl", "-q", "-o",
          out.toString()).code());
      CliTest.Run c = meshc("check-csl", out.toString(), "--json");
      assertEquals(0, c.code(), c.err());
      programs[i] = c.json().getAsJsonArray("distinct_programs").get(0).getAsInt();
    }
    assertEquals(programs[0], programs[1], "distinct programs at grid 3 and grid 8");
    assertTrue(programs[1] <= 2, programs[1] + " distinct programs at grid 8");
  }

  /**
   * check-csl sets each decode region's memory per PE beside the plan's, and they are equal: the
   * planner sizes decode regions by the storage the decode program declares ({@code DecodeMemory}),
   * which check-csl reads off the project's decode.csl. tiny-llama on 2×2 regions: one layer, one
   * layer, the head alone (which holds no layer's weights or cache, only one-value placeholders); and
   * the input and output queues its program names are the plan's (DecodeFabric.Queues). Colours: the most one PE of a region routes equals the plan's count
   * (the region's fabric and the hand-offs through it, by one rule: 6, 7 and 6 here on WSE-2, the
   * middle region passing two hand-offs), on WSE-2 and WSE-3.
   */
  @Test
  void checkCslSetsEachRegionsMemoryBesideThePlans() throws Exception {
    for (String machine : List.of("wse2", "wse3")) {
      Path out = dir.resolve("regions-" + machine);
      assertEquals(0, meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--phase",
          "decode", "--max-context", "32", "--grid", "2", "--machine", machine, "--emit", "csl", "-q", "-o",
          out.toString()).code());
      CliTest.Run c = meshc("check-csl", out.toString(), "--json");
      assertEquals(0, c.code(), c.err());
      com.google.gson.JsonArray regions = c.json().getAsJsonArray("regions");
      assertEquals(3, regions.size(), regions.toString());
      int[] colours = new int[3];
      for (int i = 0; i < 3; i++) {
        com.google.gson.JsonObject e = regions.get(i).getAsJsonObject();
        long csl = e.get("csl_bytes_per_pe").getAsLong();
        long plan = e.get("plan_bytes_per_pe").getAsLong();
        assertTrue(plan > 0, regions.toString());
        assertEquals(plan, csl, machine + ": " + regions);
        for (String q : List.of("input_queues", "output_queues")) { // the program's queues are the plan's
          assertTrue(e.get("plan_" + q).getAsInt() >= 5, machine + ": " + regions);
          assertEquals(e.get("plan_" + q).getAsInt(), e.get("csl_" + q).getAsInt(), machine + ": " + regions);
        }
        colours[i] = e.get("csl_colors_per_pe").getAsInt();
        assertEquals(e.get("plan_colors_per_pe").getAsInt(), colours[i], machine + ": " + regions);
      }
      assertTrue(colours[1] > colours[0] && colours[1] > colours[2], machine + ": the middle region passes two "
          + "hand-offs: " + regions);
      assertTrue(regions.get(2).getAsJsonObject().get("csl_bytes_per_pe").getAsLong()
          < regions.get(0).getAsJsonObject().get("csl_bytes_per_pe").getAsLong(), regions.toString());
    }
  }

  /** A colour whose hops go round four PEs is named at the first of them (check-csl searches each colour's hops). */
  @Test
  void aCircleOfHopsIsFound() throws Exception {
    Path gemv = dir.resolve("circle");
    assertEquals(0, meshc("kernel", "gemv", "--grid", "4", "--shape", "1x32x32", "--emit-csl", gemv.toString()).code());
    Path layout = gemv.resolve("layout.csl");
    String text = Files.readString(layout);
    String circle = """
          @set_color_config(0, 0, @get_color(17), .{ .routes = .{ .rx = .{ SOUTH }, .tx = .{ EAST } } });
          @set_color_config(1, 0, @get_color(17), .{ .routes = .{ .rx = .{ WEST }, .tx = .{ SOUTH } } });
          @set_color_config(1, 1, @get_color(17), .{ .routes = .{ .rx = .{ NORTH }, .tx = .{ WEST } } });
          @set_color_config(0, 1, @get_color(17), .{ .routes = .{ .rx = .{ EAST }, .tx = .{ NORTH } } });
        """;
    int end = text.lastIndexOf('}');
    Files.writeString(layout, text.substring(0, end) + circle + text.substring(end));
    CliTest.Run bad = meshc("check-csl", gemv.toString());
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("PE (0, 0): colour 17 goes round in a circle through this PE"), bad.err());
  }

  @Test
  void prefillOnlyPlansHaveNoCslProject() throws Exception {
    CliTest.Run prefill = meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--phase",
        "prefill", "--grid", "8", "--emit", "csl", "-o", dir.resolve("b").toString());
    assertEquals(2, prefill.code());
    assertTrue(prefill.err().contains("--emit csl writes the decode plan"), prefill.err());
  }

  private static java.util.Map<String, String> read(Path dir) throws Exception {
    java.util.Map<String, String> m = new java.util.TreeMap<>();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String n = f.getFileName().toString();
        if (!n.equals("report.txt") && !n.equals("summary.json") && !n.startsWith("wafer-")) {
          m.put(n, Files.readString(f));
        }
      }
    }
    return m;
  }
}
