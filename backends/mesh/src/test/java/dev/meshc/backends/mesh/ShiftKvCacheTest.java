package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The shift-based KV cache keeps rows within one entry of each other and tokens in order; each step
 * a row sends and takes at most one entry.
 */
class ShiftKvCacheTest {
  @Property(tries = 200, seed = "5150")
  void balancedAndInOrderAfterAnyNumberOfSteps(@ForAll @IntRange(min = 1, max = 40) int rows,
      @ForAll @IntRange(min = 1, max = 12) int slots, @ForAll @IntRange(min = 0, max = 480) int steps) {
    ShiftKvCache c = new ShiftKvCache(rows, slots);
    int n = (int) Math.min(steps, c.capacity());
    for (int t = 0; t < n; t++) {
      java.util.List<ShiftKvCache.Move> moves = c.append();
      assertTrue(moves.stream().mapToInt(m -> m.from() - m.to()).sum() <= rows - 1, "one hop per row at most");
      assertEquals(moves.size(), moves.stream().map(ShiftKvCache.Move::from).distinct().count(), "one send a row");
      assertEquals(moves.size(), moves.stream().map(ShiftKvCache.Move::to).distinct().count(), "one take a row");
      for (ShiftKvCache.Move m : moves) {
        assertTrue(m.from() - m.to() == 1 || m.token() == t, "only the new token passes over rows: " + m);
      }
      int[] o = c.occupancy();
      int min = IntStream.of(o).min().orElse(0);
      int max = IntStream.of(o).max().orElse(0);
      assertTrue(max - min <= 1, "rows differ by " + (max - min));
      assertTrue(max <= slots, "a row overflowed");
    }
    assertEquals(IntStream.range(0, n).boxed().toList(), c.order(), "logical order");
    if (n == c.capacity()) {
      assertThrows(IllegalStateException.class, c::append);
    }
  }

  @Property(tries = 50, seed = "77")
  void holdsRowsTimesWhatAnAppendCacheHolds(@ForAll @IntRange(min = 1, max = 64) int rows,
      @ForAll @IntRange(min = 0, max = 50) int slots) {
    ShiftKvCache c = new ShiftKvCache(rows, slots);
    assertEquals((long) rows * c.appendCapacity(), c.capacity());
    for (int t = 0; t < c.capacity(); t++) {
      c.append();
    }
    assertEquals(c.capacity(), c.tokens());
  }
}
