package dev.meshc.ir.kernel;

/**
 * A function of each row of a matrix that needs the whole row: the norms and the attention
 * softmax. On the mesh a row is split along X, so each pass is a local statistic of the PE's
 * tile, an all-reduce of it along the row, and, after the last pass, an elementwise finish (see
 * {@link RowWise}). The passes, in fp32:
 * <ul>
 *   <li>RMS_NORM: s = Σ x²; then y = x / √(s / width + eps) · w.
 *   <li>LAYER_NORM: s = Σ x; then q = Σ (x − μ)² with μ = s / width (two passes, not E[x²] − μ²,
 *       which cancels badly); then y = (x − μ) / √(q / width + eps) · w + b.
 *   <li>SOFTMAX of v = x · scale + mask over the visible columns: m = max v; then s = Σ exp(v − m);
 *       then y = exp(v − m) / s, and 0 where hidden (a row with nothing visible is all 0, as the
 *       exporters' IsNaN guard gives).
 * </ul>
 * Columns at or past {@code width} are padding and never count; with {@code causal}, column j of
 * row i is hidden when j &gt; i + {@code causalOffset}.
 *
 * @param width        the row's true length (the grid pads it)
 * @param eps          the norms' epsilon
 * @param scale        the softmax's score scale
 * @param causal       the softmax hides future columns
 * @param causalOffset keys before the first query (0 for a prefill)
 * @param masked       an additive mask tile is in buffer {@link #MASK}
 * @param weighted     the norm's per-column scale is in buffer {@link #WEIGHT}
 * @param biased       the norm's per-column shift is in buffer {@link #BIAS}
 */
public record RowFn(Kind kind, long width, double eps, float scale, boolean causal, long causalOffset,
    boolean masked, boolean weighted, boolean biased) {
  public enum Kind {
    RMS_NORM, LAYER_NORM, SOFTMAX
  }

  /** Buffers the passes read by convention. */
  public static final String WEIGHT = "w";
  public static final String BIAS = "b";
  public static final String MASK = "mask";
  /** The statistics of pass 0 and pass 1, one fp32 value per row. */
  public static final String[] STATS = {"s0", "s1"};

  public RowFn {
    if (width < 1) {
      throw new IllegalArgumentException("row width " + width);
    }
  }

  public static RowFn rmsNorm(long width, double eps, boolean weighted) {
    return new RowFn(Kind.RMS_NORM, width, eps, 1f, false, 0, false, weighted, false);
  }

  public static RowFn layerNorm(long width, double eps, boolean weighted, boolean biased) {
    return new RowFn(Kind.LAYER_NORM, width, eps, 1f, false, 0, false, weighted, biased);
  }

  public static RowFn softmax(long width, float scale, boolean causal, long causalOffset, boolean masked) {
    return new RowFn(Kind.SOFTMAX, width, 0, scale, causal, causalOffset, masked, false, false);
  }

  public int passes() {
    return kind == Kind.RMS_NORM ? 1 : 2;
  }

  /** How pass {@code pass}'s partial statistics combine along the row. */
  public Combine combine(int pass) {
    return kind == Kind.SOFTMAX && pass == 0 ? Combine.MAX : Combine.ADD;
  }

  /** Whether column {@code col} of row {@code row} (whole-matrix indices) takes part. */
  public boolean visible(long row, long col) {
    return col < width && !(causal && col > row + causalOffset);
  }
}
