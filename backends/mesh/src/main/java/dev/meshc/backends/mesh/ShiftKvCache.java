package dev.meshc.backends.mesh;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The shift-based KV cache of a region's rows (WaferLLM §4.3), as token positions: row 0 holds the
 * oldest tokens, each row a contiguous run, and every row the same count or one more than the rows
 * below it. A new token's K/V lands on the bottom row (after the decode all-reduce every row holds
 * a copy, so storing it costs no transfer); then, from the bottom up, a row that holds more than
 * the row above passes its oldest entry one hop up, until the counts are balanced again. Logical
 * order is kept, occupancy never differs by more than one entry, and the capacity is the sum of
 * all rows' slots rather than one row's (an append-only cache fills one row).
 */
public final class ShiftKvCache {
  private final int rows;
  private final int slots;
  private final List<ArrayDeque<Integer>> row = new ArrayList<>();
  private int tokens;
  private long shifts;

  /** {@code rows} rows of {@code slotsPerRow} token slots each (per PE: its dims of K and V). */
  public ShiftKvCache(int rows, int slotsPerRow) {
    if (rows < 1 || slotsPerRow < 0) {
      throw new IllegalArgumentException("a cache needs rows and slots: " + rows + " x " + slotsPerRow);
    }
    this.rows = rows;
    this.slots = slotsPerRow;
    for (int r = 0; r < rows; r++) {
      row.add(new ArrayDeque<>());
    }
  }

  /** Tokens the shift-based cache holds: every row's slots. */
  public long capacity() {
    return (long) rows * slots;
  }

  /** Tokens an append-only cache that fills the bottom row would hold. */
  public long appendCapacity() {
    return slots;
  }

  public int tokens() {
    return tokens;
  }

  /** One-hop moves made so far. */
  public long shifts() {
    return shifts;
  }

  /** A token's entry going north from row {@code from} to row {@code to} in one step. */
  public record Move(int token, int from, int to) {}

  /**
   * Stores the next token's K/V; returns the step's moves, bottom first. A token that passes over
   * rows that were empty (only while the cache fills) is one move of several hops.
   */
  public List<Move> append() {
    if (tokens == capacity()) {
      throw new IllegalStateException("the KV cache is full at " + capacity() + " tokens");
    }
    row.get(rows - 1).addLast(tokens++);
    List<Move> moves = new ArrayList<>();
    for (int r = rows - 1; r > 0; r--) {
      if (row.get(r).size() > row.get(r - 1).size()) {
        int t = row.get(r).pollFirst(); // the row's oldest goes to the end of the row above
        row.get(r - 1).addLast(t);
        shifts++;
        Move last = moves.isEmpty() ? null : moves.get(moves.size() - 1);
        if (last != null && last.token() == t && last.to() == r) {
          moves.set(moves.size() - 1, new Move(t, last.from(), r - 1));
        } else {
          moves.add(new Move(t, r, r - 1));
        }
      }
    }
    return moves;
  }

  /** Entries per row, top to bottom. */
  public int[] occupancy() {
    int[] o = new int[rows];
    for (int r = 0; r < rows; r++) {
      o[r] = row.get(r).size();
    }
    return o;
  }

  /** The token positions each row holds, top to bottom, oldest first. */
  public List<List<Integer>> rows() {
    return row.stream().map(r -> List.copyOf(r)).toList();
  }

  /** The token positions in row order: 0, 1, 2, … when logical order is kept. */
  public List<Integer> order() {
    List<Integer> all = new ArrayList<>(tokens);
    row.forEach(all::addAll);
    return all;
  }
}
