package dev.meshc.compiler.plan;

import dev.meshc.backends.csl.DecodeMemory;
import dev.meshc.compiler.Inspection;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Resequence;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.op.Op;
import dev.meshc.ir.op.Generic;
import java.util.ArrayList;
import java.util.List;

/**
 * What the planner needs of a lifted model: its layers' shapes, in order, and the LM head. Read
 * from the tile IR's layer facts, never from weight bytes. {@code storage}: what a decode PE of
 * the model declares ({@link DecodeMemory}, from the model lifted at one token), the bytes the
 * planner sizes decode regions by; null for a model the decode program refuses, whose regions the
 * kernel templates' buffers size.
 */
public record ModelShape(String name, List<LayerShape> layers, Head head, DecodeMemory storage) {
  /**
   * One transformer layer: width, attention heads, FFN; {@code gated} for SwiGLU/GeGLU; and the
   * layer's ops as the tile IR has them ({@code program}), from which the prefill kernel program
   * is lowered (empty for a shape given by hand).
   */
  public record LayerShape(long width, long heads, long kvHeads, long headDim, long ffn, boolean gated,
      boolean normed, Ops program) {
    public LayerShape(long width, long heads, long kvHeads, long headDim, long ffn, boolean gated, boolean normed) {
      this(width, heads, kvHeads, headDim, ffn, gated, normed, Ops.NONE);
    }

    public long dq() {
      return heads * headDim;
    }

    public long dkv() {
      return kvHeads * headDim;
    }

    /** Output columns of the fused FFN input projection (gate and up together when gated). */
    public long ffnIn() {
      return gated ? 2 * ffn : ffn;
    }
  }

  /** The LM head: a [width] → [vocab] projection after the last layer, and the ops after it (with the final norm). */
  public record Head(long width, long vocab, Ops program) {
    public Head(long width, long vocab) {
      this(width, vocab, Ops.NONE);
    }
  }

  /**
   * Ops of the module from index {@code start}, over activations of {@code seq} tokens: what
   * {@link dev.meshc.ir.kernel.KernelProgram#lower} reads.
   */
  public record Ops(int start, List<Op> ops, long seq) {
    public static final Ops NONE = new Ops(0, List.of(), 0);

    public Ops {
      ops = List.copyOf(ops);
    }

    /** The prefill kernel program of these ops at {@code tokens} on a P×P region, in op order. */
    public List<KernelProgram.Invocation> lower(long tokens, int p) {
      List<KernelProgram.Invocation> out = new ArrayList<>();
      for (int i = 0; i < ops.size(); i++) {
        out.addAll(KernelProgram.lower(ops.get(i), start + i, seq, tokens, p, false));
      }
      return out;
    }

    /** The decode kernel program of these ops for one token against {@code context} cached, on a P×P region. */
    public List<KernelProgram.Invocation> decode(long context, int p) {
      return KernelProgram.decode(ops, start, seq, i -> p, context, false);
    }
  }

  public ModelShape {
    layers = List.copyOf(layers);
  }

  public ModelShape(String name, List<LayerShape> layers, Head head) {
    this(name, layers, head, null);
  }

  /**
   * {@link #of(Module)} for planning decode: with the storage of the decode program of {@code m}
   * re-sequenced at one token (the program is one token's; only its sizes are read, which the
   * sequence length does not change), when the decode program takes the model.
   */
  public static ModelShape decoding(Module m) {
    ModelShape s = of(m);
    DecodeMemory storage;
    try {
      storage = DecodeMemory.of(Resequence.traced(m) == 1 ? m : Resequence.at(m, 1));
    } catch (MeshcException refused) {
      storage = null; // an encoder, or a decoder the CSL cannot run: the templates size it
    }
    return new ModelShape(s.name, s.layers, s.head, storage);
  }

  public static ModelShape of(Module m) {
    if (m.layers().isEmpty()) {
      throw MeshcException.input("%s: lifting found no transformer layers, so there is nothing to place (meshc "
          + "inspect shows what it recognised)", m.name());
    }
    List<LayerShape> layers = new ArrayList<>();
    long seq = Resequence.traced(m);
    for (Layer l : m.layers()) {
      Attrs a = l.info();
      String act = a.getString("activation", "none");
      layers.add(new LayerShape(a.getInt("width", 0), a.getInt("heads", 0), a.getInt("kv_heads", 0),
          a.getInt("head_dim", 0), a.getInt("ffn", 0), act.equals("swiglu") || act.startsWith("geglu"),
          !a.getString("norm", "none").equals("none"), new Ops(l.start(), m.ops().subList(l.start(), l.end()), seq)));
      LayerShape s = layers.get(layers.size() - 1);
      if (s.width() < 1 || s.heads() < 1 || s.headDim() < 1 || s.kvHeads() < 1) {
        throw MeshcException.input("%s: layer %d has no width or attention heads the planner can read (ONNX nodes "
            + "%s)", m.name(), l.index(), unlifted(m, l));
      }
      if (s.ffn() < 1) {
        throw MeshcException.input("%s: layer %d: no FFN recognised (expected linear → activation (GELU, SiLU, "
            + "ReLU, or gated) → linear after the attention's residual add); ONNX nodes not lifted to a block: %s",
            m.name(), l.index(), unlifted(m, l));
      }
    }
    Inspection.Head h = Inspection.head(m);
    int end = m.layers().get(m.layers().size() - 1).end();
    return new ModelShape(m.name(), layers, h == null ? null
        : new Head(h.width(), h.vocab(), new Ops(end, m.ops().subList(end, m.ops().size()), seq)));
  }

  /** The ONNX nodes of a layer's ops that lifting left generic, for an error message (the first few). */
  private static String unlifted(Module m, Layer l) {
    List<String> nodes = m.ops().subList(l.start(), l.end()).stream().filter(op -> op instanceof Generic)
        .flatMap(op -> op.loc().nodes().stream()).distinct().toList();
    if (nodes.isEmpty()) {
      return "(none: every op is a block)";
    }
    return String.join(", ", nodes.subList(0, Math.min(6, nodes.size())))
        + (nodes.size() > 6 ? ", … (" + nodes.size() + " in all)" : "");
  }

  /**
   * The shape every layer fits in: equal to each layer when all are identical (the usual case).
   * Its program is that of the layer with the most weights (the first of them), which for
   * identical layers is each layer's.
   */
  public LayerShape envelope() {
    LayerShape e = layers.get(0);
    LayerShape biggest = e;
    for (LayerShape s : layers) {
      e = new LayerShape(Math.max(e.width(), s.width()), Math.max(e.heads(), s.heads()),
          Math.max(e.kvHeads(), s.kvHeads()), Math.max(e.headDim(), s.headDim()), Math.max(e.ffn(), s.ffn()),
          e.gated() || s.gated(), e.normed() || s.normed(), e.program());
      if (params(s) > params(biggest)) {
        biggest = s;
      }
    }
    return new LayerShape(e.width(), e.heads(), e.kvHeads(), e.headDim(), e.ffn(), e.gated(), e.normed(),
        biggest.program());
  }

  private static long params(LayerShape s) {
    return s.width() * (s.dq() + 2 * s.dkv() + s.dq() + s.ffnIn() + s.ffn());
  }
}
