package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A development check over CSL that others wrote (csl-examples, WaferLLM, extracted outside the
 * repository): every {@code .csl} file parses, and every layout file is evaluated the way
 * check-csl evaluates a project's layout. Skipped unless {@code -Dmeshc.csl.corpus=DIR}; prints
 * the counts and each failure; fails only with {@code -Dmeshc.csl.corpus.strict=true}.
 *
 * <p>A layout's params come from the {@code --params=} flags of the {@code cslc} line in the
 * nearest {@code commands_wse2.sh} / {@code commands_wse3.sh} above it; scripts that compute their
 * params in shell (WaferLLM's {@code run_sim.sh}) get the values of {@link #SCRIPTED}.
 */
@EnabledIfSystemProperty(named = "meshc.csl.corpus", matches = ".+")
class CslCorpusTest {
  /**
   * Params of layouts whose scripts compute them: the defaults of the scripts (Decode, Prefill:
   * "default test values", P=8, dims 64, two groups) or the READMEs' example invocations
   * (MeshGEMM: {@code run_sim.sh 64 1024 1024 1024}; MeshGEMV: {@code run_sim.sh 64 1024 1024 8}),
   * worked through the scripts' arithmetic. Keyed by a path fragment of the layout's folder.
   */
  static final Map<String, Map<String, Object>> SCRIPTED = Map.of(
      "WaferLLM/Decode/", Map.ofEntries(Map.entry("P", 8L), Map.entry("bsz", 1L), Map.entry("dim_p_pe", 8L),
          Map.entry("pes_p_head", 8L), Map.entry("pes_p_kv_head", 8L), Map.entry("head_dim_p_pe", 8L),
          Map.entry("seq_len_p_pe", 8L), Map.entry("ffn_dim_p_pe", 8L), Map.entry("pe_num_p_group", 4L),
          Map.entry("root_1st_phase", 2L), Map.entry("root_2nd_phase", 6L)),
      "WaferLLM/Prefill/", Map.of("P", 8L, "dim_p_pe", 8L, "pes_p_head", 8L, "pes_p_kv_head", 8L,
          "head_dim_p_pe", 8L, "seq_len_p_pe", 8L, "ffn_dim_p_pe", 8L),
      "WaferLLM/MeshGEMM/", Map.of("P", 64L, "Mt", 16L, "Kt", 16L, "Nt", 16L),
      "WaferLLM/MeshGEMV/", Map.of("P", 64L, "Mt", 16L, "Nt", 16L, "pe_num_group", 8L, "root_1st_phase", 4L,
          "root_2nd_phase", 36L));

  static final Pattern LAYOUT = Pattern.compile("(?m)^\\s*layout\\s*\\{|@set_rectangle");
  static final Pattern PARAMS = Pattern.compile("--(params|colors)[= ]([^\\s\\\\]+)");

  @Test
  void corpusParsesAndLayoutsEvaluate() throws IOException {
    Path root = Path.of(System.getProperty("meshc.csl.corpus"));
    List<Path> files;
    try (Stream<Path> s = Files.walk(root)) {
      files = s.filter(f -> f.toString().endsWith(".csl") && Files.isRegularFile(f)).sorted().toList();
    }
    List<String> parseFailures = new ArrayList<>();
    List<String> layoutFailures = new ArrayList<>();
    List<String> evaluatedLines = new ArrayList<>();
    int parsed = 0;
    int layouts = 0;
    int evaluated = 0;
    for (Path f : files) {
      CslSource src;
      try {
        src = CslSource.read(f);
        parsed++;
      } catch (MeshcException e) {
        parseFailures.add(e.getMessage());
        src = null;
      }
      if (!LAYOUT.matcher(Files.readString(f, StandardCharsets.UTF_8)).find()) {
        continue;
      }
      layouts++;
      if (src == null) {
        layoutFailures.add(f + ": not parsed");
        continue;
      }
      try {
        Map<String, Object> params = params(root, f);
        Layout l = Layout.evaluate(src, params, Limits.DEFAULTS.comptimeSteps());
        evaluated++;
        // no tiles: the layout is built by an SDK library the corpus does not hold (its calls are opaque)
        evaluatedLines.add(String.format("  %s: %dx%d, %d tiles, %d routes%s (params %s)%n", root.relativize(f),
            l.width(), l.height(), l.tiles().size(), l.routes().size(), l.tiles().isEmpty() ? ", NO TILES" : "",
            params));
      } catch (MeshcException | ArithmeticException e) {
        layoutFailures.add(e.getMessage());
      }
    }
    StringBuilder out = new StringBuilder();
    out.append(String.format("parsed %d of %d%n", parsed, files.size()));
    parseFailures.forEach(m -> out.append("  ").append(m).append('\n'));
    out.append(String.format("layouts evaluated %d of %d%n", evaluated, layouts));
    layoutFailures.forEach(m -> out.append("  ").append(m).append('\n'));
    out.append("evaluated layouts:\n");
    evaluatedLines.forEach(out::append);
    System.out.print(out);
    Files.writeString(Path.of(System.getProperty("java.io.tmpdir"), "csl-corpus-report.txt"), out);
    if (Boolean.getBoolean("meshc.csl.corpus.strict")) {
      assertEquals(List.of(), parseFailures);
      assertEquals(List.of(), layoutFailures);
    }
  }

  /** The params cslc gets for {@code layout}: from the scripts above it, or {@link #SCRIPTED}. */
  static Map<String, Object> params(Path root, Path layout) throws IOException {
    String unix = layout.toString().replace('\\', '/');
    for (Map.Entry<String, Map<String, Object>> e : SCRIPTED.entrySet()) {
      if (unix.contains(e.getKey())) {
        return e.getValue();
      }
    }
    for (Path dir = layout.getParent(); dir != null && dir.startsWith(root); dir = dir.getParent()) {
      for (String script : List.of("commands_wse2.sh", "commands_wse3.sh")) {
        Path sh = dir.resolve(script);
        if (Files.isRegularFile(sh)) {
          return scriptParams(sh.toString(), Files.readString(sh, StandardCharsets.UTF_8));
        }
      }
    }
    return Map.of();
  }

  /**
   * The {@code --params=k:v,...} and {@code --colors=k:id,...} of a script's first cslc command
   * (its lines joined at {@code \}); a colour is located at the script.
   */
  static Map<String, Object> scriptParams(String name, String script) {
    Map<String, Object> ps = new LinkedHashMap<>();
    String joined = script.replaceAll("\\\\\\r?\\n", " ");
    for (String line : joined.split("\\R")) {
      if (!line.trim().startsWith("cslc")) {
        continue;
      }
      Matcher m = PARAMS.matcher(line);
      while (m.find()) {
        for (String kv : m.group(2).split(",")) {
          int colon = kv.indexOf(':');
          if (colon > 0 && m.group(1).equals("colors")) {
            ps.put(kv.substring(0, colon), new Comptime.ColorVal(Integer.parseInt(kv.substring(colon + 1)),
                new Comptime.Loc(name, 1, 1)));
          } else if (colon > 0) {
            String v = kv.substring(colon + 1);
            ps.put(kv.substring(0, colon), v.matches("-?[0-9]+") ? (Object) Long.parseLong(v)
                : v.matches("-?[0-9]*\\.[0-9]+([eE][-+]?[0-9]+)?") ? (Object) Double.parseDouble(v) : v);
          }
        }
      }
      break;
    }
    return ps;
  }
}
