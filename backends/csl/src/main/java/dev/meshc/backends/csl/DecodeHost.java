package dev.meshc.backends.csl;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.meshc.ir.Module;
import dev.meshc.ir.Weight;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The host side of a decode project: {@code weights.json} (for every array a PE holds, which ONNX
 * initializers feed it, which of their rows and columns times which factor, and how it is tiled;
 * each region's sizes — the plan's tiling, so that the script invents nothing) and {@code run.py},
 * which tiles them onto the PEs and generates tokens.
 */
final class DecodeHost {
  private DecodeHost() {}

  static String manifest(DecodeModel d, Module m, List<DecodeCsl.Region> regions, List<HandoffCsl.Link> links,
      String modelPath, long ctx) {
    JsonObject j = new JsonObject();
    j.addProperty("format", "meshc-decode 2");
    j.addProperty("model", d.name());
    j.addProperty("onnx", modelPath);
    j.addProperty("input", m.inputs().get(0).name());
    j.addProperty("width", d.width());
    j.addProperty("heads", d.heads());
    j.addProperty("kv_heads", d.kvHeads());
    j.addProperty("head_dim", d.headDim());
    j.addProperty("vocab", d.vocab());
    j.addProperty("max_context", ctx);
    if (d.rope() != null) {
      JsonObject r = new JsonObject();
      r.addProperty("theta", (double) d.rope().theta());
      r.addProperty("rotary_dim", d.rope().rotaryDim());
      j.add("rope", r);
    } else {
      j.add("rope", JsonNull.INSTANCE);
    }
    DecodeModel.Prelude p = d.prelude();
    JsonObject pre = new JsonObject();
    pre.add("token", source(m, p.token()));
    pre.addProperty("token_coef", p.tokenCoef());
    pre.add("position", p.position() == null ? JsonNull.INSTANCE : source(m, p.position()));
    pre.addProperty("position_coef", p.positionCoef());
    pre.addProperty("position_offset", p.positionOffset());
    j.add("embedding", pre);
    j.add("x", tile(DecodeProgram.x(d)));
    j.add("logits", tile(DecodeProgram.logits(d)));
    j.add("heads_tile", tile(DecodeProgram.heads(d)));
    JsonArray rs = new JsonArray();
    for (DecodeCsl.Region r : regions) {
      JsonObject o = new JsonObject();
      o.addProperty("index", r.index());
      o.addProperty("wafer", r.wafer());
      o.addProperty("x", r.x());
      o.addProperty("y", r.y());
      o.addProperty("p", r.p());
      JsonArray layers = new JsonArray();
      layers.add(r.layer0());
      layers.add(r.layer0() + r.layers());
      o.add("layers", layers);
      o.addProperty("lm_head", r.lmHead());
      o.addProperty("St", r.st());
      // the first region of its chain, which the host launches; whether the residual comes in on the fabric
      o.addProperty("chain", HandoffCsl.chain(links, r.index()));
      o.addProperty("fabric_in", HandoffCsl.into(links, r.index()) != null);
      rs.add(o);
    }
    j.add("regions", rs);
    JsonArray arrays = new JsonArray();
    for (DecodeModel.Array a : d.arrays()) {
      JsonObject o = new JsonObject();
      o.addProperty("symbol", a.symbol());
      o.addProperty("what", a.what());
      o.addProperty("per_layer", a.perLayer());
      o.addProperty("tiling", a.tiling());
      o.add("rows", a.rows() == null ? JsonNull.INSTANCE : tile(a.rows()));
      o.addProperty("row_map", a.rowMap() == null ? null : runs(a.rowMap()));
      JsonArray parts = new JsonArray();
      for (DecodeModel.Cols c : a.parts()) {
        JsonObject pt = new JsonObject();
        pt.add("cols", tile(c.tile()));
        pt.addProperty("col_map", runs(c.map()));
        pt.addProperty("col_scale", c.scale() == null ? null : scales(c.scale()));
        parts.add(pt);
      }
      o.add("parts", parts);
      JsonArray src = new JsonArray();
      for (DecodeModel.Src s : a.sources()) {
        src.add(source(s.initializer(), s.perm()));
      }
      o.add("sources", src);
      arrays.add(o);
    }
    j.add("arrays", arrays);
    return new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create().toJson(j) + "\n";
  }

  /** A tile as run.py computes it: n values over the region's side, rounded up to even when asked. */
  private static JsonObject tile(DecodeModel.Tile t) {
    JsonObject o = new JsonObject();
    o.addProperty("n", t.n());
    o.addProperty("even", t.even());
    return o;
  }

  private static JsonObject source(Module m, String weight) {
    Weight w = m.weights().stream().filter(x -> x.name().equals(weight)).findFirst().orElseThrow();
    return source(w.source(), w.perm());
  }

  private static JsonObject source(String initializer, List<Integer> perm) {
    JsonObject o = new JsonObject();
    o.addProperty("initializer", initializer);
    JsonArray pa = new JsonArray();
    if (perm != null) {
      perm.forEach(pa::add);
    }
    o.add("perm", pa);
    return o;
  }

  /** Indices as runs of consecutive ones, "start:length" separated by spaces. */
  static String runs(int[] map) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < map.length;) {
      int k = i + 1;
      while (k < map.length && map[k] == map[k - 1] + 1) {
        k++;
      }
      b.append(b.length() == 0 ? "" : " ").append(map[i]).append(':').append(k - i);
      i = k;
    }
    return b.toString();
  }

  /** Factors as runs of equal ones, "value*count" separated by spaces. */
  private static String scales(float[] f) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < f.length;) {
      int k = i + 1;
      while (k < f.length && f[k] == f[i]) {
        k++;
      }
      b.append(b.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%s", f[i])).append('*').append(k - i);
      i = k;
    }
    return b.toString();
  }

  /** The decode project's host script: fixed (resource {@code host/decode_run.py}) but for the runtime's choice. */
  static String script() {
    return HostFiles.fill("decode_run.py", Map.of("RUNTIME", HostFiles.fill("runtime.py", Map.of()).stripTrailing()));
  }
}
