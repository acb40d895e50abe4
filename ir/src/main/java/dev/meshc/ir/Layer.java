package dev.meshc.ir;

/**
 * A transformer layer recognised by lifting: ops {@code [start, end)} of the module body, with what
 * it is ({@code kind}: encoder or decoder) and its shape facts in {@code info} (heads, kv_heads,
 * head_dim, ffn, activation, norm). The planner assigns contiguous layers to mesh regions.
 */
public record Layer(int index, String kind, Attrs info, int start, int end) {
  public Layer {
    if (start < 0 || end < start) {
      throw new IllegalArgumentException("bad layer range [" + start + ", " + end + ")");
    }
  }

  public int size() {
    return end - start;
  }
}
