package dev.meshc.ir.eval;

import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Weight;
import dev.meshc.ir.op.Embedding;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.RmsNorm;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Deterministic pseudo-random weights for a model of shapes alone, drawn as the committed test
 * models were (examples/scripts/make_tiny_decoders.py): a matrix or embedding N(0, 1/fan_in), where
 * fan_in is the width of the product the weight takes part in (a linear's rows, an embedding's
 * row, else the last axis); a norm's scale 1 + N(0, 0.1²); any other vector (a bias, a norm's shift) N(0, 0.02²).
 * Values are generated when a weight is read and never stored: each row of the initializer's own
 * layout draws from a generator seeded by (seed, initializer, row), so a permuted view (a Gemm with
 * transB, a tied LM head) reads the same numbers as the initializer, in any order, on any thread.
 */
public final class SyntheticWeights implements WeightStore {
  private final long seed;
  private final Map<String, Kind> kinds = new HashMap<>(); // by weight value name
  private final Map<String, Long> fanIns = new HashMap<>(); // likewise

  private enum Kind { MATRIX, SCALE, SHIFT }

  private SyntheticWeights(long seed) {
    this.seed = seed;
  }

  /** Weights for {@code m}'s parameters, their kind read from the ops that use them. */
  public static SyntheticWeights of(Module m, long seed) {
    SyntheticWeights s = new SyntheticWeights(seed);
    for (Op op : m.ops()) {
      if (op instanceof LayerNorm n && n.gamma() != null) {
        s.kinds.put(n.gamma().name(), Kind.SCALE);
      } else if (op instanceof RmsNorm n && n.gamma() != null) {
        s.kinds.put(n.gamma().name(), Kind.SCALE);
      } else if (op instanceof Linear l) {
        s.fanIns.put(l.w().name(), l.w().shape().dim(0));
      } else if (op instanceof Embedding e) {
        s.fanIns.put(e.table().name(), e.table().shape().dim(-1));
      }
    }
    return s;
  }

  @Override
  public Tensor read(Weight w) {
    Shape own = w.sourceShape();
    long elements = own.elements();
    if (elements > Integer.MAX_VALUE - 8) {
      throw MeshcException.input("weight @%s %s: %,d values are more than one Java array holds", w.name(), own,
          elements);
    }
    int rank = own.rank();
    int cols = rank == 0 ? 1 : (int) own.dim(-1);
    int rows = cols == 0 ? 0 : (int) (elements / cols);
    Kind kind = rank >= 2 ? Kind.MATRIX : kinds.getOrDefault(w.name(), Kind.SHIFT);
    double scale = switch (kind) {
      case MATRIX -> 1 / Math.sqrt(Math.max(1, fanIns.getOrDefault(w.name(), w.value().shape().dim(-1))));
      case SCALE -> 0.1;
      case SHIFT -> 0.02;
    };
    double offset = kind == Kind.SCALE ? 1 : 0;
    DType dt = w.value().dtype().isFloating() ? w.value().dtype() : DType.F32;
    long source = hash(w.source());
    // where element (row, col) of the initializer's layout lands in the value's (perm applied)
    long[] stride = strides(w);
    float[] out = new float[(int) elements];
    IntStream.range(0, rows).parallel().forEach(r -> {
      SplittableRandom g = new SplittableRandom(seed ^ source ^ (0x9E3779B97F4A7C15L * (r + 1L)));
      long base = 0;
      long rest = r;
      for (int a = rank - 2; a >= 0; a--) {
        base += rest % own.dim(a) * stride[a];
        rest /= own.dim(a);
      }
      long step = rank == 0 ? 0 : stride[rank - 1];
      for (int c = 0; c < cols; c++) {
        float v = (float) (offset + scale * g.nextGaussian());
        out[(int) (base + c * step)] = dt == DType.F16 ? Fp16.round(v) : dt == DType.BF16 ? Fp16.roundBf16(v) : v;
      }
    });
    return Tensor.ofFloats(dt, w.value().shape(), out);
  }

  /** For each axis of the initializer's layout, the stride of that axis in the value's. */
  private static long[] strides(Weight w) {
    Shape v = w.value().shape();
    int rank = v.rank();
    long[] valueStride = new long[rank];
    long s = 1;
    for (int a = rank - 1; a >= 0; a--) {
      valueStride[a] = s;
      s *= v.dim(a);
    }
    long[] out = new long[rank];
    for (int a = 0; a < rank; a++) {
      out[w.perm().isEmpty() ? a : w.perm().get(a)] = valueStride[a];
    }
    return out;
  }

  private static long hash(String s) {
    long h = 0xcbf29ce484222325L; // FNV-1a over the name's UTF-8
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    return h;
  }
}
