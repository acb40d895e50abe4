package dev.meshc.compiler.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.OnnxBuilder;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad models and bad bindings: each is one line that names the problem, never a crash. */
class ImportErrorsTest {
  @TempDir
  Path dir;

  private MeshcException fails(Path model, String... inputs) {
    List<InputBinding> b = java.util.Arrays.stream(inputs).map(InputBinding::parse).toList();
    MeshcException e = assertThrows(MeshcException.class, () -> Frontend.load(model, b));
    assertEquals(MeshcException.Kind.INPUT, e.kind());
    assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    return e;
  }

  private static void contains(MeshcException e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should mention '" + p + "'");
    }
  }

  @Test
  void emptyFile() throws IOException {
    Path f = Files.createFile(dir.resolve("empty.onnx"));
    contains(fails(f), "empty file");
  }

  @Test
  void randomBytes() throws IOException {
    byte[] junk = new byte[4096];
    new java.util.Random(42).nextBytes(junk);
    Path f = Files.write(dir.resolve("junk.onnx"), junk);
    contains(fails(f), "junk.onnx", "not");
  }

  @Test
  void truncatedModel() throws IOException {
    byte[] whole = OnnxBuilder.linear().build().toByteArray();
    Path f = Files.write(dir.resolve("cut.onnx"), java.util.Arrays.copyOf(whole, whole.length / 2));
    contains(fails(f, "x=2x4"), "cut.onnx", "truncated or corrupt");
  }

  /** Found by CoverageFuzzTest: both outputs' field tags flipped, so the graph declared none. */
  @Test
  void noOutputs() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).node("Relu", List.of("x"), List.of("y"))
        .write(dir.resolve("none.onnx"));
    contains(fails(f), "none.onnx: the graph has no outputs");
  }

  /** Found by CoverageFuzzTest: a Relu's op type flipped to Gemm, which reads two inputs. */
  @Test
  void tooFewInputs() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2, 2).output("y", OnnxBuilder.FLOAT, 2, 2)
        .node("Gemm", List.of("x"), List.of("y")).write(dir.resolve("one.onnx"));
    contains(fails(f), "Gemm node 'Gemm_0': input 1 is required");
  }

  @Test
  void aNodeWithoutInputs() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Softmax", List.of(), List.of("y")).write(dir.resolve("noin.onnx"));
    contains(fails(f), "Softmax node 'Softmax_0': input 0 is required");
  }

  @Test
  void aNodeWithoutOutputs() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("x", OnnxBuilder.FLOAT, 2)
        .node("Relu", List.of("x"), List.of()).write(dir.resolve("none.onnx"));
    contains(fails(f), "Relu node 'Relu_0' declares no output");
  }

  @Test
  void anInputNothingReadsIsKept() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).input("unused", OnnxBuilder.FLOAT, 3)
        .output("y", OnnxBuilder.FLOAT, 2).node("Relu", List.of("x"), List.of("y")).write(dir.resolve("extra.onnx"));
    assertEquals(List.of("x", "unused"), Frontend.load(f, List.of()).module().inputs().stream()
        .map(dev.meshc.ir.Value::name).toList());
  }

  @Test
  void missingFile() {
    contains(fails(dir.resolve("nope.onnx")), "no such file");
  }

  @Test
  void unknownOp() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Hardmax", List.of("x"), List.of("y")).write(dir.resolve("op.onnx"));
    contains(fails(f), "unsupported op Hardmax", "Hardmax_0", "MatMul", "Softmax");
  }

  @Test
  void customDomainOp() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .customNode("com.example", "Fancy", List.of("x"), List.of("y")).write(dir.resolve("custom.onnx"));
    contains(fails(f), "Fancy", "com.example");
  }

  @Test
  void unboundDynamicDim() {
    Path f = OnnxBuilder.linear().write(dir.resolve("dyn.onnx"));
    contains(fails(f), "input 'x'", "dynamic dimension 'batch'", "--input x=");
  }

  @Test
  void bindingNamesNoInput() {
    Path f = OnnxBuilder.linear().write(dir.resolve("lin.onnx"));
    contains(fails(f, "ids=1x4"), "no input 'ids'", "x");
  }

  @Test
  void bindingWithWrongRankOrFixedDim() {
    Path f = OnnxBuilder.linear().write(dir.resolve("lin.onnx"));
    contains(fails(f, "x=2x4x1"), "rank 2");
    contains(fails(f, "x=2x5"), "fixed at 4");
  }

  @Test
  void opsetOutOfRange() {
    Path f = OnnxBuilder.linear().opset(1).write(dir.resolve("old.onnx"));
    contains(fails(f, "x=1x4"), "opset 1");
  }

  @Test
  void irVersionOutOfRange() {
    Path f = OnnxBuilder.linear().ir(3).write(dir.resolve("ir3.onnx"));
    contains(fails(f, "x=1x4"), "IR version 3");
  }

  @Test
  void cycle() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("b", OnnxBuilder.FLOAT, 2)
        .node("Add", List.of("x", "b"), List.of("a")).node("Relu", List.of("a"), List.of("b"))
        .write(dir.resolve("cycle.onnx"));
    contains(fails(f), "cycle", "Add_0", "Relu_1");
  }

  @Test
  void undefinedInput() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Add", List.of("x", "ghost"), List.of("y")).write(dir.resolve("ghost.onnx"));
    contains(fails(f), "'ghost'", "Add_0");
  }

  @Test
  void duplicateOutputs() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Relu", List.of("x"), List.of("y")).node("Neg", List.of("x"), List.of("y"))
        .write(dir.resolve("dup.onnx"));
    contains(fails(f), "produced twice", "Relu_0", "Neg_1");
  }

  @Test
  void externalDataOutsideTheFolder() {
    for (String loc : List.of("../w.bin", "sub/../../w.bin", "/etc/passwd")) {
      Path f = OnnxBuilder.linear().external("w2", new long[] {4, 3}, loc, 0, 48).write(dir.resolve("ext.onnx"));
      contains(fails(f, "x=1x4"), "'" + loc + "'");
    }
  }

  @Test
  void externalDataThroughASymlinkOut(@TempDir Path outside) throws IOException {
    Path secret = Files.write(outside.resolve("w.bin"), new byte[48]);
    Files.createSymbolicLink(dir.resolve("link.bin"), secret);
    Path f = OnnxBuilder.linear().external("w2", new long[] {4, 3}, "link.bin", 0, 48).write(dir.resolve("ext.onnx"));
    contains(fails(f, "x=1x4"), "link", "leaves the model's folder");
  }

  @Test
  void rawDataShorterThanItsDims() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 1, 4).output("y", OnnxBuilder.FLOAT, 1, 3)
        .floats("w", new long[] {4, 3}, 1f, 2f, 3f)
        .node("MatMul", List.of("x", "w"), List.of("y")).write(dir.resolve("short.onnx"));
    Frontend fe = Frontend.load(f, List.of()); // compiling reads no weights: fine
    MeshcException e = assertThrows(MeshcException.class, () -> ReferenceEvaluator.run(fe.module(),
        Map.of("x", Tensor.ofFloats(Shape.of(1, 4), new float[4])), fe.weights()));
    contains(e, "'w'", "12 bytes", "48");
  }

  @Test
  void absentExternalDataImportsButCannotRun() {
    Path f = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 1, 4).output("y", OnnxBuilder.FLOAT, 1, 3)
        .external("w", new long[] {4, 3}, "weights.bin", 0, 48)
        .node("MatMul", List.of("x", "w"), List.of("y")).write(dir.resolve("ext.onnx"));
    Frontend fe = Frontend.load(f, List.of());
    assertEquals("w", fe.module().weights().get(0).source());
    MeshcException e = assertThrows(MeshcException.class, () -> ReferenceEvaluator.run(fe.module(),
        Map.of("x", Tensor.ofFloats(Shape.of(1, 4), new float[4])), fe.weights()));
    contains(e, "'weights.bin'", "missing");
  }
}
