package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The KV cache on the mesh: after any number of steps, the shift kernels have carried every
 * token's entry to the row the shift-based policy put it on, intact, in a slot of its own; moves
 * cost cycles on the runtime, and a step without moves costs none.
 */
class MeshKvCacheTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  @Property(tries = 60, seed = "9090")
  void entriesLieWhereThePolicyPutsThem(@ForAll @IntRange(min = 1, max = 9) int rows,
      @ForAll @IntRange(min = 1, max = 4) int width, @ForAll @IntRange(min = 1, max = 6) int slots,
      @ForAll @IntRange(min = 1, max = 7) int entry) {
    MeshKvCache c = new MeshKvCache(width, rows, slots, entry);
    for (int t = 0; t < rows * slots; t++) {
      double before = c.cycles();
      long shifts = c.policy().shifts();
      c.append(entryOf(t, entry), WSE2);
      assertEquals(c.policy().shifts() > shifts, c.cycles() > before, "cycles when and only when entries move");
      List<List<Integer>> placed = c.policy().rows();
      for (int y = 0; y < rows; y++) {
        Set<Integer> here = new TreeSet<>();
        for (int s = 0; s < slots; s++) {
          int tok = c.token(y, s);
          if (tok >= 0) {
            assertTrue(here.add(tok), "token " + tok + " twice on row " + y);
            float[] want = entryOf(tok, entry);
            for (int i = 0; i < entry; i++) {
              assertEquals(want[i], c.value(y, s, i), 0.0, "token " + tok + " value " + i + " on row " + y);
            }
          }
        }
        assertEquals(new TreeSet<>(placed.get(y)), here, "row " + y + " after token " + t);
      }
      assertTrue(c.extent() <= slots);
    }
  }

  @org.junit.jupiter.api.Test
  void aCacheTooBigToSimulateIsRefusedInOneLine() {
    dev.meshc.ir.MeshcException e = org.junit.jupiter.api.Assertions.assertThrows(dev.meshc.ir.MeshcException.class,
        () -> new MeshKvCache(750, 750, 5462, 2048));
    assertTrue(e.getMessage().contains("--max-context") && !e.getMessage().contains("\n"), e.getMessage());
  }

  private static float[] entryOf(int t, int n) {
    float[] e = new float[n];
    for (int i = 0; i < n; i++) {
      e[i] = Fp16.round(t + i / 8f);
    }
    return e;
  }
}
