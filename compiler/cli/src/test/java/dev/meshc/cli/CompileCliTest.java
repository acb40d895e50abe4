package dev.meshc.cli;

import static dev.meshc.cli.CliTest.meshc;
import static dev.meshc.cli.CliTest.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code meshc compile}: the plan summary, its files, the exit codes and the explanations. */
class CompileCliTest {
  @TempDir
  Path dir;

  @Test
  void decodePlanAsJsonAndFiles() throws Exception {
    Path out = dir.resolve("out");
    CliTest.Run r = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--phase", "decode",
        "--max-context", "64", "--json", "-o", out.toString());
    assertEquals(0, r.code(), r.err());
    JsonObject j = r.json();
    assertTrue(j.get("feasible").getAsBoolean());
    assertEquals("decode", j.get("phase").getAsString());
    JsonObject region = j.getAsJsonArray("regions").get(0).getAsJsonObject();
    for (String k : new String[] {"x", "y", "width", "height", "layers", "pe_bytes", "colors"}) {
      assertTrue(region.has(k), k);
    }
    assertEquals(0, region.getAsJsonArray("layers").get(0).getAsInt());
    for (String k : new String[] {"pes_used", "max_pe_bytes", "max_colors_per_pe", "predicted_seconds_per_token",
        "predicted_tokens_per_second", "solver_status", "optimality_gap", "wafers"}) {
      assertTrue(j.has(k), k);
    }
    double s = j.get("predicted_seconds_per_token").getAsDouble();
    assertEquals(1 / s, j.get("predicted_tokens_per_second").getAsDouble(), 1e-6 / s);
    assertTrue(j.get("max_pe_bytes").getAsLong() <= 40960);
    assertTrue(Files.readString(out.resolve("report.txt")).contains("predicted:"));
    assertTrue(Files.readString(out.resolve("wafer-decode.svg")).startsWith("<svg"));
    byte[] png = Files.readAllBytes(out.resolve("wafer-decode.png"));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
    assertEquals(r.out().strip(), Files.readString(out.resolve("summary.json")).strip());
  }

  /**
   * --gen-len with a grid per phase: each phase's regions take its side, the decode cache holds the
   * prompt and the generated tokens, and end_to_end_tokens_per_second is generated tokens over
   * the prefill's time and the decode steps', which lie between the shortest and the longest
   * context's per-token time; bad forms are refused in one line.
   */
  @Test
  void endToEndThroughputOnGridsOfTheirOwn() throws Exception {
    CliTest.Run r = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--prompt-len", "16",
        "--gen-len", "48", "--grid", "prefill:4,decode:3", "--json");
    assertEquals(0, r.code(), r.err());
    JsonObject j = r.json();
    JsonObject prefill = j.getAsJsonObject("prefill");
    JsonObject decode = j.getAsJsonObject("decode");
    prefill.getAsJsonArray("regions").forEach(g -> assertEquals(4, g.getAsJsonObject().get("width").getAsInt()));
    decode.getAsJsonArray("regions").forEach(g -> assertEquals(3, g.getAsJsonObject().get("width").getAsInt()));
    assertEquals(64, decode.get("max_context").getAsLong());
    JsonObject e = j.getAsJsonObject("end_to_end");
    assertEquals(16, e.get("prompt_len").getAsLong());
    assertEquals(48, e.get("gen_len").getAsLong());
    double pre = e.get("prefill_seconds").getAsDouble();
    double dec = e.get("decode_seconds").getAsDouble();
    assertEquals(prefill.get("predicted_prefill_seconds").getAsDouble(), pre, 1e-12);
    double perToken = decode.get("predicted_seconds_per_token").getAsDouble(); // at the full 64
    assertTrue(dec <= 48 * perToken * (1 + 1e-9) && dec > 0.5 * 48 * perToken, dec + " vs " + perToken);
    assertEquals(48 / (pre + dec), e.get("end_to_end_tokens_per_second").getAsDouble(), 1e-6);

    CliTest.Run bad = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--grid", "decode:x");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("prefill:P,decode:Q") && bad.err().strip().lines().count() <= 2, bad.err());
    CliTest.Run phase = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--phase", "decode",
        "--gen-len", "8");
    assertEquals(2, phase.code());
    assertTrue(phase.err().contains("--gen-len prices prefill and decode together"), phase.err());
    CliTest.Run small = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--prompt-len", "16",
        "--gen-len", "48", "--max-context", "32");
    assertEquals(2, small.code());
    assertTrue(small.err().contains("--max-context 32 holds fewer than the prompt's 16 and --gen-len's 48"),
        small.err());
  }

  @Test
  void bothPhasesByDefaultAndTheSameBytesTwice() throws Exception {
    String[] args = {"compile", model("tiny-gpt2.onnx"), "--input", "input_ids=1x8", "--prompt-len", "32",
        "--max-context", "64", "-o", dir.resolve("a").toString()};
    CliTest.Run r = meshc(args);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("(prefill, prompt 32)") && r.out().contains("(decode, context up to 64)"), r.out());
    args[args.length - 1] = dir.resolve("b").toString();
    assertEquals(0, meshc(args).code());
    for (String f : new String[] {"report.txt", "summary.json", "wafer-prefill.svg", "wafer-decode.svg",
        "wafer-decode.png"}) {
      assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(f)), Files.readAllBytes(dir.resolve("b").resolve(f)),
          f);
    }
  }

  @Test
  void emitsTheTileIrWithThePlacedPlans() throws Exception {
    Path out = dir.resolve("tir");
    CliTest.Run r = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--emit", "tir", "-o",
        out.toString());
    assertEquals(0, r.code(), r.err());
    assertFalse(Files.exists(out.resolve("report.txt")));
    CliTest.Run check = meshc("check-tir", out.resolve("plan.tir").toString());
    assertEquals(0, check.code(), check.err());
    String text = Files.readString(out.resolve("plan.tir"));
    assertTrue(text.contains("  placement prefill {") && text.contains("  placement decode {"), text);
  }

  @Test
  void contextTooLongExitsOneWithTheReason() {
    CliTest.Run r = meshc("compile", model("llama3-8b-shape.onnx"), "--input", "input_ids=1x16", "--phase", "decode",
        "--max-context", "10000000", "--json");
    assertEquals(1, r.code());
    assertFalse(r.json().get("feasible").getAsBoolean());
    assertTrue(r.json().get("explanation").getAsString().startsWith("context 10000000 is too long for the KV budget"));
    assertEquals(List.of("meshc: no plan for decode"), problems(r).stream().map(l -> l.substring(0, 25)).toList(),
        r.err());
    assertTrue(problems(r).get(0).startsWith("meshc: no plan for decode: context 10000000"), r.err());
  }

  @Test
  void badOptionsExitTwo() {
    for (String[] bad : new String[][] {{"--wafers", "0"}, {"--grid", "800"}, {"--phase", "train"}, {"--gap", "2"},
        {"--emit", "csl"}}) {
      String[] args = new String[6];
      args[0] = "compile";
      args[1] = model("tiny-llama.onnx");
      args[2] = "--input";
      args[3] = "input_ids=1x16";
      args[4] = bad[0];
      args[5] = bad[1];
      CliTest.Run r = meshc(args);
      assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
      assertEquals(1, problems(r).size(), r.err());
    }
    CliTest.Run help = meshc("compile", "--help");
    assertTrue(help.out().contains("Examples:") && help.out().contains("meshc compile"), help.out());
  }

  /**
   * Without a terminal, progress is one line per stage on stderr (numbered against the total);
   * --quiet prints none; the text output ends with the summary and where the outputs went.
   */
  @Test
  void progressLinesQuietAndSummary() throws Exception {
    Path out = dir.resolve("p");
    CliTest.Run r = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--grid", "8",
        "--max-context", "64", "-o", out.toString());
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.err().lines().toList();
    assertEquals(List.of("meshc: [1/4] importing tiny-llama.onnx",
        "meshc: [2/4] planning prefill on wse2 (CP-SAT, deterministic limit 10.0)",
        "meshc: [3/4] planning decode on wse2 (CP-SAT, deterministic limit 10.0)",
        "meshc: [4/4] writing " + out), lines);
    String summary = r.out().substring(r.out().indexOf("summary:"));
    assertTrue(summary.contains("prefill: 1 region on 1 wafer(s), 64 PEs; per PE at most"), summary);
    assertTrue(summary.contains("colours of 21") && summary.contains("tokens/s"), summary);
    assertTrue(summary.trim().endsWith("outputs: report in " + out), summary);

    CliTest.Run q = meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--grid", "8",
        "--max-context", "64", "--quiet", "--json");
    assertEquals(0, q.code(), q.err());
    assertEquals("", q.err());
    assertTrue(q.json().get("feasible").getAsBoolean());
  }

  /** stderr without the progress lines: what names the problem. */
  static List<String> problems(CliTest.Run r) {
    return r.err().strip().lines().filter(l -> !l.matches("meshc: \\[\\d+/\\d+\\] .*")).toList();
  }
}
