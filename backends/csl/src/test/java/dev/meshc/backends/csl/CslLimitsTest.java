package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** check-csl's limits (csl-bytes, comptime-steps, layout-pes) refuse in one line that names the option; raised, the project checks. */
class CslLimitsTest {
  @TempDir
  Path dir;

  private MeshcException refused(String setting) {
    return assertThrows(MeshcException.class, () -> CslCheck.check(List.of(dir), false,
        Limits.DEFAULTS.with(setting)));
  }

  @Test
  void eachLimitRefusesAndRaisingItAdmits() throws Exception {
    CslProject.meshGemv(new KernelTemplate.Problem(1, 32, 24), 4, 4, 0, MachineSpec.load("wse2")).writeTo(dir);
    Path layout = dir.resolve("layout.csl");
    MeshcException bytes = refused("csl-bytes=100");
    assertTrue(bytes.getMessage().matches(".*: the CSL file's size in bytes \\([0-9,]+\\) is over the limit of 100; "
        + "raise it with --limit csl-bytes=N if the file is meant to be this large"), bytes.getMessage());
    MeshcException steps = refused("comptime-steps=1000");
    assertTrue(steps.getMessage().matches(".*layout\\.csl:\\d+:\\d+: comptime evaluation's step count \\(more than "
        + "1,000\\) is over the limit of 1,000; raise it with --limit comptime-steps=N.*"), steps.getMessage());
    MeshcException pes = refused("layout-pes=15");
    assertEquals(layout + ": @set_rectangle(4, 4)'s PE count (16) is over the limit of 15; raise it with --limit "
        + "layout-pes=N if the file is meant to be this large", pes.getMessage());
    CslCheck.Report r = CslCheck.check(List.of(dir), false, Limits.DEFAULTS.with(List.of("csl-bytes=" + Files.size(
        layout), "comptime-steps=1000000", "layout-pes=16")));
    assertEquals(List.of(), r.findings());
    assertEquals(16, r.pes());
  }

  @Test
  void theDefaultLayoutLimitIsTheEvaluatorsCeiling() {
    assertEquals(Limits.MAX_LAYOUT_PES, Limits.DEFAULTS.layoutPes());
  }
}
