package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.ortools.Loader;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.NoOverlap2dConstraint;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The listed packings of a wafer are what the packed model's bound rests on: a multiset of squares
 * packs exactly when some listed packing offers, at every side, at least as many slots of that
 * side or larger (checked against CP-SAT on every multiset of small areas), and the places given
 * are packings.
 */
class WaferPackingsTest {
  @ParameterizedTest
  @CsvSource({"4;5;7, 10, 13", "3;5;6, 11, 8", "5;6;9, 12, 17", "2;3;5, 7, 8"})
  void aMultisetPacksExactlyWhenAListedPackingHoldsIt(String list, int w, int h) {
    Loader.loadNativeLibraries();
    int[] sides = java.util.Arrays.stream(list.split(";")).mapToInt(Integer::parseInt).toArray();
    WaferPackings.Family f = WaferPackings.of(sides, w, h, 1, 1_000_000);
    assertNotNull(f);
    assertEquals(0, f.smallest(), "the small areas list every side");
    for (WaferPackings.Packing p : f.packings()) {
      assertNotNull(p.squares(), "CP-SAT decides these areas within its limit");
      assertPacks(sides, w, h, p);
    }
    int[] most = new int[sides.length];
    for (int j = 0; j < sides.length; j++) {
      most[j] = (w / sides[j]) * (h / sides[j]);
    }
    int tested = 0;
    int packing = 0;
    int[] n = new int[sides.length];
    while (true) {
      boolean packs = packs(sides, w, h, n);
      int[] need = new WaferPackings.Packing(n, null).atLeast();
      boolean held = false;
      for (WaferPackings.Packing p : f.packings()) {
        int[] offer = p.atLeast();
        boolean all = true;
        for (int j = 0; j < n.length; j++) {
          all &= offer[j] >= need[j];
        }
        held |= all;
      }
      assertEquals(packs, held, java.util.Arrays.toString(n) + " on " + w + "x" + h);
      tested++;
      packing += packs ? 1 : 0;
      int j = 0; // the next multiset
      while (j < n.length && n[j] == most[j]) {
        n[j++] = 0;
      }
      if (j == n.length) {
        break;
      }
      n[j]++;
    }
    assertTrue(packing > 1 && packing < tested, "both answers occur");
  }

  @Test
  void aBudgetTooSmallForEvenTheLargestSideListsNothing() {
    Loader.loadNativeLibraries();
    assertNull(WaferPackings.of(new int[] {1, 2}, 9, 9, 1, 1));
    WaferPackings.Family f = WaferPackings.of(new int[] {1, 2, 3}, 9, 9, 1, 12);
    assertNotNull(f);
    assertTrue(f.smallest() > 0, "the smallest side is left to the cuts within a small budget");
    assertFalse(f.packings().isEmpty());
  }

  private static void assertPacks(int[] sides, int w, int h, WaferPackings.Packing p) {
    List<WaferPackings.Square> sq = p.squares();
    int[] count = new int[sides.length];
    for (int i = 0; i < sq.size(); i++) {
      WaferPackings.Square a = sq.get(i);
      count[a.side()]++;
      int s = sides[a.side()];
      assertTrue(a.x() >= 0 && a.y() >= 0 && a.x() + s <= w && a.y() + s <= h, a + " inside");
      for (int k = 0; k < i; k++) {
        WaferPackings.Square b = sq.get(k);
        int t = sides[b.side()];
        assertTrue(a.x() + s <= b.x() || b.x() + t <= a.x() || a.y() + s <= b.y() || b.y() + t <= a.y(),
            a + " and " + b + " apart");
      }
    }
    assertEquals(java.util.Arrays.toString(p.count()), java.util.Arrays.toString(count));
  }

  /** CP-SAT, to optimality, on the multiset. */
  private static boolean packs(int[] sides, int w, int h, int[] n) {
    long area = 0;
    for (int j = 0; j < n.length; j++) {
      area += (long) n[j] * sides[j] * sides[j];
    }
    if (area > (long) w * h) {
      return false;
    }
    CpModel cp = new CpModel();
    NoOverlap2dConstraint no = cp.addNoOverlap2D();
    for (int j = 0; j < n.length; j++) {
      for (int i = 0; i < n[j]; i++) {
        int s = sides[j];
        no.addRectangle(cp.newFixedSizeIntervalVar(cp.newIntVar(0, w - s, "x"), s, "xi"),
            cp.newFixedSizeIntervalVar(cp.newIntVar(0, h - s, "y"), s, "yi"));
      }
    }
    CpSolver s = new CpSolver();
    s.getParameters().setNumWorkers(1);
    CpSolverStatus st = s.solve(cp);
    assertTrue(st == CpSolverStatus.OPTIMAL || st == CpSolverStatus.INFEASIBLE || st == CpSolverStatus.FEASIBLE);
    return st != CpSolverStatus.INFEASIBLE;
  }
}
