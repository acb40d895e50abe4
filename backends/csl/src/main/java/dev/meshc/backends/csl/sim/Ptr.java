package dev.meshc.backends.csl.sim;

/**
 * {@code &x} and pointers made from it ({@code [*]f32}, {@code *f32}): a buffer and an element
 * offset; {@code element} when it was taken of one element ({@code &a[i]}), so {@code p.*} is that
 * element rather than the array.
 */
public record Ptr(Buffer buffer, int offset, boolean element) {
  public Ptr(Buffer buffer, int offset) {
    this(buffer, offset, false);
  }
}
