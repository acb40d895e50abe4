package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.io.Npy;
import dev.meshc.ir.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The meshc command as a user runs it: exit codes, text, and the documented JSON. */
class CliTest {
  @TempDir
  Path dir;

  /** What one run printed and returned. */
  record Run(int code, String out, String err) {
    JsonObject json() {
      return JsonParser.parseString(out).getAsJsonObject();
    }
  }

  static Run meshc(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static String model(String name) {
    return TestModels.example("models/" + name).toString();
  }

  @Test
  void helpAndVersion() {
    Run help = meshc("--help");
    assertEquals(0, help.code());
    assertTrue(help.out().contains("inspect") && help.out().contains("Exit codes"), help.out());
    for (String cmd : new String[] {"inspect", "compile", "run", "eval", "check-tir", "check-csl", "kernel"}) {
      Run r = meshc(cmd, "--help");
      assertEquals(0, r.code(), cmd);
      assertTrue(r.out().contains("Example") && r.out().contains("meshc " + cmd), r.out());
    }
    Run v = meshc("--version");
    assertEquals(0, v.code());
    assertTrue(v.out().startsWith("meshc "), v.out());
  }

  @Test
  void usageErrorsExitTwo() {
    Run r = meshc("inspect", "--no-such-option", model("tiny-gpt2.onnx"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--no-such-option"), r.err());
    assertEquals(2, meshc("frobnicate").code());
    assertEquals(2, meshc("inspect").code());
  }

  @Test
  void inspectTextSummarisesLayers() {
    Run r = meshc("inspect", model("tiny-gpt2.onnx"), "--input", "input_ids=1x16");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("2 × decoder layer: attention 4 heads × 16, FFN 256 gelu_tanh, layer_norm (pre-norm)"),
        r.out());
    assertTrue(r.out().contains("input_ids i64[1,16]") && r.out().contains("logits f32[1,16,512]"), r.out());
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-gpt2", "tiny-llama"})
  void inspectJsonHasTheDocumentedKeys(String name) {
    Run r = meshc("inspect", model(name + ".onnx"), "--input", "input_ids=1x16", "--json");
    assertEquals(0, r.code(), r.err());
    JsonObject j = r.json();
    for (String key : new String[] {"model", "ir_version", "opset", "producer", "nodes", "nodes_after_folding", "ops",
        "blocks", "layers", "parameters", "parameter_bytes", "inputs", "outputs"}) {
      assertTrue(j.has(key), key + " in " + j.keySet());
    }
    assertTrue(j.getAsJsonObject("ops").get("MatMul").getAsInt() > 0);
    JsonArray layers = j.getAsJsonArray("layers");
    assertEquals(2, layers.size());
    JsonObject l = layers.get(0).getAsJsonObject();
    assertEquals("decoder", l.get("kind").getAsString());
    assertEquals(4, l.get("heads").getAsInt());
    assertEquals(name.equals("tiny-llama") ? 2 : 4, l.get("kv_heads").getAsInt());
    assertEquals(16, l.get("head_dim").getAsInt());
    assertEquals(name.equals("tiny-llama") ? 176 : 256, l.get("ffn").getAsInt());
    assertEquals(name.equals("tiny-llama") ? "swiglu" : "gelu_tanh", l.get("activation").getAsString());
    assertEquals(name.equals("tiny-llama") ? "rms_norm" : "layer_norm", l.get("norm").getAsString());
    JsonObject head = j.getAsJsonObject("lm_head");
    assertEquals(512, head.get("vocab").getAsInt());
    assertEquals(name.equals("tiny-gpt2"), head.get("tied").getAsBoolean());
    JsonObject in = j.getAsJsonArray("inputs").get(0).getAsJsonObject();
    assertEquals("input_ids", in.get("name").getAsString());
    assertEquals("[1,16]", in.getAsJsonArray("shape").toString());
  }

  @Test
  void miniLmIsSixEncoderLayers() {
    Run r = meshc("inspect", TestModels.miniLm().toString(), "--input", "input_ids=1x16", "--json");
    assertEquals(0, r.code(), r.err());
    JsonArray layers = r.json().getAsJsonArray("layers");
    assertEquals(6, layers.size());
    for (var e : layers) {
      JsonObject l = e.getAsJsonObject();
      assertEquals("encoder", l.get("kind").getAsString());
      assertEquals(12, l.get("heads").getAsInt());
      assertEquals(32, l.get("head_dim").getAsInt());
      assertEquals(1536, l.get("ffn").getAsInt());
      assertEquals("gelu_erf", l.get("activation").getAsString());
      assertEquals("layer_norm", l.get("norm").getAsString());
      assertEquals("post", l.get("norm_position").getAsString());
    }
  }

  @Test
  void paperScaleModelWithAbsentWeightsInspects() throws Exception {
    Path m = TestModels.example("models/llama3-8b-shape.onnx");
    assertTrue(Files.notExists(m.resolveSibling("llama3-8b-shape.onnx.data")), "the weights must be absent");
    Run r = meshc("inspect", m.toString(), "--input", "input_ids=1x128", "--json");
    assertEquals(0, r.code(), r.err());
    JsonObject j = r.json();
    assertEquals(32, j.getAsJsonArray("layers").size());
    JsonObject l = j.getAsJsonArray("layers").get(0).getAsJsonObject();
    assertEquals(32, l.get("heads").getAsInt());
    assertEquals(8, l.get("kv_heads").getAsInt());
    assertEquals(128, l.get("head_dim").getAsInt());
    assertEquals(14336, l.get("ffn").getAsInt());
    assertEquals(8_030_261_248L, j.get("parameters").getAsLong());

    Path ids = dir.resolve("ids.npy");
    try (var out = Files.newOutputStream(ids)) {
      Npy.write(Tensor.ofLongs(dev.meshc.ir.Shape.of(1, 128), new long[128]), out);
    }
    Run e = meshc("eval", m.toString(), "--input", "input_ids=" + ids);
    assertEquals(2, e.code());
    assertOneLine(e, "llama3-8b-shape.onnx.data", "missing");
  }

  @Test
  void evalWritesOutputsThatMatchOnnxRuntime() {
    Path out = dir.resolve("out");
    Run r = meshc("eval", model("tiny-gpt2.onnx"), "--input", "input_ids=" + model("tiny-gpt2.input_ids.npy"),
        "--output", out.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    assertEquals("[1,16,512]", r.json().getAsJsonObject("outputs").getAsJsonObject("logits")
        .getAsJsonArray("shape").toString());
    float[] ours = Npy.read(out.resolve("logits.npy")).floats();
    float[] ref = Npy.read(Path.of(model("tiny-gpt2.logits.npy"))).floats();
    double max = 0;
    for (int i = 0; i < ref.length; i++) {
      max = Math.max(max, Math.abs(ours[i] - ref[i]));
    }
    assertTrue(max <= 1e-4, "max abs error " + max);
  }

  @Test
  void emittedTirIsDeterministicAndChecks() throws Exception {
    Path a = dir.resolve("a.tir");
    Path b = dir.resolve("b.tir");
    assertEquals(0, meshc("inspect", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--emit-tir",
        a.toString()).code());
    assertEquals(0, meshc("inspect", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--emit-tir",
        b.toString()).code());
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    Run c = meshc("check-tir", a.toString(), "--json");
    assertEquals(0, c.code(), c.err());
    assertTrue(c.json().get("ok").getAsBoolean());

    Files.writeString(b, Files.readString(a).replace("rms_norm %0", "rms_norm %nope"));
    Run bad = meshc("check-tir", b.toString());
    assertEquals(2, bad.code());
    assertOneLine(bad, "b.tir:", "nope");
  }

  // ---- bad input: exit 2, one line naming the problem, no stack trace -------------------------

  static void assertOneLine(Run r, String... mentions) {
    // progress lines ("meshc: [1/3] importing …") come first; one line names the problem
    String err = String.join("\n", CompileCliTest.problems(r));
    assertEquals(1, err.lines().count(), "one line on stderr, got:\n" + r.err());
    assertTrue(err.startsWith("meshc: error: "), err);
    for (String m : mentions) {
      assertTrue(err.contains(m), "'" + err + "' should mention '" + m + "'");
    }
    assertTrue(r.out().isEmpty(), "nothing on stdout: " + r.out());
  }

  @Test
  void badModelsExitTwoWithOneLine() throws Exception {
    Path empty = Files.createFile(dir.resolve("empty.onnx"));
    assertOneLine(meshc("inspect", empty.toString()), "empty file");

    byte[] junk = new byte[1000];
    new java.util.Random(1).nextBytes(junk);
    Path random = Files.write(dir.resolve("random.onnx"), junk);
    Run r = meshc("inspect", random.toString());
    assertEquals(2, r.code());
    assertOneLine(r, "random.onnx");

    byte[] whole = Files.readAllBytes(Path.of(model("tiny-gpt2.onnx")));
    Path cut = Files.write(dir.resolve("cut.onnx"), java.util.Arrays.copyOf(whole, whole.length - 1000));
    r = meshc("inspect", cut.toString(), "--input", "input_ids=1x16");
    assertEquals(2, r.code());
    assertOneLine(r, "cut.onnx", "truncated or corrupt");

    Path op = dev.meshc.compiler.OnnxBuilder.linear().node("Hardmax", java.util.List.of("y"), java.util.List.of("z"))
        .output("z", 1, "batch", 3).write(dir.resolve("op.onnx"));
    r = meshc("inspect", op.toString(), "--input", "x=1x4");
    assertEquals(2, r.code());
    assertOneLine(r, "Hardmax", "Hardmax_2", "supports");
  }

  @Test
  void badBindingsExitTwoWithOneLine() {
    Run r = meshc("inspect", model("tiny-llama.onnx"));
    assertEquals(2, r.code());
    assertOneLine(r, "input_ids", "dynamic dimension", "--input input_ids=");
    r = meshc("inspect", model("tiny-llama.onnx"), "--input", "tokens=1x16");
    assertEquals(2, r.code());
    assertOneLine(r, "no input 'tokens'", "input_ids");
    r = meshc("inspect", model("tiny-llama.onnx"), "--input", "input_ids=1xq");
    assertEquals(2, r.code());
    assertOneLine(r, "'q' is not a dimension");
  }

  @Test
  void externalDataOutsideTheFolderIsRefused() {
    for (String loc : new String[] {"../w.bin", "/tmp/w.bin"}) {
      Path m = dev.meshc.compiler.OnnxBuilder.linear().external("w2", new long[] {4, 3}, loc, 0, 48)
          .write(dir.resolve("ext.onnx"));
      Run r = meshc("inspect", m.toString(), "--input", "x=1x4");
      assertEquals(2, r.code());
      assertOneLine(r, loc);
    }
  }

  // ---- meshc kernel ---------------------------------------------------------------------------

  @Test
  void kernelRunsFunctionallyAndReportsTheDocumentedKeys() {
    Run r = meshc("kernel", "gemm", "--algorithm", "meshgemm", "--grid", "5", "--shape", "11x13x7", "--json");
    assertEquals(0, r.code(), r.err());
    JsonObject j = r.json();
    for (String key : new String[] {"kind", "algorithm", "grid", "shape", "padded_shape", "machine", "mode",
        "accumulate", "cycles", "seconds", "compute_cycles", "comm_cycles", "compute_efficiency", "estimate_cycles",
        "max_pe_bytes", "max_colors_per_pe", "max_hops_per_step", "transfers", "max_rel_error", "wall_seconds"}) {
      assertTrue(j.has(key), key + " in " + j.keySet());
    }
    assertEquals("[15,15,10]", j.getAsJsonArray("padded_shape").toString());
    assertTrue(j.get("max_rel_error").getAsDouble() <= 1e-3);
    assertTrue(j.get("max_hops_per_step").getAsInt() <= 2);
    assertTrue(j.get("cycles").getAsDouble() > 0);

    Run v = meshc("kernel", "gemv", "--algorithm", "ring", "--grid", "6x5", "--shape", "1x40x30", "--accumulate",
        "fp16");
    assertEquals(0, v.code(), v.err());
    assertTrue(v.out().contains("ring on 6x5 wse2 PEs"), v.out());
  }

  @Test
  void kernelAtWaferScaleMatchesTable6() {
    Run r = meshc("kernel", "gemv", "--grid", "750", "--shape", "1x16384x16384", "--timing-only", "--accumulate",
        "fp16", "--json");
    assertEquals(0, r.code(), r.err());
    assertEquals(1.2e-6, r.json().get("seconds").getAsDouble(), 0.3 * 1.2e-6);
    assertTrue(r.json().get("max_rel_error").isJsonNull());
  }

  @Test
  void kernelErrors() {
    assertOneLine(meshc("kernel", "gemm", "--algorithm", "meshgemv", "--grid", "4", "--shape", "8x8x8"),
        "not a gemm algorithm");
    assertOneLine(meshc("kernel", "gemm", "--grid", "0", "--shape", "8x8x8"), "--grid");
    assertOneLine(meshc("kernel", "gemm", "--grid", "4x5", "--shape", "8x8x8"), "square");
    assertOneLine(meshc("kernel", "gemv", "--grid", "4", "--shape", "2x8x8"), "M must be 1");
    assertOneLine(meshc("kernel", "gemm", "--grid", "720", "--shape", "4096x4096x4096"), "--timing-only");
    assertOneLine(meshc("kernel", "gemm", "--grid", "800", "--shape", "8x8x8", "--timing-only"), "does not fit");
    Run tooBig = meshc("kernel", "gemm", "--grid", "2", "--shape", "2048x2048x2048", "--timing-only");
    assertEquals(1, tooBig.code(), "a problem that does not fit the PEs' memory is 'no plan'");
    assertTrue(tooBig.err().contains("PE (0,0) needs") && tooBig.err().contains("40960"), tooBig.err());
  }
}
