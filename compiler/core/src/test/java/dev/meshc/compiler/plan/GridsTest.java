package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.MeshcException;
import org.junit.jupiter.api.Test;

/** {@code --grid}'s forms: one side, or a side per phase. */
class GridsTest {
  @Test
  void oneSideOrOnePerPhase() {
    assertEquals(new Grids(420, 420), Grids.parse("420"));
    assertEquals(new Grids(660, 360), Grids.parse("prefill:660,decode:360"));
    assertEquals(new Grids(660, 360), Grids.parse(" decode:360 , prefill:660 "));
    assertEquals(new Grids(0, 375), Grids.parse("decode:375"));
    assertEquals(375, Grids.parse("decode:375").of(Workload.Phase.DECODE));
    assertEquals(0, Grids.parse("decode:375").of(Workload.Phase.PREFILL));
    assertEquals("prefill:660,decode:360", Grids.parse("prefill:660,decode:360").toString());
    for (String bad : new String[] {"", "x", "-3", "prefill:", "prefill:0", "decode:4:5", "encode:4", "prefill:4;decode:3"}) {
      MeshcException e = assertThrows(MeshcException.class, () -> Grids.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("--grid "), e.getMessage());
    }
  }
}
