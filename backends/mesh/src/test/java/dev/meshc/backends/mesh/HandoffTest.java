package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    assertEquals(hops + lines - 1, r.maxHopsPerTransfer(), "hop figure: to the far end of B's row");
  }

  /**
   * Between two regions of side P as they lie on a wafer, B beside A or clear of its rows and
   * columns in any direction: every line runs on the fabric on one colour without two lines
   * sharing a router, B's every PE of row k holds A's row k, and the cycles are the planner's
   * figure for the corners' distance (α per hop plus the per-grid rest).
   */
  @Property(tries = 80, seed = "16")
  void betweenRegionsAsTheyLie(@ForAll @IntRange(min = 1, max = 7) int p, @ForAll @IntRange(min = 1, max = 40) int values,
      @ForAll @IntRange(min = 0, max = 7) int where, @ForAll @IntRange(min = 0, max = 5) int gapX,
      @ForAll @IntRange(min = 0, max = 5) int gapY) {
    int dx = (where % 2 == 0 ? 1 : -1) * (p + gapX);
    int dy = where < 2 ? 0 : (where < 5 ? 1 : -1) * (p + gapY);
    int ax = 20;
    int ay = 20;
    Handoff t = Handoff.between(ax, ay, ax + dx, ay + dy, p, (long) values * p, 0);
    assertTrue(t.onFabric());
    RouteCheck.verify(t, WSE2);
    float[] a = new float[p * values];
    for (int i = 0; i < a.length; i++) {
      a[i] = dev.meshc.ir.Fp16.round((i % 89) * 0.5f - 11);
    }
    RunResult r = MeshRuntime.functional(t, WSE2, Map.of("A", a));
    assertArrayEquals(a, r.c(), "every line arrives as sent");
    assertEquals(t.estimate(WSE2).cycles(), r.cycles(), 1e-9, "cycles: the template's figure");
    assertEquals(Handoff.hops(ax, ay, ax + dx, ay + dy) + p - 1, r.maxHopsPerTransfer());
    Handoff line = Handoff.of(Handoff.hops(ax, ay, ax + dx, ay + dy), p, (long) values * p, 0);
    assertEquals(line.estimate(WSE2).cycles(), t.estimate(WSE2).cycles(), 1e-9, "the planner's per-hop figure");
  }

  /** Regions whose columns overlap (one below the other) are not on the fabric: the abstract line stands in. */
  @Property(tries = 10, seed = "16")
  void stackedRegionsAreNotOnTheFabric(@ForAll @IntRange(min = 2, max = 6) int p) {
    assertFalse(Handoff.between(0, 0, 1, p, p, 64, 0).onFabric());
    assertFalse(Handoff.between(0, 0, 0, 1, p, 64, 0).onFabric());
  }
}
