package dev.meshc.ir.kernel;

/**
 * A named array in one PE's memory: {@code elements} values of 2 bytes (fp16, storage) or 4
 * (fp32, an accumulator when accumulation is fp32).
 */
public record Buffer(String name, int elements, boolean fp32) {
  public Buffer {
    if (elements < 0) {
      throw new IllegalArgumentException("buffer " + name + " has " + elements + " elements");
    }
  }

  public static Buffer half(String name, int elements) {
    return new Buffer(name, elements, false);
  }

  public int bytes() {
    return elements * (fp32 ? 4 : 2);
  }
}
