package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * Scaled dot-product attention over split heads: softmax(q·kᵀ·scale + mask [+ causal]) · v, with
 * q [..., H, Sq, D], k [..., KV, Sk, D], v [..., KV, Sk, Dv]. KV &lt; H is grouped-query attention
 * (KV = 1 is MQA): query head h reads kv head h / (H / KV). {@code mask}, if present, is added to
 * the scores and broadcasts to [..., H, Sq, Sk]; {@code causal} hides key j &gt; query i. On the
 * mesh, q·kᵀ is dist-GEMM-T (no transpose) and the softmax reductions are all-reduces.
 */
public record Attention(Value q, Value k, Value v, Value mask, float scale, boolean causal,
    Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("attention",
      (in, a, r, loc) -> {
        Defs.arity("attention", in, 3, 4);
        return new Attention(in.get(0), in.get(1), in.get(2), Defs.opt(in, 3),
            a.getFloat("scale", 1f), a.getInt("causal", 0) != 0, Defs.one("attention", r), loc);
      },
      (in, a) -> {
        Defs.arity("attention", in, 3, 4);
        TensorType q = in.get(0);
        TensorType k = in.get(1);
        TensorType v = in.get(2);
        Defs.rank("attention", "q", q, 3);
        Defs.floating("attention", "q", q);
        if (k.rank() != q.rank() || v.rank() != q.rank()) {
          throw MeshcException.input("attention: q %s, k %s and v %s must have one rank",
              q.shape(), k.shape(), v.shape());
        }
        int r = q.rank();
        long heads = q.shape().dim(-3);
        long kv = k.shape().dim(-3);
        Defs.sameDim("attention", "k heads", kv, "v heads", v.shape().dim(-3));
        if (kv <= 0 || heads % kv != 0) {
          throw MeshcException.input("attention: %d query heads do not group over %d kv heads", heads, kv);
        }
        Defs.sameDim("attention", "q head width", q.shape().dim(-1), "k head width", k.shape().dim(-1));
        Defs.sameDim("attention", "k length", k.shape().dim(-2), "v length", v.shape().dim(-2));
        for (int i = 0; i < r - 3; i++) {
          Defs.sameDim("attention", "q batch", q.shape().dim(i), "k batch", k.shape().dim(i));
        }
        if (in.size() == 4) {
          long[] scores = q.shape().toArray();
          scores[r - 1] = k.shape().dim(-2);
          checkBroadcast(in.get(3).shape(), scores);
        }
        long[] s = q.shape().toArray();
        s[r - 1] = v.shape().dim(-1);
        return List.of(new TensorType(q.dtype(), Shape.of(s), q.layout()));
      });

  private static void checkBroadcast(Shape mask, long[] scores) {
    int off = scores.length - mask.rank();
    boolean ok = off >= 0;
    for (int i = 0; ok && i < mask.rank(); i++) {
      long m = mask.dim(i);
      ok = m == 1 || m == scores[off + i];
    }
    if (!ok) {
      throw MeshcException.input("attention: mask %s does not broadcast to scores %s",
          mask, Shape.of(scores));
    }
  }

  public long heads() {
    return q.shape().dim(-3);
  }

  public long kvHeads() {
    return k.shape().dim(-3);
  }

  /** The query heads that read one kv head (1 without grouped-query attention). */
  public long group() {
    return heads() / kvHeads();
  }

  /** The kv head (batch × kv heads + kv head) that query head {@code queryHead} (batch × heads + head) reads. */
  public int kvHead(long queryHead) {
    return (int) (queryHead / heads() * kvHeads() + queryHead % heads() / group());
  }

  public long headDim() {
    return q.shape().dim(-1);
  }

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return mask == null ? List.of(q, k, v) : List.of(q, k, v, mask);
  }

  @Override
  public Attrs attrs() {
    return Attrs.builder().put("causal", causal ? 1 : 0).put("scale", scale).build();
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
