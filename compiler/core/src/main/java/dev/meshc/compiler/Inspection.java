package dev.meshc.compiler;

import dev.meshc.compiler.onnx.OnnxGraph;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Module;
import dev.meshc.ir.Value;
import dev.meshc.ir.op.Op;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What {@code meshc inspect} reports about a model: the ONNX op histogram, the tile blocks it
 * lifted to, its layers, parameters and interface. A plain value, so the CLI prints it as text or
 * JSON and the Maven plugin logs it.
 */
public record Inspection(String model, long irVersion, int opset, String producer, int nodes, int nodesAfterFolding,
    SortedMap<String, Integer> ops, SortedMap<String, Integer> blocks, List<TensorInfo> inputs,
    List<TensorInfo> outputs, List<LayerInfo> layers, Head head, long parameters, long parameterBytes) {

  /**
   * The LM head: the linear that produces a model output after the last layer, if any, and
   * whether it reads the token embedding's own table (tied weights).
   */
  public record Head(long width, long vocab, boolean tied) {}

  /** A model input or output. */
  public record TensorInfo(String name, String dtype, List<Long> shape) {}

  /** One transformer layer as lifting recognised it. */
  public record LayerInfo(int index, String kind, long heads, long kvHeads, long headDim, long ffn, String activation,
      String norm, String normPosition, String residual, Rope rope, long width, int ops) {}

  /** A layer's rotary embedding: rotated channels per head, pair layout, θ (0 when the model gives tables). */
  public record Rope(long rotaryDim, boolean interleaved, double theta) {}

  public static Inspection of(OnnxGraph g, Module m) {
    SortedMap<String, Integer> blocks = new TreeMap<>();
    for (Op op : m.ops()) {
      blocks.merge(op.name(), 1, Integer::sum);
    }
    List<LayerInfo> layers = new ArrayList<>();
    for (Layer l : m.layers()) {
      Attrs a = l.info();
      layers.add(new LayerInfo(l.index(), l.kind(), a.getInt("heads", 0), a.getInt("kv_heads", 0),
          a.getInt("head_dim", 0), a.getInt("ffn", 0), a.getString("activation", "none"),
          a.getString("norm", "none"), a.getString("norm_position", "pre"), a.getString("residual", "sequential"),
          a.getInt("rotary_dim", 0) > 0 ? new Rope(a.getInt("rotary_dim", 0), a.getInt("rope_interleaved", 0) != 0,
              a.getFloat("rope_theta", 0f)) : null,
          a.getInt("width", 0), l.size()));
    }
    return new Inspection(g.name(), g.irVersion(), g.opset(), g.producer().trim(), g.nodesWritten(), g.nodes().size(),
        g.opHistogram(), blocks, infos(m.inputs()), infos(m.outputs()), layers, head(m), m.parameterCount(),
        m.parameterBytes());
  }

  /** The LM head of {@code m}, or null when no linear after the last layer makes an output. */
  public static Head head(Module m) {
    int after = m.layers().isEmpty() ? 0 : m.layers().get(m.layers().size() - 1).end();
    java.util.Map<String, String> sources = new java.util.HashMap<>();
    m.weights().forEach(w -> sources.put(w.name(), w.source()));
    String table = null;
    for (Op op : m.ops()) {
      if (op instanceof dev.meshc.ir.op.Embedding e && table == null) {
        table = sources.get(e.table().name());
      }
    }
    java.util.Set<Value> outs = new java.util.HashSet<>(m.outputs());
    for (int i = m.ops().size() - 1; i >= after; i--) { // outputs reached through a scalar scale (Granite's logits)
      Op op = m.ops().get(i);
      if (op instanceof dev.meshc.ir.op.Generic g && (g.type().equals("Mul") || g.type().equals("Div"))
          && outs.contains(g.results().get(0)) && g.operands().get(1).shape().elements() == 1) {
        outs.add(g.operands().get(0));
      }
    }
    for (int i = m.ops().size() - 1; i >= after; i--) {
      if (m.ops().get(i) instanceof dev.meshc.ir.op.Linear l && outs.contains(l.out())) {
        return new Head(l.w().shape().dim(0), l.w().shape().dim(1),
            table != null && table.equals(sources.get(l.w().name())));
      }
    }
    return null;
  }

  private static List<TensorInfo> infos(List<Value> vs) {
    return vs.stream().map(v -> new TensorInfo(v.name(), v.dtype().irName(), v.shape().toList())).toList();
  }

  /**
   * One line per run of identical layers, e.g.
   * {@code 6 × encoder layer: attention 12 heads × 32, FFN 1536 gelu_erf, layer_norm (post-norm)}.
   */
  public List<String> layerSummary() {
    List<String> lines = new ArrayList<>();
    int i = 0;
    while (i < layers.size()) {
      String d = describe(layers.get(i));
      int j = i;
      while (j < layers.size() && describe(layers.get(j)).equals(d)) {
        j++;
      }
      lines.add((j - i) + " × " + d);
      i = j;
    }
    return lines;
  }

  private static String describe(LayerInfo l) {
    StringBuilder s = new StringBuilder(l.kind()).append(" layer: attention ").append(l.heads()).append(" heads × ")
        .append(l.headDim());
    if (l.kvHeads() != l.heads()) {
      s.append(" (").append(l.kvHeads()).append(l.kvHeads() == 1 ? " kv head)" : " kv heads)");
    }
    if (l.ffn() > 0) {
      s.append(", FFN ").append(l.ffn()).append(' ').append(l.activation());
    }
    if (l.rope() != null) {
      s.append(", RoPE ").append(l.rope().rotaryDim() == l.headDim() ? "" : l.rope().rotaryDim() + " of " + l.headDim()
          + " channels, ").append(l.rope().interleaved() ? "interleaved" : "half-split")
          .append(l.rope().theta() > 0 ? String.format(Locale.ROOT, " θ %.0f", l.rope().theta()) : " (tables)");
    }
    s.append(", ").append(l.norm()).append(" (").append(l.normPosition()).append("-norm");
    return s.append(l.residual().equals("parallel") ? ", parallel residual)" : ")").toString();
  }

  /** Bytes as a person reads them: 1.5 KiB, 86.2 MiB. */
  public static String humanBytes(long b) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = b;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? b + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
