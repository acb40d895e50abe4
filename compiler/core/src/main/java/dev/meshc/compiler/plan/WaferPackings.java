package dev.meshc.compiler.plan;

import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.IntervalVar;
import com.google.ortools.sat.NoOverlap2dConstraint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ways squares of the candidate sides pack one wafer's W×H kernel area. A plan's regions on a
 * wafer are such a packing; a square holds a region of its side or any smaller one, so what a
 * wafer offers is, per side s, its slots of side ≥ s. Only packings no other one beats at every s
 * are kept ("maximal": nothing can be added or enlarged). Over these, the regions' counts per side
 * satisfy Hall's condition (for every s, regions of side ≥ s ≤ slots of side ≥ s over the wafers)
 * exactly when the regions pack, which makes the bound of {@link RegionCounts}' packed model exact
 * about packing, where the area and per-side cuts alone let it count squares that never pack.
 *
 * <p>A multiset is tested by necessary conditions first (area, at most floor(W/s)·floor(H/s)
 * squares of side ≥ s, squares wider than half the wafer stacked), then by a guillotine packer
 * (which gives places), then by CP-SAT on the sides' common lattice. A multiset CP-SAT neither
 * packs nor refutes within its short limit is kept without places: the bound stays valid, and a
 * plan never uses it.
 */
final class WaferPackings {
  /** One square of a packing: its side's index among the candidates, and its top-left corner. */
  record Square(int side, int x, int y) {}

  /**
   * A maximal packing: squares per side index ({@code count}) and, unless only CP-SAT's limit kept
   * it, their places.
   */
  record Packing(int[] count, List<Square> squares) {
    /** Slots of side ≥ sides[j], per j. */
    int[] atLeast() {
      int[] a = new int[count.length];
      int run = 0;
      for (int j = count.length - 1; j >= 0; j--) {
        run += count[j];
        a[j] = run;
      }
      return a;
    }
  }

  private final int[] sides; // ascending
  private final int w;
  private final int h;
  private final int quantum;
  private final long seed;
  private final int maxTests;
  private final Map<String, List<Square>> placed = new HashMap<>();
  private final Set<String> refuted = new HashSet<>();
  private final Set<String> unknown = new HashSet<>();
  private int tests;

  private WaferPackings(int[] sides, int w, int h, long seed, int maxTests) {
    this.sides = sides;
    this.w = w;
    this.h = h;
    int q = 0;
    for (int s : sides) {
      q = gcd(q, s);
    }
    this.quantum = q;
    this.seed = seed;
    this.maxTests = maxTests;
  }

  /**
   * The maximal packings of squares of {@code sides} (ascending) on a w×h area, or null when more
   * than {@code maxTests} multisets would need testing (small sides on a large area: too many
   * packings to list, and the cuts already bind there).
   */
  /** The packings of the sides from index {@code smallest} up (counts of smaller sides 0). */
  record Family(int smallest, List<Packing> packings) {}

  /**
   * The maximal packings of squares of {@code sides} (ascending) on a w×h area: of the largest
   * side alone, then down to each next smaller side while no more than {@code maxTests} multisets
   * in all needed testing; the last family listed in full. Null when not even the largest side's
   * was (never, in practice). Sides below the family's smallest are left to the cuts: small sides
   * on a large area pack in too many ways to list, and there the area binds anyway.
   */
  static Family of(int[] sides, int w, int h, long seed, int maxTests) {
    return of(sides, w, h, seed, maxTests, 0);
  }

  /** ... down to side index {@code lowest} at most. */
  static Family of(int[] sides, int w, int h, long seed, int maxTests, int lowest) {
    WaferPackings p = new WaferPackings(sides, w, h, seed, maxTests);
    Family last = null;
    for (int lo = sides.length - 1; lo >= lowest; lo--) {
      List<int[]> found = new ArrayList<>();
      if (!p.extend(new int[sides.length], sides.length - 1, lo, found)) {
        break;
      }
      last = new Family(lo, p.maximal(found));
    }
    return last;
  }

  private List<Packing> maximal(List<int[]> found) {
    // one per profile of slots, the first found (larger squares first) of each
    Map<String, int[]> byProfile = new LinkedHashMap<>();
    for (int[] n : found) {
      byProfile.putIfAbsent(Arrays.toString(slots(n)), n);
    }
    List<int[]> kept = new ArrayList<>(byProfile.values());
    List<Packing> out = new ArrayList<>();
    for (int[] n : kept) {
      int[] a = slots(n);
      boolean beaten = false;
      for (int[] o : kept) {
        if (o != n && dominates(slots(o), a)) {
          beaten = true;
          break;
        }
      }
      if (!beaten) {
        out.add(new Packing(n.clone(), placed.get(Arrays.toString(n))));
      }
    }
    return out;
  }

  private static int[] slots(int[] n) {
    return new Packing(n, null).atLeast();
  }

  /** b ≥ a at every side and somewhere more. */
  private static boolean dominates(int[] b, int[] a) {
    boolean more = false;
    for (int j = 0; j < a.length; j++) {
      if (b[j] < a[j]) {
        return false;
      }
      more |= b[j] > a[j];
    }
    return more;
  }

  /**
   * Depth-first over sides from the largest down: at side j, every count that still packs, the
   * most first; a count that does not pack ends the larger ones (they hold it). A multiset whose
   * smallest side admits no more squares is a leaf. False when the test budget ran out.
   */
  private boolean extend(int[] n, int j, int lo, List<int[]> out) {
    if (j < lo) {
      out.add(n.clone());
      return true;
    }
    int most = 0;
    while (true) {
      n[j] = most + 1;
      Boolean fits = packs(n);
      if (fits == null) {
        return false;
      }
      if (!fits) {
        break;
      }
      most++;
    }
    for (int c = most; c >= 0; c--) {
      n[j] = c;
      if (!extend(n, j - 1, lo, out)) {
        n[j] = 0;
        return false;
      }
    }
    n[j] = 0;
    return true;
  }

  /** Whether the multiset packs (places kept when found); null once the test budget is spent. */
  private Boolean packs(int[] n) {
    String key = Arrays.toString(n);
    if (placed.containsKey(key) || unknown.contains(key)) {
      return true;
    }
    if (refuted.contains(key)) {
      return false;
    }
    if (++tests > maxTests) {
      return null;
    }
    List<Integer> list = new ArrayList<>(); // side indices, largest first
    for (int j = n.length - 1; j >= 0; j--) {
      for (int i = 0; i < n[j]; i++) {
        list.add(j);
      }
    }
    if (!necessary(list)) {
      refuted.add(key);
      return false;
    }
    List<Square> g = guillotine(list);
    if (g != null) {
      placed.put(key, g);
      return true;
    }
    CpSolverStatus st = exact(list, key);
    if (st == CpSolverStatus.INFEASIBLE) {
      refuted.add(key);
      return false;
    }
    if (st != CpSolverStatus.OPTIMAL && st != CpSolverStatus.FEASIBLE) {
      unknown.add(key);
    }
    return true;
  }

  /**
   * The most squares of side ≥ s a w×h area packs: floor(w/s)·floor(h/s) (each, taken half-open
   * as (x, x + t] × (y, y + t], holds a point (i·s, j·s) with i, j ≥ 1, and no two hold the same).
   */
  static int most(int s, int w, int h) {
    return (w / s) * (h / s);
  }

  /** Conditions every packing meets: area, per-side counts, squares wider than half stacked. */
  private boolean necessary(List<Integer> list) {
    long area = 0;
    for (int j : list) {
      area += (long) sides[j] * sides[j];
    }
    if (area > (long) w * h) {
      return false;
    }
    for (int i = 0; i < list.size(); i++) { // list is largest first
      if (i + 1 > most(sides[list.get(i)], w, h)) {
        return false;
      }
    }
    // two squares whose sides sum past W cannot sit side by side: they stack, their sides within H
    // (and the same across); the squares wider than W/2 are pairwise so, plus the largest other
    // square that is so with the smallest of them
    if (!stacked(list, w, h) || !stacked(list, h, w)) {
      return false;
    }
    // Fekete and Schepers' dual-feasible functions: widths and heights mapped by u_k, the area
    // still within W·H (a packing stays one under the maps)
    for (int kx = 0; kx <= DFF; kx++) {
      for (int ky = 0; ky <= DFF; ky++) {
        double mapped = 0;
        for (int j : list) {
          mapped += dff(sides[j], w, kx) * dff(sides[j], h, ky);
        }
        if (mapped > (double) w * h * (1 + 1e-12)) {
          return false;
        }
      }
    }
    return true;
  }

  private static final int DFF = 6;

  /** u_k(x) on [0, c]: x where (k+1)·x/c is whole, else floor((k+1)·x/c)·c/k; u_0 is x. */
  private static double dff(int x, int c, int k) {
    if (k == 0 || ((long) (k + 1) * x) % c == 0) {
      return x;
    }
    return Math.floor((double) (k + 1) * x / c) * c / k;
  }

  private boolean stacked(List<Integer> list, int across, int along) {
    long sum = 0;
    int smallest = Integer.MAX_VALUE;
    int i = 0;
    for (; i < list.size() && 2 * sides[list.get(i)] > across; i++) {
      sum += sides[list.get(i)];
      smallest = sides[list.get(i)];
    }
    if (i < list.size() && smallest != Integer.MAX_VALUE && smallest + sides[list.get(i)] > across) {
      sum += sides[list.get(i)];
    }
    return sum <= along;
  }

  private record Rect(int x, int y, int w, int h) {}

  /** Places by guillotine cuts: each square at a free rectangle's corner, the rest cut in two. */
  private List<Square> guillotine(List<Integer> list) {
    Square[] out = new Square[list.size()];
    return cut(List.of(new Rect(0, 0, w, h)), list, 0, out, new HashSet<>()) ? List.of(out) : null;
  }

  private boolean cut(List<Rect> free, List<Integer> list, int i, Square[] out, Set<String> failed) {
    if (i == list.size()) {
      return true;
    }
    int s = sides[list.get(i)];
    int least = sides[list.get(list.size() - 1)];
    long need = 0;
    for (int k = i; k < list.size(); k++) {
      need += (long) sides[list.get(k)] * sides[list.get(k)];
    }
    long have = 0;
    List<int[]> dims = new ArrayList<>();
    for (Rect r : free) {
      have += (long) r.w() * r.h();
      dims.add(new int[] {Math.min(r.w(), r.h()), Math.max(r.w(), r.h())});
    }
    if (have < need) {
      return false;
    }
    dims.sort((a, b) -> a[0] != b[0] ? a[0] - b[0] : a[1] - b[1]);
    StringBuilder key = new StringBuilder().append(i);
    for (int[] d : dims) {
      key.append(',').append(d[0]).append('x').append(d[1]);
    }
    if (failed.contains(key.toString())) {
      return false;
    }
    Set<String> tried = new HashSet<>();
    for (int f = 0; f < free.size(); f++) {
      Rect r = free.get(f);
      if (r.w() < s || r.h() < s || !tried.add(r.w() + "x" + r.h())) {
        continue;
      }
      out[i] = new Square(list.get(i), r.x(), r.y());
      for (int split = 0; split < 2; split++) {
        List<Rect> next = new ArrayList<>(free);
        next.remove(f);
        Rect right = split == 0 ? new Rect(r.x() + s, r.y(), r.w() - s, s) : new Rect(r.x() + s, r.y(), r.w() - s, r.h());
        Rect below = split == 0 ? new Rect(r.x(), r.y() + s, r.w(), r.h() - s) : new Rect(r.x(), r.y() + s, s, r.h() - s);
        for (Rect n : List.of(right, below)) {
          if (n.w() >= least && n.h() >= least) {
            next.add(n);
          }
        }
        if (cut(next, list, i + 1, out, failed)) {
          return true;
        }
      }
    }
    failed.add(key.toString());
    return false;
  }

  /** CP-SAT's answer for the multiset on the lattice of the sides' common divisor (places kept when found). */
  private CpSolverStatus exact(List<Integer> list, String key) {
    CpModel cp = new CpModel();
    NoOverlap2dConstraint no = cp.addNoOverlap2D();
    IntVar[] xs = new IntVar[list.size()];
    IntVar[] ys = new IntVar[list.size()];
    for (int i = 0; i < list.size(); i++) {
      int s = sides[list.get(i)];
      IntVar xq = cp.newIntVar(0, (w - s) / quantum, "xq" + i);
      IntVar yq = cp.newIntVar(0, (h - s) / quantum, "yq" + i);
      xs[i] = cp.newIntVar(0, w - s, "x" + i);
      ys[i] = cp.newIntVar(0, h - s, "y" + i);
      cp.addEquality(xs[i], com.google.ortools.sat.LinearExpr.term(xq, quantum));
      cp.addEquality(ys[i], com.google.ortools.sat.LinearExpr.term(yq, quantum));
      IntervalVar xi = cp.newFixedSizeIntervalVar(xs[i], s, "xi" + i);
      IntervalVar yi = cp.newFixedSizeIntervalVar(ys[i], s, "yi" + i);
      no.addRectangle(xi, yi);
      if (i > 0 && list.get(i).equals(list.get(i - 1))) { // equal squares in order
        cp.addLessOrEqual(com.google.ortools.sat.LinearExpr.newBuilder().addTerm(xs[i - 1], h).add(ys[i - 1]),
            com.google.ortools.sat.LinearExpr.newBuilder().addTerm(xs[i], h).add(ys[i]));
      }
    }
    CpSolver solver = new CpSolver();
    solver.getParameters().setNumWorkers(1).setRandomSeed((int) seed).setMaxDeterministicTime(0.2)
        .setMaxTimeInSeconds(10);
    CpSolverStatus st = solver.solve(cp);
    if (st == CpSolverStatus.OPTIMAL || st == CpSolverStatus.FEASIBLE) {
      List<Square> out = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        out.add(new Square(list.get(i), (int) solver.value(xs[i]), (int) solver.value(ys[i])));
      }
      placed.put(key, out);
    }
    return st;
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }
}
