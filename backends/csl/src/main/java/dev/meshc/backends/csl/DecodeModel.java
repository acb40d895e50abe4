package dev.meshc.backends.csl;

import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.op.Activation;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.Embedding;
import dev.meshc.ir.op.GatedActivation;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.LayerNorm;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.MergeHeads;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.RmsNorm;
import dev.meshc.ir.op.Rope;
import dev.meshc.ir.op.SplitHeads;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the decode CSL program and its host script need from a lifted decoder: the layer shape,
 * and for every layer which ONNX initializers (and which of their columns) are W_q, W_k, W_v,
 * W_o, the FFN's and the norms', found by following the tile IR from attention back to the
 * projections. A model outside this shape (no attention, a norm after the block, an activation
 * the PE program has no formula for) is refused with the reason.
 */
record DecodeModel(String name, long width, long heads, long kvHeads, long headDim, long ffn, boolean layerNorm,
    boolean gated, String activation, boolean rope, float theta, float eps, float scale, boolean biased,
    List<LayerWeights> layers, Norm finalNorm, Proj lmHead, String tokenTable, String positionTable,
    Map<String, Source> sources) {

  /** An initializer and how the tile IR reads it: its permutation ([1,0] is a transpose). */
  record Source(String initializer, List<Integer> perm) {}

  /** A projection: the tile-IR weight, the columns of it this role takes, and its bias. */
  record Proj(String weight, long col0, long cols, String bias) {}

  /** A norm's scale and shift (null when absent). */
  record Norm(String gamma, String beta) {}

  record LayerWeights(Norm attnNorm, Proj q, Proj k, Proj v, Proj o, Norm ffnNorm, Proj gate, Proj up, Proj down) {}

  static DecodeModel of(Module m) {
    if (m.layers().isEmpty()) {
      throw MeshcException.input("%s has no recognised decoder layers: CSL is written for decoder models", m.name());
    }
    Map<String, Op> producer = new HashMap<>();
    for (Op op : m.ops()) {
      for (Value v : op.results()) {
        producer.put(v.name(), op);
      }
    }
    Layer first = m.layers().get(0);
    String act = first.info().getString("activation", "");
    if (!List.of("swiglu", "gelu_tanh", "silu").contains(act)) {
      throw MeshcException.input("%s: the decode CSL program computes swiglu, silu and gelu_tanh, not '%s'", m.name(),
          act);
    }
    if (!first.info().getString("norm_position", "pre").equals("pre")) {
      throw MeshcException.input("%s: the decode CSL program is written for pre-norm layers", m.name());
    }
    List<LayerWeights> layers = new ArrayList<>();
    boolean[] rope = {false};
    float[] theta = {0f};
    float[] eps = {1e-5f};
    float scale = 1f;
    boolean biased = false;
    for (Layer l : m.layers()) {
      List<Op> ops = m.ops().subList(l.start(), l.end());
      List<Op> norms = ops.stream().filter(o -> o instanceof LayerNorm || o instanceof RmsNorm).toList();
      Attention att = (Attention) ops.stream().filter(o -> o instanceof Attention).findFirst()
          .orElseThrow(() -> MeshcException.input("%s layer %d has no attention", m.name(), l.index()));
      if (norms.size() != 2) {
        throw MeshcException.input("%s layer %d has %d norms; the decode program expects two", m.name(), l.index(),
            norms.size());
      }
      scale = att.scale();
      Proj q = trace(att.q(), producer, rope, theta);
      Proj k = trace(att.k(), producer, rope, theta);
      Proj v = trace(att.v(), producer, rope, theta);
      Proj o = null;
      Proj gate = null;
      Proj up = null;
      Proj down = null;
      for (Op op : ops) {
        if (op instanceof Linear lin) {
          Op src = producer.get(lin.x().name());
          if (src instanceof MergeHeads) {
            o = proj(lin, 0, lin.w().shape().dim(1));
          } else if (src instanceof GatedActivation || src instanceof Activation) {
            down = proj(lin, 0, lin.w().shape().dim(1));
          }
        } else if (op instanceof GatedActivation g) {
          gate = trace(g.gate(), producer, rope, theta);
          up = trace(g.up(), producer, rope, theta);
        } else if (op instanceof Activation a) {
          up = trace(a.x(), producer, rope, theta);
        }
      }
      if (o == null || up == null || down == null) {
        throw MeshcException.input("%s layer %d: its output projection or FFN is not where the decode program "
            + "expects them", m.name(), l.index());
      }
      eps[0] = norms.get(0) instanceof LayerNorm n ? n.eps() : ((RmsNorm) norms.get(0)).eps();
      biased |= q.bias() != null || o.bias() != null || down.bias() != null;
      layers.add(new LayerWeights(norm(norms.get(0)), q, k, v, o, norm(norms.get(1)), gate, up, down));
    }
    int last = m.layers().get(m.layers().size() - 1).end();
    Norm finalNorm = null;
    Proj lm = null;
    for (Op op : m.ops().subList(last, m.ops().size())) {
      if (op instanceof LayerNorm || op instanceof RmsNorm) {
        finalNorm = norm(op);
      } else if (op instanceof Linear lin) {
        lm = proj(lin, 0, lin.w().shape().dim(1));
      }
    }
    String token = null;
    String position = null;
    for (Op op : m.ops().subList(0, first.start())) {
      if (op instanceof Embedding e) {
        if (m.consts().stream().anyMatch(c -> c.value().name().equals(e.ids().name()))) {
          position = e.table().name();
        } else {
          token = e.table().name();
        }
      }
    }
    if (finalNorm == null || lm == null || token == null) {
      throw MeshcException.input("%s: the decode program needs an embedding, a final norm and an LM head", m.name());
    }
    Map<String, Source> sources = new LinkedHashMap<>();
    for (Weight w : m.weights()) {
      sources.put(w.name(), new Source(w.source(), w.perm()));
    }
    return new DecodeModel(m.name(), first.info().getInt("width", 0), first.info().getInt("heads", 0),
        first.info().getInt("kv_heads", 0), first.info().getInt("head_dim", 0), first.info().getInt("ffn", 0),
        first.info().getString("norm", "").equals("layer_norm"), act.equals("swiglu"), act, rope[0], theta[0], eps[0],
        scale, biased, List.copyOf(layers), finalNorm, lm, token, position, sources);
  }

  private static Norm norm(Op op) {
    List<Value> in = op.operands();
    return new Norm(in.size() > 1 ? in.get(1).name() : null, in.size() > 2 ? in.get(2).name() : null);
  }

  private static Proj proj(Linear lin, long col0, long cols) {
    return new Proj(lin.w().name(), col0, cols, lin.bias() == null ? null : lin.bias().name());
  }

  /** Follows a value back through RoPE, the head split and a Split of a fused projection to its linear. */
  private static Proj trace(Value v, Map<String, Op> producer, boolean[] rope, float[] theta) {
    long col0 = 0;
    long cols = v.shape().dim(-1);
    Value at = v;
    for (int guard = 0; guard < 16; guard++) {
      Op op = producer.get(at.name());
      if (op instanceof Rope r) {
        rope[0] = true;
        theta[0] = r.theta();
        if (r.interleaved() || r.rotaryDim() != r.x().shape().dim(-1)) {
          throw MeshcException.input("the decode CSL program rotates whole heads by halves (rotate_half); this "
              + "model's RoPE is %s", r.interleaved() ? "interleaved" : "partial");
        }
        at = r.x();
      } else if (op instanceof SplitHeads s) {
        cols = s.operands().get(0).shape().dim(-1);
        at = s.operands().get(0);
      } else if (op instanceof Generic g && g.type().equals("Split")) {
        int idx = g.results().indexOf(at);
        long[] split = g.attrs().getInts("split");
        for (int i = 0; i < idx; i++) {
          col0 += split[i];
        }
        cols = split[idx];
        at = g.operands().get(0);
      } else if (op instanceof Linear lin) {
        return proj(lin, col0, cols);
      } else {
        throw MeshcException.input("a projection of the attention or FFN is computed by %s, which the decode CSL "
            + "program does not follow", op == null ? "an input" : op.name());
      }
    }
    throw MeshcException.input("a projection is nested too deeply to follow");
  }
}
