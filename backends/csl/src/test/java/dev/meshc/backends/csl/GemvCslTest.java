package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GemvCslTest {
  @TempDir
  Path dir;

  static Path write(CslProject p, Path dir) throws Exception {
    p.writeTo(dir);
    return dir;
  }

  @ParameterizedTest
  @CsvSource({"4,4,wse2", "8,8,wse2", "4,4,wse3", "8,8,wse3", "3,7,wse2", "16,16,wse2", "1,1,wse2"})
  void emittedProjectChecksClean(int w, int h, String machine) throws Exception {
    CslProject p = CslProject.meshGemv(new KernelTemplate.Problem(1, 64, 48), w, h, 0, MachineSpec.load(machine));
    write(p, dir);
    CslCheck.Report r = CslCheck.check(List.of(dir), false);
    assertEquals(List.of(), r.findings());
    assertEquals(1, r.projects());
    assertEquals(w * h, r.pes());
  }

  @ParameterizedTest
  @CsvSource({"1,wse2", "2,wse2", "3,wse2", "4,wse3", "7,wse2", "8,wse3", "13,wse2", "16,wse2"})
  void meshGemmProjectChecksClean(int p, String machine) throws Exception {
    CslProject project = CslProject.meshGemm(new KernelTemplate.Problem(40, 56, 24), p, MachineSpec.load(machine));
    write(project, dir);
    CslCheck.Report r = CslCheck.check(List.of(dir), false);
    assertEquals(List.of(), r.findings());
    assertEquals(p * p, r.pes());
  }

  @ParameterizedTest
  @CsvSource({"1,wse2", "2,wse3", "3,wse2", "5,wse3", "8,wse2", "13,wse2", "16,wse3"})
  void distGemmTProjectChecksClean(int p, String machine) throws Exception {
    CslProject project = CslProject.distGemmT(new KernelTemplate.Problem(40, 56, 24), p, MachineSpec.load(machine));
    write(project, dir);
    CslCheck.Report r = CslCheck.check(List.of(dir), false);
    assertEquals(List.of(), r.findings());
    assertEquals(p * p, r.pes());
  }
}
