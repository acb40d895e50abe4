package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * meshc check-csl passes what meshc writes and names, with file and line, each fault planted in
 * it: a deleted route, a 25th colour, a reserved colour, an oversized array, a route off the mesh,
 * a name declared twice, a syntax error.
 */
class CheckerFaultTest {
  @TempDir
  Path dir;

  private Path project() throws Exception {
    CslProject p = CslProject.meshGemv(new KernelTemplate.Problem(1, 64, 48), 8, 8, 0, MachineSpec.load("wse2"));
    return GemvCslTest.write(p, dir);
  }

  /** Replaces the one line of {@code file} that contains {@code marker}; returns its 1-based number. */
  private static int plant(Path file, String marker, String replacement) throws Exception {
    List<String> lines = new java.util.ArrayList<>(Files.readAllLines(file));
    int at = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(marker)) {
        assertEquals(-1, at, "marker '" + marker + "' is on two lines");
        at = i;
      }
    }
    assertTrue(at >= 0, "no line has '" + marker + "'");
    if (replacement == null) {
      lines.remove(at);
    } else {
      lines.set(at, lines.get(at).replace(marker, replacement));
    }
    Files.write(file, lines);
    return at + 1;
  }

  private static int lineOf(Path file, String marker) throws Exception {
    List<String> lines = Files.readAllLines(file);
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(marker)) {
        return i + 1;
      }
    }
    throw new AssertionError("no line has " + marker);
  }

  private static List<String> findings(Path dir) {
    return CslCheck.check(List.of(dir), false).findings().stream().map(Object::toString).toList();
  }

  private static void assertNamed(List<String> findings, String fileLine, String words) {
    assertTrue(findings.stream().anyMatch(f -> f.contains(fileLine + ":") && f.contains(words)),
        "no finding at " + fileLine + " saying '" + words + "' in " + findings);
  }

  @Test
  void cleanProjectPasses() throws Exception {
    assertEquals(List.of(), findings(project()));
  }

  @Test
  void deletedRoute() throws Exception {
    Path d = project();
    Path layout = d.resolve("layout.csl");
    plant(layout, ".rx = .{ SOUTH }, .tx = .{ RAMP, NORTH }", null); // the broadcast's upward relay
    int receiver = lineOf(layout, "c_b, .{ .routes = .{ .rx = .{ SOUTH }, .tx = .{ RAMP } } }");
    List<String> f = findings(d);
    assertNamed(f, d.resolve("layout.csl") + ":" + receiver, "takes colour 4 from SOUTH, but nothing sends it");
    assertNamed(f, d.resolve("layout.csl").toString(), "the layout does not configure it");
  }

  @Test
  void colourTwentyFive() throws Exception {
    Path d = project();
    int line = plant(d.resolve("layout.csl"), "@get_color(4);", "@get_color(24);");
    assertNamed(findings(d), d.resolve("layout.csl") + ":" + line, "colour 24 is not routable on wse2 (IDs 0–23)");
  }

  @Test
  void reservedColour() throws Exception {
    Path d = project();
    int line = plant(d.resolve("layout.csl"), "@get_color(0);", "@get_color(21);");
    assertNamed(findings(d), d.resolve("layout.csl") + ":" + line, "colour 21 is reserved on wse2");
  }

  @Test
  void oversizedArray() throws Exception {
    Path d = project();
    int line = plant(d.resolve("meshgemv.csl"), "var w: [Kt * Nt]f16", "var w: [Kt * Nt * 1000]f16");
    assertNamed(findings(d), d.resolve("meshgemv.csl") + ":" + line, "more than the 49,152 a PE has");
  }

  @Test
  void routeOffTheMesh() throws Exception {
    Path d = project();
    Path layout = d.resolve("layout.csl");
    int line = plant(layout, "c_b, .{ .routes = .{ .rx = .{ SOUTH }, .tx = .{ RAMP } } }",
        "c_b, .{ .routes = .{ .rx = .{ SOUTH }, .tx = .{ RAMP, NORTH } } }");
    assertNamed(findings(d), layout + ":" + line, "colour 4 leaves toward NORTH, off the 8x8 mesh");
  }

  @Test
  void nameDeclaredTwice() throws Exception {
    Path d = project();
    int first = plant(d.resolve("meshgemv.csl"), "const b_in_q = @get_input_queue(6);",
        "const b_in_q = @get_input_queue(6); const b_recv = 1;");
    int second = lineOf(d.resolve("meshgemv.csl"), "const b_recv = @get_dsd");
    assertNamed(findings(d), d.resolve("meshgemv.csl") + ":" + second, "'b_recv' is declared twice in this file "
        + "(first at line " + first + ")");
  }

  @Test
  void syntaxErrorHasFileLineAndColumn() throws Exception {
    Path d = project();
    int line = plant(d.resolve("meshgemv.csl"), "fn gemv() void {", "fn gemv() void { var = ;");
    MeshcException e = assertThrows(MeshcException.class, () -> CslCheck.check(List.of(d), true));
    assertTrue(e.getMessage().startsWith(d.resolve("meshgemv.csl") + ":" + line + ":22:"), e.getMessage());
  }

  /** A fuzzing lesson: unbounded comptime recursion is a one-line refusal, not a crash. */
  @Test
  void unboundedRecursionIsRefused() throws Exception {
    Path d = project();
    plant(d.resolve("layout.csl"), "fn group_end(q: i16, n: i16, g: i16) i16 {",
        "fn forever(k: i16) i16 { return forever(k + 1); } fn group_end(q: i16, n: i16, g: i16) i16 {");
    plant(d.resolve("layout.csl"), "@set_rectangle(W, H);", "@set_rectangle(W, H); const boom: i16 = forever(0);");
    MeshcException e = assertThrows(MeshcException.class, () -> CslCheck.check(List.of(d), false));
    assertTrue(e.getMessage().contains("nest too deeply"), e.getMessage());
  }
}
