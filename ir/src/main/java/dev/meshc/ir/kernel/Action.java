package dev.meshc.ir.kernel;

/**
 * One thing a PE does in a round. Within a round a PE first issues (sends, computes), then
 * receives; a message sent in a round is received in that round, or later when a relay forwards
 * it. Lengths are in elements of the buffer.
 */
public sealed interface Action {
  /** Injects {@code length} elements of {@code buffer} from {@code offset} on {@code color}. */
  record Send(int color, String buffer, int offset, int length) implements Action {}

  /** Waits for a message on {@code color} and combines it into {@code buffer} at {@code offset}. */
  record Recv(int color, String buffer, int offset, int length, Combine combine) implements Action {}

  /**
   * A software relay stage (costs β): streams a message arriving on {@code in}, combined element by
   * element with the PE's own {@code buffer}, out on {@code out}, cut-through. The buffer is not
   * changed. K-tree and pipeline reductions are chains of these.
   */
  record Relay(int in, int out, String buffer, int offset, int length, Combine combine) implements Action {}

  /** {@code c[m,n] += a[m,k] · b[k,n]}, or {@code a · bᵀ} with b stored [n,k] when {@code transB}. */
  record Gemm(String a, String b, String c, int m, int k, int n, boolean transB) implements Action {}

  /** {@code y[n] += Σ_m x[m] · w[m,n]}. */
  record Gemv(String x, String w, String y, int m, int n) implements Action {}

  /**
   * Pass {@code pass} of {@code fn}'s row statistics over the [rows, cols] tile in {@code in},
   * whose first element is (row0, col0) of the whole matrix: one fp32 value per row into buffer
   * {@code RowFn.STATS[pass]}, read back by the later passes once it is all-reduced.
   */
  record RowStats(RowFn fn, int pass, String in, int rows, int cols, long row0, long col0) implements Action {}

  /** {@code fn}'s elementwise finish: {@code out} from {@code in} and the all-reduced statistics. */
  record RowFinish(RowFn fn, String in, String out, int rows, int cols, long row0, long col0) implements Action {}

  /**
   * Part {@code part} of {@code fn} over the first {@code elements} values of the equal-length
   * buffers {@code in}, into {@code out} (see {@link LocalFn#apply}): a {@link Local} kernel's
   * whole work.
   */
  record Map(LocalFn fn, int part, java.util.List<String> in, String out, int elements) implements Action {
    public Map {
      in = java.util.List.copyOf(in);
    }
  }

  /** Sets a buffer to zero. */
  record Zero(String buffer) implements Action {}

  /** Swaps the contents of two same-sized buffers (a pointer swap in CSL: free). */
  record Swap(String a, String b) implements Action {}

  /** Whether this action belongs to the receive part of a round. */
  default boolean receives() {
    return this instanceof Recv || this instanceof Relay;
  }
}
