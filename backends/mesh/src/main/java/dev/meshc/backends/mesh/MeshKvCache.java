package dev.meshc.backends.mesh;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.KvShift;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One attention's KV cache as it lies on its decode region. The {@link ShiftKvCache} decides which
 * row holds each token; this keeps which slot of the row, and the values, as [row · slots + slot,
 * entry] (a token's entry: its K, then its V, every kv head), and moves them between rows with the
 * {@link KvShift} kernel on the mesh runtime, so the entries attention reads are where the shifts
 * left them. The host writes a new token's entry into a free slot of the bottom row: after the
 * decode all-reduce every row holds it, so storing it costs no transfer.
 */
public final class MeshKvCache {
  private final ShiftKvCache cache;
  private final int width;
  private final int rows;
  private final int slots;
  private final int entry;
  private final int[][] token;
  private float[] values;
  private double cycles;

  /** A cache of {@code slots} token slots on each of {@code rows} rows of a width×rows region. */
  public MeshKvCache(int width, int rows, int slots, int entry) {
    long values = (long) rows * slots * entry;
    if (values > MeshRuntime.FUNCTIONAL_LIMIT) {
      throw MeshcException.input("a KV cache of %d rows x %d slots x %d values (%,d) is more than the runtime "
          + "simulates with real numbers (%,d values); compile with a shorter --max-context or a smaller grid", rows,
          slots, entry, values, MeshRuntime.FUNCTIONAL_LIMIT);
    }
    String heap = MeshRuntime.heapTooSmall(String.format("a KV cache of %d rows x %d slots x %d values", rows, slots,
        entry), 4 * values, 0.5);
    if (heap != null) {
      throw MeshcException.input("%s, or compile with a shorter --max-context", heap);
    }
    this.cache = new ShiftKvCache(rows, slots);
    this.width = width;
    this.rows = rows;
    this.slots = slots;
    this.entry = entry;
    this.token = new int[rows][slots];
    for (int[] r : token) {
      Arrays.fill(r, -1);
    }
    this.values = new float[rows * slots * entry];
  }

  /** Which tokens each row holds (the policy's view). */
  public ShiftKvCache policy() {
    return cache;
  }

  /** Token slots of each row, as allocated. */
  public int slots() {
    return slots;
  }

  /** Rows of the region the cache lies on. */
  public int rows() {
    return rows;
  }

  /** Cycles the shifts took on the mesh so far. */
  public double cycles() {
    return cycles;
  }

  /** Stores the next token's entry (fp16 values), then runs the step's shifts on the mesh. */
  public void append(float[] e, MachineSpec machine) {
    if (e.length != entry) {
      throw new IllegalArgumentException("a KV entry has " + entry + " values, not " + e.length);
    }
    int t = cache.tokens();
    if (t == cache.capacity()) {
      throw new IllegalStateException("the KV cache is full at " + t + " tokens");
    }
    int bottom = rows - 1;
    int s = free(bottom, -1);
    System.arraycopy(e, 0, values, (bottom * slots + s) * entry, entry);
    token[bottom][s] = t;
    List<ShiftKvCache.Move> moves = cache.append();
    if (moves.isEmpty()) {
      return;
    }
    int[] sends = new int[rows]; // the slot each row sends from, or -1
    Arrays.fill(sends, -1);
    for (ShiftKvCache.Move m : moves) {
      sends[m.from()] = slotOf(m.from(), m.token());
    }
    List<KvShift.Move> kernel = new ArrayList<>(moves.size());
    for (ShiftKvCache.Move m : moves) {
      kernel.add(new KvShift.Move(m.from(), sends[m.from()], m.to(), free(m.to(), sends[m.to()])));
    }
    RunResult r = MeshRuntime.functional(new KvShift(kernel, slots, entry, width, rows), machine,
        Map.of("A", values));
    values = r.c();
    cycles += r.cycles();
    for (KvShift.Move m : kernel) {
      token[m.from()][m.fromSlot()] = -1;
    }
    for (int i = 0; i < kernel.size(); i++) {
      KvShift.Move m = kernel.get(i);
      token[m.to()][m.toSlot()] = moves.get(i).token();
    }
  }

  /** Slots of each row that attention reads: up to the highest slot in use on any row. */
  public int extent() {
    int e = 0;
    for (int[] r : token) {
      for (int s = r.length - 1; s >= e; s--) {
        if (r[s] >= 0) {
          e = s + 1;
          break;
        }
      }
    }
    return e;
  }

  /** The token in slot {@code slot} of row {@code row}, or -1. */
  public int token(int row, int slot) {
    return token[row][slot];
  }

  /** Value {@code i} of the entry in slot {@code slot} of row {@code row}. */
  public float value(int row, int slot, int i) {
    return values[(row * slots + slot) * entry + i];
  }

  private int slotOf(int row, int t) {
    for (int s = 0; s < slots; s++) {
      if (token[row][s] == t) {
        return s;
      }
    }
    throw new IllegalStateException("token " + t + " is not on row " + row);
  }

  /** A free slot of the row, other than the one it sends from this step unless no other is free. */
  private int free(int row, int sending) {
    for (int s = 0; s < slots; s++) {
      if (token[row][s] < 0 && s != sending) {
        return s;
      }
    }
    if (sending >= 0) {
      return sending; // sends leave before receives land in a round
    }
    throw new IllegalStateException("row " + row + " of the KV cache is full");
  }
}
