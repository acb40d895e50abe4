package dev.meshc.ir.eval;

import dev.meshc.ir.Const;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.kernel.LocalFn;
import dev.meshc.ir.onnx.Broadcast;
import dev.meshc.ir.onnx.Kernels;
import dev.meshc.ir.onnx.OnnxOps;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The golden model: evaluates a tile-IR module in plain Java fp32 (double accumulation). Every
 * later stage (the mesh runtime, the CSL host check) is compared against it op by op. Weights are
 * read from the {@link WeightStore} when first needed; values are dropped after their last use.
 */
public final class ReferenceEvaluator {
  private ReferenceEvaluator() {}

  /** Runs the module; returns the outputs by name. */
  public static Map<String, Tensor> run(Module m, Map<String, Tensor> inputs, WeightStore weights) {
    return run(m, inputs, weights, (op, results) -> { });
  }

  /** Runs the module, showing each op's results to {@code observer} as they are computed. */
  public static Map<String, Tensor> run(Module m, Map<String, Tensor> inputs, WeightStore weights,
      BiConsumer<Op, List<Tensor>> observer) {
    return run(m, inputs, weights, observer, (i, op, args) -> eval(op, args));
  }

  /** How one op (number {@code index} of the module body) is computed from its operands. */
  @FunctionalInterface
  public interface Executor {
    List<Tensor> run(int index, Op op, List<Tensor> operands);
  }

  /**
   * Runs the module with each op computed by {@code executor} (another backend's kernels), the
   * walk, weights and value lifetimes being this evaluator's.
   */
  public static Map<String, Tensor> run(Module m, Map<String, Tensor> inputs, WeightStore weights,
      BiConsumer<Op, List<Tensor>> observer, Executor executor) {
    Map<String, Tensor> env = new HashMap<>();
    for (Value in : m.inputs()) {
      Tensor t = inputs.get(in.name());
      if (t == null) {
        throw MeshcException.input("input '%s' %s is not given", in.name(), in.type());
      }
      if (!t.shape().equals(in.shape()) || t.dtype() != in.dtype()) {
        throw MeshcException.input("input '%s' should be %s%s, is %s%s", in.name(), in.dtype().irName(), in.shape(),
            t.dtype().irName(), t.shape());
      }
      env.put(in.name(), t);
    }
    for (Const c : m.consts()) {
      env.put(c.value().name(), c.data());
    }
    Map<String, Weight> byName = new HashMap<>();
    m.weights().forEach(w -> byName.put(w.name(), w));
    Map<String, Integer> lastUse = new HashMap<>();
    for (int i = 0; i < m.ops().size(); i++) {
      for (Value v : m.ops().get(i).operands()) {
        lastUse.put(v.name(), i);
      }
    }
    m.outputs().forEach(v -> lastUse.put(v.name(), Integer.MAX_VALUE));
    for (int i = 0; i < m.ops().size(); i++) {
      Op op = m.ops().get(i);
      List<Tensor> args = op.operands().stream().map(v -> value(env, byName, weights, v)).toList();
      List<Tensor> out = executor.run(i, op, args).stream().map(Tensor::rounded).toList();
      for (int r = 0; r < out.size(); r++) {
        env.put(op.results().get(r).name(), out.get(r));
      }
      observer.accept(op, out);
      for (Value v : op.operands()) {
        if (lastUse.get(v.name()) == i) {
          env.remove(v.name());
        }
      }
    }
    Map<String, Tensor> result = new LinkedHashMap<>();
    for (Value o : m.outputs()) {
      result.put(o.name(), value(env, byName, weights, o));
    }
    return result;
  }

  private static Tensor value(Map<String, Tensor> env, Map<String, Weight> byName, WeightStore store, Value v) {
    Tensor t = env.get(v.name());
    if (t != null) {
      return t;
    }
    Weight w = byName.get(v.name());
    if (w == null) {
      throw new IllegalStateException("value " + v.name() + " is not computed");
    }
    t = store.read(w);
    if (!t.shape().equals(v.shape())) {
      throw new IllegalStateException("weight " + w.name() + " read as " + t.shape() + ", declared " + v.shape());
    }
    env.put(v.name(), t);
    return t;
  }

  /** One op on concrete operands. */
  public static List<Tensor> eval(Op op, List<Tensor> in) {
    // Java 17: no pattern switch; the sealed hierarchy keeps this list complete.
    if (op instanceof Generic g) {
      return OnnxOps.get(g.type()).eval(in, g.attrs());
    } else if (op instanceof Embedding) {
      return List.of(embedding(in.get(0), in.get(1)));
    } else if (op instanceof Linear) {
      return List.of(linear(in.get(0), in.get(1), in.size() > 2 ? in.get(2) : null));
    } else if (op instanceof LayerNorm n) {
      return List.of(norm(in, n.eps(), true));
    } else if (op instanceof RmsNorm n) {
      return List.of(norm(in, n.eps(), false));
    } else if (op instanceof Activation a) {
      return List.of(local(LocalFn.activation(LocalFn.Act.valueOf(a.fn().name())), in));
    } else if (op instanceof GatedActivation a) {
      return List.of(local(LocalFn.gated(LocalFn.Act.valueOf(a.fn().name())), in));
    } else if (op instanceof SplitHeads s) {
      return List.of(splitHeads(in.get(0), (int) s.heads(), op.result().shape()));
    } else if (op instanceof MergeHeads) {
      return List.of(mergeHeads(in.get(0), op.result().shape()));
    } else if (op instanceof Rope r) {
      return List.of(rope(r, in));
    } else if (op instanceof Attention a) {
      return List.of(attention(a, in, op.result().shape()));
    }
    throw new IllegalStateException("no evaluation for " + op.name());
  }

  /** An activation or gated activation: the mesh's local kernel function over the whole tensor. */
  private static Tensor local(LocalFn fn, List<Tensor> in) {
    Tensor x = in.get(0);
    float[] r = new float[x.size()];
    fn.apply(0, in.stream().map(Tensor::floats).toList(), r, r.length);
    return Tensor.ofFloats(x.dtype(), x.shape(), r);
  }

  private static Tensor embedding(Tensor ids, Tensor table) {
    int vocab = (int) table.shape().dim(0);
    int width = (int) table.shape().dim(1);
    long[] d = ids.shape().toArray();
    long[] s = java.util.Arrays.copyOf(d, d.length + 1);
    s[d.length] = width;
    float[] r = new float[ids.size() * width];
    for (int i = 0; i < ids.size(); i++) {
      long id = ids.getLong(i);
      if (id < 0) {
        id += vocab;
      }
      if (id < 0 || id >= vocab) {
        throw MeshcException.input("token id %d is outside the vocabulary [0, %d)", ids.getLong(i), vocab);
      }
      System.arraycopy(table.floats(), (int) id * width, r, i * width, width);
    }
    return Tensor.ofFloats(table.dtype(), Shape.of(s), r);
  }

  private static Tensor linear(Tensor x, Tensor w, Tensor b) {
    int k = (int) w.shape().dim(0);
    int n = (int) w.shape().dim(1);
    int rows = x.size() / k;
    float[] r = new float[rows * n];
    Kernels.matmul(x.floats(), 0, w.floats(), 0, r, 0, rows, k, n);
    if (b != null) {
      float[] bias = b.floats();
      for (int i = 0; i < r.length; i++) {
        r[i] += bias[i % n];
      }
    }
    long[] s = x.shape().toArray();
    s[s.length - 1] = n;
    return Tensor.ofFloats(x.dtype(), Shape.of(s), r);
  }

  private static Tensor norm(List<Tensor> in, float eps, boolean center) {
    Tensor x = in.get(0);
    int n = (int) x.shape().dim(-1);
    float[] g = in.size() > 1 ? in.get(1).floats() : null;
    float[] b = in.size() > 2 ? in.get(2).floats() : null;
    float[] r = Kernels.layerNorm(x.floats(), x.size() / n, n, eps, center, g == null ? null : j -> g[j],
        b == null ? null : j -> b[j]);
    return Tensor.ofFloats(x.dtype(), x.shape(), r);
  }

  /** [P…, S, H·D] → [P…, H, S, D]. */
  private static Tensor splitHeads(Tensor x, int heads, Shape out) {
    int s = (int) x.shape().dim(-2);
    int e = (int) x.shape().dim(-1);
    int d = e / heads;
    int outer = x.size() / (s * e);
    float[] a = x.floats();
    float[] r = new float[a.length];
    for (int o = 0; o < outer; o++) {
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < s; i++) {
          System.arraycopy(a, (o * s + i) * e + h * d, r, ((o * heads + h) * s + i) * d, d);
        }
      }
    }
    return Tensor.ofFloats(x.dtype(), out, r);
  }

  /** [P…, H, S, D] → [P…, S, H·D]. */
  private static Tensor mergeHeads(Tensor x, Shape out) {
    int heads = (int) x.shape().dim(-3);
    int s = (int) x.shape().dim(-2);
    int d = (int) x.shape().dim(-1);
    int e = heads * d;
    int outer = x.size() / (s * e);
    float[] a = x.floats();
    float[] r = new float[a.length];
    for (int o = 0; o < outer; o++) {
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < s; i++) {
          System.arraycopy(a, ((o * heads + h) * s + i) * d, r, (o * s + i) * e + h * d, d);
        }
      }
    }
    return Tensor.ofFloats(x.dtype(), out, r);
  }

  private static Tensor rope(Rope op, List<Tensor> in) {
    Tensor x = in.get(0);
    int s = (int) x.shape().dim(-2);
    int d = (int) x.shape().dim(-1);
    int rd = (int) op.rotaryDim();
    int half = rd / 2;
    float[] cos;
    float[] sin;
    if (in.size() == 3) {
      cos = in.get(1).floats();
      sin = in.get(2).floats();
    } else {
      float[][] t = op.tables(s, 0);
      cos = t[0];
      sin = t[1];
    }
    float[] a = x.floats();
    float[] r = a.clone();
    int rows = x.size() / d;
    LocalFn fn = LocalFn.rope(rd, op.interleaved()); // the rotation the mesh's local kernel computes
    float[] out = new float[rd];
    for (int row = 0; row < rows; row++) {
      int p = row % s;
      int base = row * d;
      if (op.interleaved()) {
        fn.apply(0, List.of(Arrays.copyOfRange(a, base, base + rd), Arrays.copyOfRange(cos, p * rd, p * rd + rd),
            Arrays.copyOfRange(sin, p * rd, p * rd + rd)), out, rd);
        System.arraycopy(out, 0, r, base, rd);
      } else {
        float[] x1 = Arrays.copyOfRange(a, base, base + half);
        float[] x2 = Arrays.copyOfRange(a, base + half, base + rd);
        for (int part = 0; part < 2; part++) {
          int t = p * rd + part * half;
          fn.apply(part, List.of(x1, x2, Arrays.copyOfRange(cos, t, t + half), Arrays.copyOfRange(sin, t, t + half)),
              out, half);
          System.arraycopy(out, 0, r, base + part * half, half);
        }
      }
    }
    return Tensor.ofFloats(x.dtype(), x.shape(), r);
  }

  private static Tensor attention(Attention op, List<Tensor> in, Shape outShape) {
    Tensor q = in.get(0);
    Tensor k = in.get(1);
    Tensor v = in.get(2);
    Tensor mask = in.size() > 3 ? in.get(3) : null;
    int heads = (int) q.shape().dim(-3);
    int sq = (int) q.shape().dim(-2);
    int dim = (int) q.shape().dim(-1);
    int kvHeads = (int) k.shape().dim(-3);
    int sk = (int) k.shape().dim(-2);
    int dv = (int) v.shape().dim(-1);
    int group = heads / kvHeads;
    int batch = q.size() / (heads * sq * dim);
    long[] sd = q.shape().toArray();
    sd[sd.length - 1] = sk;
    Shape scoreShape = Shape.of(sd);
    int[] maskAt = mask == null ? null : Broadcast.offsets(mask.shape(), scoreShape);
    float[] qa = q.floats();
    float[] ka = k.floats();
    float[] va = v.floats();
    float[] out = new float[batch * heads * sq * dv];
    double[] score = new double[sk];
    double[] acc = new double[dv];
    int off = sk - sq;
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int kh = b * kvHeads + h / group;
        for (int i = 0; i < sq; i++) {
          int qi = ((b * heads + h) * sq + i) * dim;
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < sk; j++) {
            double dot = 0;
            int kj = (kh * sk + j) * dim;
            for (int c = 0; c < dim; c++) {
              dot += (double) qa[qi + c] * ka[kj + c];
            }
            // Scale and mask in fp32, as the exported graph does, so large masks behave alike.
            float sc = (float) dot * op.scale();
            if (maskAt != null) {
              sc += mask.floats()[maskAt[((b * heads + h) * sq + i) * sk + j]];
            }
            score[j] = op.causal() && j > i + off ? Double.NEGATIVE_INFINITY : sc;
            max = Math.max(max, score[j]);
          }
          int oi = ((b * heads + h) * sq + i) * dv;
          if (max == Double.NEGATIVE_INFINITY) {
            continue; // every key hidden: the exporters' IsNaN guard gives zeros
          }
          double sum = 0;
          for (int j = 0; j < sk; j++) {
            score[j] = Math.exp(score[j] - max);
            sum += score[j];
          }
          java.util.Arrays.fill(acc, 0);
          for (int j = 0; j < sk; j++) {
            double p = (float) (score[j] / sum);
            int vj = (kh * sk + j) * dv;
            for (int c = 0; c < dv; c++) {
              acc[c] += p * va[vj + c];
            }
          }
          for (int c = 0; c < dv; c++) {
            out[oi + c] = (float) acc[c];
          }
        }
      }
    }
    return Tensor.ofFloats(q.dtype(), outShape, out);
  }
}
