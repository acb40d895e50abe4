package dev.meshc.cli;

import static dev.meshc.cli.CliTest.meshc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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
    assertTrue(cannon.err().contains("writes meshgemm and meshgemv projects, not cannon"), cannon.err());
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
  @org.junit.jupiter.params.provider.ValueSource(strings = {"tiny-llama", "tiny-gpt2"})
  void decoderProjectMatchesGolden(String name) throws Exception {
    Path out = Path.of("target", "csl-golden", name);
    String[] args = {"compile", CliTest.model(name + ".onnx"), "--input", "input_ids=1x8", "--phase", "decode",
        "--max-context", "64", "--grid", "8", "--emit", "csl", "-o", out.toString()};
    CliTest.Run r = meshc(args);
    assertEquals(0, r.code(), r.err());
    CliTest.Run c = meshc("check-csl", out.toString(), "--json");
    assertEquals(0, c.code(), c.err());
    assertEquals(64, c.json().get("pes").getAsInt());
    java.util.Map<String, String> first = read(out);
    assertEquals(0, meshc(args).code());
    assertEquals(first, read(out), "a second compile wrote other bytes");
    Path golden = Path.of("src", "test", "resources", "golden", "decode-" + name + "-wse2");
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

  @Test
  void decodeProjectsAreRefusedForWse3AndPrefillOnlyPlans() throws Exception {
    CliTest.Run wse3 = meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--phase",
        "decode", "--machine", "wse3", "--grid", "8", "--emit", "csl", "-o", dir.resolve("a").toString());
    assertEquals(2, wse3.code());
    assertTrue(wse3.err().contains("decode projects are written for wse2 today"), wse3.err());
    assertTrue(Files.notExists(dir.resolve("a")));
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
