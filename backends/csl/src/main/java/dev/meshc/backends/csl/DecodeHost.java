package dev.meshc.backends.csl;

import dev.meshc.ir.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The host side of a decode project: {@code weights.json} (which ONNX initializers, which of their
 * columns and which permutation feed every projection and norm, and each region's sizes — the
 * plan's tiling, so that the script invents nothing) and {@code run.py}, which tiles them onto the
 * PEs and generates tokens.
 */
final class DecodeHost {
  private DecodeHost() {}

  /** The PE arrays the host writes or reads, as both programs export them. */
  static final List<String> SYMBOLS = List.of("w_qkv", "w_o", "w_in", "w_down", "norms", "biases", "w_lm",
      "final_norm", "x", "rope_cs", "logits");

  static String manifest(DecodeModel d, Module m, List<DecodeCsl.Region> regions, String modelPath, long ctx) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("format", "meshc-decode 1");
    j.put("model", d.name());
    j.put("onnx", modelPath);
    j.put("input", m.inputs().get(0).name());
    j.put("width", d.width());
    j.put("heads", d.heads());
    j.put("kv_heads", d.kvHeads());
    j.put("head_dim", d.headDim());
    j.put("ffn", d.ffn());
    j.put("vocab", DecodeCsl.vocab(d, m));
    j.put("gated", d.gated());
    j.put("layer_norm", d.layerNorm());
    j.put("rope", d.rope());
    j.put("biased", d.biased());
    j.put("theta", (double) d.theta());
    j.put("max_context", ctx);
    List<Object> rs = new ArrayList<>();
    for (DecodeCsl.Region r : regions) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("index", r.index());
      o.put("wafer", r.wafer());
      o.put("x", r.x());
      o.put("y", r.y());
      o.put("p", r.p());
      o.put("layers", List.of(r.layer0(), r.layer0() + r.layers()));
      o.put("lm_head", r.lmHead());
      o.put("Et", r.et());
      o.put("Qt", r.qt());
      o.put("Ft", r.ft());
      o.put("FI", r.fi());
      o.put("St", r.st());
      o.put("Vt", r.vt());
      rs.add(o);
    }
    j.put("regions", rs);
    List<Object> layers = new ArrayList<>();
    for (DecodeModel.LayerWeights l : d.layers()) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("attn_norm", norm(d, l.attnNorm()));
      o.put("q", proj(d, l.q()));
      o.put("k", proj(d, l.k()));
      o.put("v", proj(d, l.v()));
      o.put("o", proj(d, l.o()));
      o.put("ffn_norm", norm(d, l.ffnNorm()));
      o.put("gate", l.gate() == null ? null : proj(d, l.gate()));
      o.put("up", proj(d, l.up()));
      o.put("down", proj(d, l.down()));
      layers.add(o);
    }
    j.put("layers", layers);
    j.put("final_norm", norm(d, d.finalNorm()));
    j.put("lm_head", proj(d, d.lmHead()));
    j.put("embedding", source(d, d.tokenTable()));
    j.put("position_embedding", d.positionTable() == null ? null : source(d, d.positionTable()));
    StringBuilder b = new StringBuilder();
    json(b, j, 0);
    return b.append('\n').toString();
  }

  private static Object source(DecodeModel d, String weight) {
    if (weight == null) {
      return null;
    }
    DecodeModel.Source s = d.sources().get(weight);
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("initializer", s.initializer());
    o.put("perm", s.perm());
    return o;
  }

  private static Object norm(DecodeModel d, DecodeModel.Norm n) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("gamma", source(d, n.gamma()));
    o.put("beta", source(d, n.beta()));
    return o;
  }

  private static Object proj(DecodeModel d, DecodeModel.Proj p) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("weight", source(d, p.weight()));
    o.put("col0", p.col0());
    o.put("cols", p.cols());
    o.put("bias", source(d, p.bias()));
    return o;
  }

  /** A small, stable JSON writer: maps keep their order, two-space indentation, short lists on one line. */
  private static void json(StringBuilder b, Object v, int depth) {
    String pad = "  ".repeat(depth + 1);
    if (v instanceof Map<?, ?> m) {
      b.append("{\n");
      int i = 0;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        b.append(pad).append('"').append(e.getKey()).append("\": ");
        json(b, e.getValue(), depth + 1);
        b.append(++i < m.size() ? ",\n" : "\n");
      }
      b.append("  ".repeat(depth)).append('}');
    } else if (v instanceof List<?> l) {
      boolean flat = l.stream().allMatch(o -> !(o instanceof Map<?, ?>) && !(o instanceof List<?>));
      b.append(flat ? "[" : "[\n");
      for (int i = 0; i < l.size(); i++) {
        if (!flat) {
          b.append(pad);
        }
        json(b, l.get(i), depth + 1);
        b.append(i + 1 < l.size() ? (flat ? ", " : ",\n") : flat ? "" : "\n");
      }
      b.append(flat ? "]" : "  ".repeat(depth) + "]");
    } else if (v instanceof String s) {
      b.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    } else if (v instanceof Double x) {
      b.append(String.format(Locale.ROOT, "%s", x));
    } else {
      b.append(v);
    }
  }

  /** The decode project's host script: fixed (resource {@code host/decode_run.py}) but for the runtime's choice. */
  static String script() {
    return HostFiles.fill("decode_run.py", Map.of("RUNTIME", HostFiles.fill("runtime.py", Map.of()).stripTrailing()));
  }
}
