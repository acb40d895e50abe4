package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.kernel.Ring;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * What the templates promise, over random grid sizes and problems: MeshGEMM's transfers stay
 * within two hops while Cannon's wrap-around crosses P − 1; colours fit the budget and avoid the
 * reserved ones; every colour sent has somewhere to go; the memory, colour and hop figures the
 * planner reads equal what the runtime observes; and the timing shortcuts (one column, repeated
 * rounds as time shifts, rounds split over threads) change no figure.
 */
class TemplatePropertiesTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Provide
  Arbitrary<String> algorithms() {
    return Arbitraries.of(List.of("meshgemm", "cannon", "summa", "gemmt", "meshgemv", "pipeline", "ring"));
  }

  private static KernelTemplate template(String alg, int p, int m, int k, int n) {
    return Kernels.create(alg, new KernelTemplate.Problem(Kernels.GEMV.contains(alg) ? 1 : m, k, n), p, p,
        m % 2 == 0, 0);
  }

  @Property(tries = 120, seed = "31337")
  void figuresEqualWhatTheRuntimeSees(@ForAll("algorithms") String alg, @ForAll @IntRange(min = 1, max = 40) int p,
      @ForAll @IntRange(min = 1, max = 90) int m, @ForAll @IntRange(min = 1, max = 90) int k,
      @ForAll @IntRange(min = 1, max = 90) int n) {
    KernelTemplate t = template(alg, p, m, k, n);
    RouteCheck.verify(t, WSE2);
    RunResult r = MeshRuntime.timing(t, WSE2, false, false);
    assertEquals(t.maxBytesPerPe(), r.maxPeBytes(), "memory figure");
    assertEquals(t.maxColorsPerPe(), r.maxColorsPerPe(), "colour figure");
    assertEquals(t.maxHopsPerTransfer(), r.maxHopsPerTransfer(), "hop figure");
    assertTrue(r.maxColorsPerPe() <= WSE2.colorBudget());
    for (int c = 0; c < t.colors(); c++) {
      assertFalse(WSE2.reservedColors().contains(WSE2.physicalColor(c)));
    }
    if (t.columnsIndependent()) { // one column stands for all in timing-only runs
      assertEquals(r.cycles(), MeshRuntime.timing(t, WSE2, true, false).cycles());
    }
    // repeated rounds applied as time shifts give what simulating them gives
    RunResult skipped = MeshRuntime.timing(t, WSE2, false, true);
    assertEquals(r.cycles(), skipped.cycles(), 1e-9 * r.cycles(), "cycles with repeats skipped");
    assertEquals(r.computeCycles(), skipped.computeCycles(), 1e-9 * r.computeCycles(), "compute cycles");
    assertEquals(r.transfers(), skipped.transfers(), "transfers");
    // rounds split over threads, where their order cannot matter, give what one thread gives
    for (int threads : new int[] {2, 3}) {
      MeshRuntime.Split split = MeshRuntime.timing(t, WSE2, false, true, threads);
      assertEquals(skipped, split.result(), threads + " threads");
      // chains that never share a link; Cannon's rings, in phases long enough to be checked
      if (p > 1 && (alg.equals("summa") || alg.equals("gemmt")) || p >= 10 && alg.equals("cannon")) {
        assertTrue(split.crewRounds() > 0, alg + " ran no round on " + threads + " threads");
      }
    }
  }

  @Property(tries = 60, seed = "2025")
  void meshGemmStaysWithinTwoHopsAndCannonCrossesTheGrid(@ForAll @IntRange(min = 2, max = 60) int p) {
    RunResult mesh = MeshRuntime.timing(template("meshgemm", p, 2 * p, p, p), WSE2);
    RunResult cannon = MeshRuntime.timing(template("cannon", p, 2 * p, p, p), WSE2);
    assertTrue(mesh.maxHopsPerTransfer() <= 2, "MeshGEMM took " + mesh.maxHopsPerTransfer() + " hops");
    assertEquals(p - 1, cannon.maxHopsPerTransfer());
  }

  @Property(tries = 100, seed = "7")
  void theInterleavedRingIsOneCycleOfShortEdges(@ForAll @IntRange(min = 1, max = 200) int p) {
    boolean[] seen = new boolean[p];
    int i = 0;
    for (int step = 0; step < p; step++) {
      assertFalse(seen[i], "ring revisits " + i);
      seen[i] = true;
      int next = Ring.next(i, p);
      assertTrue(Math.abs(next - i) <= 2, i + " -> " + next);
      assertEquals(i, Ring.prev(next, p));
      i = next;
    }
    assertEquals(0, i, "the ring closes");
  }
}
