package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The projects meshc writes, byte for byte, against committed copies. After a deliberate change,
 * regenerate them with
 * {@code mvn -B -q -pl backends/csl -am test -Dtest=GoldenTest -Dsurefire.failIfNoSpecifiedTests=false -Dmeshc.golden.update=true}
 * and review the diff.
 */
class GoldenTest {
  static final Path GOLDEN = Path.of("src", "test", "resources", "golden");

  static void assertGolden(String name, CslProject p) throws Exception {
    Path dir = GOLDEN.resolve(name);
    if (Boolean.getBoolean("meshc.golden.update")) {
      if (Files.exists(dir)) {
        try (Stream<Path> old = Files.list(dir)) {
          for (Path f : old.toList()) {
            Files.delete(f);
          }
        }
      }
      Files.createDirectories(dir);
      p.writeTo(dir);
    }
    Map<String, String> want = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        want.put(f.getFileName().toString(), Files.readString(f, StandardCharsets.UTF_8));
      }
    }
    assertEquals(want.keySet(), p.files().keySet(), name + ": the project's files");
    for (String f : want.keySet()) {
      assertEquals(want.get(f), p.files().get(f), name + "/" + f + " differs from the golden copy");
    }
  }

  @ParameterizedTest(name = "meshgemv P={0} {1}")
  @CsvSource({"4,wse2", "8,wse2", "4,wse3", "8,wse3"})
  void meshGemv(int p, String machine) throws Exception {
    CslProject a = CslProject.meshGemv(new KernelTemplate.Problem(1, 8L * p, 6L * p), p, p, 0,
        MachineSpec.load(machine));
    CslProject b = CslProject.meshGemv(new KernelTemplate.Problem(1, 8L * p, 6L * p), p, p, 0,
        MachineSpec.load(machine));
    assertEquals(a, b, "two emissions differ");
    assertGolden("meshgemv-p" + p + "-" + machine, a);
  }

  @ParameterizedTest(name = "meshgemm P={0} {1}")
  @CsvSource({"4,wse2", "8,wse2", "4,wse3", "8,wse3"})
  void meshGemm(int p, String machine) throws Exception {
    CslProject a = CslProject.meshGemm(new KernelTemplate.Problem(6L * p, 8L * p, 4L * p), p, MachineSpec.load(machine));
    assertEquals(a, CslProject.meshGemm(new KernelTemplate.Problem(6L * p, 8L * p, 4L * p), p,
        MachineSpec.load(machine)), "two emissions differ");
    assertGolden("meshgemm-p" + p + "-" + machine, a);
  }

  /** Tiles of 8 columns of K, and of 130: past a DSD stride's i8, which a k-major B tile never needs. */
  @ParameterizedTest(name = "gemmt P={0} {1} Kt={2}")
  @CsvSource({"4,wse2,8", "8,wse2,8", "4,wse3,8", "8,wse3,8", "4,wse2,130", "8,wse3,130"})
  void distGemmT(int p, String machine, int kt) throws Exception {
    KernelTemplate.Problem problem = new KernelTemplate.Problem(6L * p, (long) kt * p, 4L * p);
    CslProject a = CslProject.distGemmT(problem, p, MachineSpec.load(machine));
    assertEquals(a, CslProject.distGemmT(problem, p, MachineSpec.load(machine)), "two emissions differ");
    assertGolden("gemmt-p" + p + "-" + machine + (kt == 8 ? "" : "-k" + kt), a);
  }
}
