package dev.meshc.ir.kernel;

import dev.meshc.ir.machine.MachineSpec;
import java.util.List;

/**
 * A mesh kernel defined once, as rules over PE coordinates, that three readers share: the
 * planner (closed-form {@link #estimate} and resource figures), the mesh runtime (which executes
 * {@link #actions} over {@link #routes} PE by PE) and the CSL backend (which renders the same
 * rules). Every rule answers for one PE in O(1): a 720×720 kernel is never a table.
 *
 * <p>The problem is C[M,N] = A[M,K] · B[K,N] (a GEMV has M = 1; dist-GEMM-T reads B as [N,K]).
 * Dimensions that do not divide the grid are padded with zeros; {@link #padded} says to what.
 * The grid is {@code width} columns (x, mesh X) by {@code height} rows (y, mesh Y).
 */
public interface KernelTemplate {
  /** The algorithm's name, as {@code meshc kernel --algorithm} spells it. */
  String algorithm();

  Problem problem();

  int width();

  int height();

  /** The problem padded to what the grid needs. */
  Problem padded();

  /** Whether partial sums are fp32 (else fp16, as WSE's {@code @fmach}). */
  boolean fp32Accumulate();

  /** The buffers of PE (x, y), in allocation order. */
  List<Buffer> buffers(int x, int y);

  /** The router entries of PE (x, y): one per colour it sends, receives or passes. */
  List<Route> routes(int x, int y);

  /** Rounds of the step program. */
  int rounds();

  /**
   * What PE (x, y) does in round {@code round} (issue actions first, then receives). A function
   * of its arguments, called from several threads at once (a timing run fetches a round's
   * programs band by band).
   */
  List<Action> actions(int round, int x, int y);

  /**
   * A promise that lets a timing run skip repeated rounds: up to the returned round (exclusive),
   * every PE runs the very action list it runs in {@code round}, or from some round on an empty
   * one, and then stays empty. The runtime still checks that the repeated rounds are a pure shift
   * in time before it skips any; the default, {@code round + 1}, promises nothing.
   */
  default int sameProgramUntil(int round) {
    return round + 1;
  }

  /** Rows and columns of input {@code tensor}: "A" is M×K and "B" K×N (N×K for dist-GEMM-T). */
  default long[] inputShape(String tensor) {
    Problem p = problem();
    return switch (tensor) {
      case "A" -> new long[] {p.m(), p.k()};
      case "B" -> new long[] {p.k(), p.n()};
      default -> throw new IllegalArgumentException(algorithm() + " has no input " + tensor);
    };
  }

  /** Blocks of A and B (by tensor name "A", "B") that PE (x, y) starts with. */
  List<TileMap> inputs(int x, int y);

  /** Blocks of C that PE (x, y) ends with (replicas must agree). */
  List<TileMap> outputs(int x, int y);

  /** Logical colours used (0 … colors−1); a backend maps them to physical IDs. */
  int colors();

  /** The most bytes any PE's buffers take: equal to the maximum of {@link #buffers}' sums. */
  long maxBytesPerPe();

  /** The most colours any PE's router holds: equal to the maximum of {@link #routes}' sizes. */
  int maxColorsPerPe();

  /** The longest hardware path (hops) any single transfer takes. */
  int maxHopsPerTransfer();

  /**
   * True when every column runs the same program on its own: no route crosses columns and no rule
   * depends on x. A timing-only run may then simulate one column and stand for all (a test checks
   * that it gives the full mesh's cycles).
   */
  default boolean columnsIndependent() {
    return false;
  }

  /** The closed-form cycle estimate on {@code machine}. */
  Estimate estimate(MachineSpec machine);

  /** C[M,N] = A[M,K]·B[K,N]. */
  record Problem(long m, long k, long n) {
    public Problem {
      if (m < 1 || k < 1 || n < 1) {
        throw new IllegalArgumentException("empty problem " + m + "x" + k + "x" + n);
      }
    }

    public long fmacs() {
      return m * k * n;
    }

    @Override
    public String toString() {
      return m + "x" + k + "x" + n;
    }
  }
}
