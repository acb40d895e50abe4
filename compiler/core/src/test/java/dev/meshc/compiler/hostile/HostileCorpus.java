package dev.meshc.compiler.hostile;

import dev.meshc.compiler.OnnxBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes examples/hostile: malformed models, each with the meshc command that reads it and a
 * words it must answer with (cases.tsv). Committed; regenerate with
 * {@code mvn -B -q -pl compiler/core -am test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.meshc.compiler.hostile.HostileCorpus -Dexec.args=examples/hostile} (from the
 * repository root). Deterministic: the same bytes every time.
 */
public final class HostileCorpus {
  private HostileCorpus() {}

  /** One case: the file, the command (MODEL stands for the file), what the one line must say. */
  public record Case(String file, String command, String expect) {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : "examples/hostile");
    Files.createDirectories(dir);
    List<Case> cases = write(dir);
    StringBuilder tsv = new StringBuilder("# file\tcommand (MODEL is the file)\tthe one line must contain\n");
    for (Case c : cases) {
      tsv.append(c.file()).append('\t').append(c.command()).append('\t').append(c.expect()).append('\n');
    }
    Files.writeString(dir.resolve("cases.tsv"), tsv.toString(), StandardCharsets.UTF_8);
  }

  static List<Case> write(Path dir) throws IOException {
    List<Case> c = new ArrayList<>();
    String compile = "compile MODEL --input x=1x4";
    Files.write(dir.resolve("empty.onnx"), new byte[0]);
    c.add(new Case("empty.onnx", compile, "empty"));
    byte[] noise = new byte[4096];
    new Random(8).nextBytes(noise);
    Files.write(dir.resolve("random-bytes.onnx"), noise);
    c.add(new Case("random-bytes.onnx", compile, "not a readable ONNX model"));
    byte[] whole = OnnxBuilder.linear().build().toByteArray();
    Files.write(dir.resolve("truncated.onnx"), java.util.Arrays.copyOf(whole, whole.length / 2));
    c.add(new Case("truncated.onnx", compile, "not a readable ONNX model"));
    OnnxBuilder.linear().external("w2", new long[] {4, 3}, "../secret.bin", 0, 48).write(dir.resolve("traversal.onnx"));
    c.add(new Case("traversal.onnx", compile, "'../secret.bin'"));
    OnnxBuilder.linear().external("w2", new long[] {4, 3}, "/etc/passwd", 0, 48).write(dir.resolve("absolute.onnx"));
    c.add(new Case("absolute.onnx", compile, "'/etc/passwd'"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 1, 4).output("y", OnnxBuilder.FLOAT, 1, 3)
        .external("w", new long[] {4, 3}, "missing-weights.bin", 0, 48)
        .node("MatMul", List.of("x", "w"), List.of("y")).write(dir.resolve("missing-external-data.onnx"));
    c.add(new Case("missing-external-data.onnx", "eval MODEL --input x=ZEROS_1x4", "'missing-weights.bin'"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("b", OnnxBuilder.FLOAT, 2)
        .node("Add", List.of("x", "b"), List.of("a")).node("Relu", List.of("a"), List.of("b"))
        .write(dir.resolve("cycle.onnx"));
    c.add(new Case("cycle.onnx", "inspect MODEL", "cycle"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Add", List.of("x", "ghost"), List.of("y")).write(dir.resolve("undefined-input.onnx"));
    c.add(new Case("undefined-input.onnx", "inspect MODEL", "'ghost'"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Relu", List.of("x"), List.of("y")).node("Neg", List.of("x"), List.of("y"))
        .write(dir.resolve("duplicate-outputs.onnx"));
    c.add(new Case("duplicate-outputs.onnx", "inspect MODEL", "produced twice"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Einsum", List.of("x"), List.of("y")).write(dir.resolve("unsupported-op.onnx"));
    c.add(new Case("unsupported-op.onnx", "inspect MODEL", "Einsum"));
    long big = 1L << 40;
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, big, big).output("y", OnnxBuilder.FLOAT, big, big)
        .node("Relu", List.of("x"), List.of("y")).write(dir.resolve("huge-dims.onnx"));
    c.add(new Case("huge-dims.onnx", "inspect MODEL", "--limit elements=N"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, -3, 4).output("y", OnnxBuilder.FLOAT, -3, 4)
        .node("Relu", List.of("x"), List.of("y")).write(dir.resolve("negative-dim.onnx"));
    c.add(new Case("negative-dim.onnx", "inspect MODEL", "negative dimension -3"));
    OnnxBuilder.linear().opset(1).write(dir.resolve("opset-1.onnx"));
    c.add(new Case("opset-1.onnx", compile, "opset 1"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .customNode("com.example", "Secret", List.of("x"), List.of("y")).write(dir.resolve("custom-domain.onnx"));
    c.add(new Case("custom-domain.onnx", "inspect MODEL", "com.example"));
    new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 1, 4).output("y", OnnxBuilder.FLOAT, 1, 3)
        .floats("w", new long[] {4, 3}, 1f, 2f, 3f)
        .node("MatMul", List.of("x", "w"), List.of("y")).write(dir.resolve("short-raw-data.onnx"));
    c.add(new Case("short-raw-data.onnx", "eval MODEL --input x=ZEROS_1x4", "'w'"));
    return c;
  }
}
