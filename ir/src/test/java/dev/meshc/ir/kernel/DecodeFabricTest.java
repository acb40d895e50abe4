package dev.meshc.ir.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The decode region's router programs, static (WSE-2) and re-routed (WSE-3), for every side up to
 * 40: within each configuration every PE routes a colour at most once, every hop lands on a router
 * that takes the colour from that side, every colour a router takes from a side is sent that way,
 * and the colours stay within the fabric's count (12 static; 5 re-routed, the shift on the
 * phase-1 pair).
 */
class DecodeFabricTest {
  @Test
  void everyConfigurationIsAConsistentRouterProgram() {
    for (int p = 1; p <= 40; p++) {
      DecodeFabric s = new DecodeFabric(p, 0);
      assertEquals(List.of(), s.configurations());
      consistent(p, s::routes, DecodeFabric.COLORS, "static P=" + p);
      DecodeFabric r = new DecodeFabric(p, 0, true);
      assertEquals(List.of(), r.routes(0, 0), "a re-routed region sets no route at load");
      for (String c : r.configurations()) {
        consistent(p, (x, y) -> r.routes(c, x, y), c.equals("shift") ? 2 : KTree.COLORS, c + " P=" + p);
      }
      assertTrue(r.maxColorsPerPe() <= KTree.COLORS);
      colours(p, s);
      colours(p, r);
    }
  }

  /** A PE's colours are those its routes name, at load and in every configuration; the most is the most on any PE. */
  private static void colours(int p, DecodeFabric f) {
    int most = 0;
    for (int x = 0; x < p; x++) {
      for (int y = 0; y < p; y++) {
        long ids = 0;
        for (Route r : f.routes(x, y)) {
          ids |= 1L << r.color();
        }
        for (String c : f.configurations()) {
          for (Route r : f.routes(c, x, y)) {
            ids |= 1L << r.color();
          }
        }
        assertEquals(ids, f.colorsAt(x, y), "P=" + p + " PE (" + x + ", " + y + ")");
        most = Math.max(most, Long.bitCount(ids));
      }
    }
    assertEquals(most, f.maxColorsPerPe(), "P=" + p + (f.rerouted() ? " re-routed" : " static"));
  }

  @Test
  void reroutedTreesAreTheStaticTreesOnOneColourSet() {
    DecodeFabric s = new DecodeFabric(19, 0);
    DecodeFabric r = new DecodeFabric(19, 0, true);
    for (int i = 0; i < 19; i++) {
      assertEquals(s.column().routes(i), r.routes("column", 3, i));
      List<Route> row = new ArrayList<>();
      for (Route x : s.row().routes(i)) {
        row.add(new Route(x.color() - DecodeFabric.X_BASE, x.rx(), x.tx()));
      }
      assertEquals(row, r.routes("row", i, 3));
    }
  }

  private static void consistent(int p, BiFunction<Integer, Integer, List<Route>> routes, int colours, String what) {
    Map<Long, Map<Integer, Route>> at = new HashMap<>();
    for (int x = 0; x < p; x++) {
      for (int y = 0; y < p; y++) {
        Map<Integer, Route> pe = new HashMap<>();
        for (Route r : routes.apply(x, y)) {
          assertTrue(r.color() >= 0 && r.color() < colours, what + ": colour " + r.color());
          if (pe.put(r.color(), r) != null) {
            fail(what + ": PE (" + x + ", " + y + ") routes colour " + r.color() + " twice");
          }
        }
        at.put(key(x, y), pe);
      }
    }
    for (int x = 0; x < p; x++) {
      for (int y = 0; y < p; y++) {
        for (Route r : at.get(key(x, y)).values()) {
          for (Dir d : r.tx()) {
            if (d != Dir.RAMP) {
              Route there = at.getOrDefault(key(x + d.dx(), y + d.dy()), Map.of()).get(r.color());
              assertTrue(there != null && there.rx() == d.opposite(),
                  what + ": PE (" + x + ", " + y + ") sends colour " + r.color() + " " + d + " to nobody");
            }
          }
          if (r.rx() != Dir.RAMP) {
            Route from = at.getOrDefault(key(x + r.rx().dx(), y + r.rx().dy()), Map.of()).get(r.color());
            assertTrue(from != null && from.tx().contains(r.rx().opposite()),
                what + ": PE (" + x + ", " + y + ") takes colour " + r.color() + " from " + r.rx() + ", unsent");
          }
        }
      }
    }
  }

  private static long key(int x, int y) {
    return ((long) x << 32) | (y & 0xffffffffL);
  }

  /**
   * Hand-offs take colours per wafer: two wafers laid out alike (three regions in a row, two
   * hand-offs sharing the middle region) give their lanes the same colours, as the CSL, which
   * lays each wafer on its own, does.
   */
  @Test
  void lanesOfOneWaferDoNotTakeColoursFromAnother() {
    List<int[]> one = List.of(new int[] {0, 0, 0, 0, 4}, new int[] {1, 0, 4, 0, 4}, new int[] {2, 0, 8, 0, 4});
    List<int[]> two = new ArrayList<>(one);
    two.add(new int[] {3, 1, 0, 0, 4});
    two.add(new int[] {4, 1, 4, 0, 4});
    two.add(new int[] {5, 1, 8, 0, 4});
    dev.meshc.ir.machine.MachineSpec m = dev.meshc.ir.machine.MachineSpec.load("wse2");
    List<DecodeFabric.Lane> a = DecodeFabric.lanes(one, 64, m);
    List<DecodeFabric.Lane> b = DecodeFabric.lanes(two, 64, m);
    assertEquals(2, a.size());
    assertEquals(4, b.size());
    for (int i = 0; i < 2; i++) {
      assertEquals(a.get(i).color(), b.get(i).color());
      assertEquals(a.get(i).color(), b.get(i + 2).color(), "wafer 1's lane " + i);
      assertEquals(1, b.get(i + 2).wafer());
    }
  }
  /**
   * The queues a decode PE names stay beside memcpy's (IDs 2–7, at most six each way); re-routed
   * (WSE-3, a queue bound to one colour for good), two routes share a queue only when they share
   * the colour: the tree's colour k and the shift's parity k; the hand-off's queues are no tree's.
   */
  @Test
  void queuesStayBesideMemcpysAndBindOneColourWhereRerouted() {
    int free = DecodeFabric.Queues.FREE;
    for (boolean rerouted : new boolean[] {false, true}) {
      DecodeFabric.Queues q = new DecodeFabric.Queues(rerouted);
      List<Integer> all = new ArrayList<>(List.of(q.handoffInput(), q.handoffOutput()));
      for (int k = 0; k < KTree.COLORS; k++) {
        all.add(q.treeInput(k));
        all.add(q.treeOutput(k));
      }
      for (int parity = 0; parity < 2; parity++) {
        all.add(q.shiftInput(parity));
        all.add(q.shiftOutput(parity));
      }
      for (int id : all) {
        assertTrue(id >= DecodeFabric.Queues.FIRST && id < DecodeFabric.Queues.COUNT, rerouted + ": queue " + id);
      }
      for (boolean handoffs : new boolean[] {false, true}) {
        DecodeFabric.Queues.Count n = q.count(handoffs);
        assertTrue(n.inputs() <= free && n.outputs() <= free && n.inputs() >= KTree.COLORS, rerouted + " "
            + handoffs + ": " + n);
      }
      if (rerouted) {
        Map<Integer, Integer> colourOf = new HashMap<>(); // input queue → the one colour it may take
        for (int k = 0; k < KTree.COLORS; k++) {
          assertEquals(null, colourOf.put(q.treeInput(k), k), "two tree colours on input queue " + q.treeInput(k));
          assertEquals(q.treeInput(k), q.treeOutput(k), "colour " + k + "'s queues");
        }
        for (int parity = 0; parity < 2; parity++) {
          assertEquals(parity, colourOf.get(q.shiftInput(parity)), "the shift rides the tree's colour " + parity);
        }
        assertEquals(null, colourOf.get(q.handoffInput()), "the hand-off's colour on a tree's queue");
      }
    }
  }
}
