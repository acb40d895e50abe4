package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.machine.MachineSpec;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The region-to-region hand-off on the runtime: every line's values arrive where they were sent,
 * unchanged, and the simulated cycles, memory, colours and hops are the template's figures (what
 * the planner prices a hand-off at).
 */
class HandoffTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Property(tries = 60, seed = "16")
  void theActivationArrivesAtThePlannedCost(@ForAll @IntRange(min = 1, max = 40) int hops,
      @ForAll @IntRange(min = 1, max = 12) int lines, @ForAll @IntRange(min = 1, max = 300) int values) {
    Handoff t = new Handoff(hops, lines, values);
    RouteCheck.verify(t, WSE2);
    float[] a = new float[lines * values];
    for (int i = 0; i < a.length; i++) {
      a[i] = dev.meshc.ir.Fp16.round((i % 97) * 0.25f - 7);
    }
    RunResult r = MeshRuntime.functional(t, WSE2, Map.of("A", a));
    assertArrayEquals(a, r.c(), "the values arrive as sent");
    assertEquals(t.estimate(WSE2).cycles(), r.cycles(), 1e-9, "cycles: the planner's figure");
    assertEquals(t.maxBytesPerPe(), r.maxPeBytes(), "memory figure");
    assertEquals(t.maxColorsPerPe(), r.maxColorsPerPe(), "colour figure");
    assertEquals(hops, r.maxHopsPerTransfer(), "hop figure");
  }
}
