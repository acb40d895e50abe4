package dev.meshc.ir;

import java.util.List;

/**
 * A model parameter, referenced, never copied: {@code source} names the ONNX initializer, and
 * {@code perm} (empty for none) says how its axes are permuted into {@code value}'s shape, so that
 * a Gemm with {@code transB} and a tied LM head read the same bytes. Compiling never reads the
 * bytes; whoever runs the model resolves them by {@code source}.
 */
public record Weight(Value value, String source, List<Integer> perm) {
  public Weight {
    perm = List.copyOf(perm);
    if (!perm.isEmpty()) {
      if (perm.size() != value.rank()) {
        throw MeshcException.input("weight @%s: permutation %s does not match rank %d",
            value.name(), perm, value.rank());
      }
      boolean[] seen = new boolean[perm.size()];
      for (int p : perm) {
        if (p < 0 || p >= perm.size() || seen[p]) {
          throw MeshcException.input("weight @%s: %s is not a permutation", value.name(), perm);
        }
        seen[p] = true;
      }
    }
  }

  public String name() {
    return value.name();
  }

  /** The initializer's own shape, before {@link #perm}. */
  public Shape sourceShape() {
    if (perm.isEmpty()) {
      return value.shape();
    }
    long[] s = new long[perm.size()];
    for (int i = 0; i < s.length; i++) {
      s[perm.get(i)] = value.shape().dim(i);
    }
    return Shape.of(s);
  }
}
