package dev.meshc.backends.csl.sim;

/**
 * A {@code mem1d_dsd}: {@code length} elements of {@code buffer} from {@code offset}, {@code stride}
 * apart. Built by {@code @get_dsd} from {@code .base_address/.offset/.extent/.stride} or from an
 * affine {@code .tensor_access}.
 */
public record Dsd(Buffer buffer, int offset, int length, int stride) {
  /** The buffer index of element {@code k}. */
  public int at(int k) {
    return offset + k * stride;
  }

  /** {@code @increment_dsd_offset}: the same access {@code n} elements on. */
  public Dsd moved(int n) {
    return new Dsd(buffer, offset + n, length, stride);
  }
}
