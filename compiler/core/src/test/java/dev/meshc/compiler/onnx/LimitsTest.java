package dev.meshc.compiler.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.OnnxBuilder;
import dev.meshc.compiler.io.Npy;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each limit on what the front end reads refuses what crosses it in one line that says how to raise it, and raising it lets the file in. */
class LimitsTest {
  @TempDir
  Path dir;

  private static MeshcException refused(Path f, Limits l, String... bindings) {
    return assertThrows(MeshcException.class, () -> Frontend.load(f, java.util.Arrays.stream(bindings)
        .map(InputBinding::parse).toList(), l));
  }

  @Test
  void eachImportLimitRefusesAndRaisingItAdmits() {
    Path f = OnnxBuilder.linear().write(dir.resolve("m.onnx"));
    Limits d = Limits.DEFAULTS;
    MeshcException nodes = refused(f, d.with("nodes=1"), "x=1x4");
    assertTrue(nodes.getMessage().contains("node count (2) is over the limit of 1; raise it with --limit nodes=N"),
        nodes.getMessage());
    MeshcException bytes = refused(f, d.with("model-bytes=10"), "x=1x4");
    assertTrue(bytes.getMessage().contains("--limit model-bytes=N"), bytes.getMessage());
    MeshcException elements = refused(f, d.with("elements=8"), "x=1x4");
    assertTrue(elements.getMessage().contains("initializer 'w' element count (12)"), elements.getMessage());
    MeshcException input = refused(f, d.with("elements=13"), "x=4x4");
    assertTrue(input.getMessage().contains("input 'x' element count (16)"), input.getMessage());
    Path longName = new OnnxBuilder().input("x", OnnxBuilder.FLOAT, 2).output("y", OnnxBuilder.FLOAT, 2)
        .node("Relu", List.of("x"), List.of("y" + "z".repeat(300))).write(dir.resolve("long.onnx"));
    MeshcException name = refused(longName, d.with("name-bytes=100"));
    assertTrue(name.getMessage().contains("a value name's length (301)"), name.getMessage());
    // raised, the same model imports
    assertEquals(2, Frontend.load(f, List.of(InputBinding.parse("x=1x4")), d.with("nodes=2")).graph().nodesWritten());
  }

  @Test
  void protobufNestingDepth() {
    // model → graph → value info → type → tensor type → shape → dimension: seven levels deep
    Path f = OnnxBuilder.linear().write(dir.resolve("m.onnx"));
    MeshcException e = refused(f, Limits.DEFAULTS.with("proto-depth=3"), "x=1x4");
    assertEquals(f + ": the protobuf nesting depth (more than 3) is over the limit of 3; raise it with --limit "
        + "proto-depth=N if the file is meant to be this large", e.getMessage());
    assertEquals(2, Frontend.load(f, List.of(InputBinding.parse("x=1x4")), Limits.DEFAULTS.with("proto-depth=8"))
        .graph().nodesWritten());
  }

  /** A graph nested {@code depth} times (graph → node → attribute → graph …), written outside in. */
  static byte[] nestedModel(int depth) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    long[] graphLen = new long[depth + 1]; // graphLen[i]: bytes of the graph i levels above the innermost
    for (int i = 1; i <= depth; i++) {
      long attr = 1 + varintSize(graphLen[i - 1]) + graphLen[i - 1];
      long node = 1 + varintSize(attr) + attr;
      graphLen[i] = 1 + varintSize(node) + node;
    }
    out.writeBytes(new byte[] {0x08, 0x08, 0x3a}); // ir_version 8, then the graph
    varint(out, graphLen[depth]);
    for (int i = depth; i >= 1; i--) {
      long attr = 1 + varintSize(graphLen[i - 1]) + graphLen[i - 1];
      long node = 1 + varintSize(attr) + attr;
      out.write(0x0a); // GraphProto.node
      varint(out, node);
      out.write(0x2a); // NodeProto.attribute
      varint(out, attr);
      out.write(0x32); // AttributeProto.g
      varint(out, graphLen[i - 1]);
    }
    return out.toByteArray();
  }

  private static int varintSize(long v) {
    return v < 0x80 ? 1 : 1 + varintSize(v >>> 7);
  }

  private static void varint(java.io.ByteArrayOutputStream out, long v) {
    for (; v >= 0x80; v >>>= 7) {
      out.write((int) (v & 0x7f) | 0x80);
    }
    out.write((int) v);
  }

  @Test
  void nestingBeyondTheStackIsOneLineEvenWithTheLimitRaised() throws Exception {
    Path f = Files.write(dir.resolve("deep.onnx"), nestedModel(300_000));
    assertTrue(refused(f, Limits.DEFAULTS).getMessage().contains("nesting depth (more than 64)"));
    MeshcException e = refused(f, Limits.DEFAULTS.with("proto-depth=2000000"));
    assertEquals(f + ": protobuf messages nest too deeply to parse with this stack", e.getMessage());
  }

  @Test
  void npyHeaderBytes() throws Exception {
    Path f = dir.resolve("x.npy");
    try (OutputStream out = Files.newOutputStream(f)) {
      Npy.write(Tensor.ofLongs(Shape.of(1, 3), new long[] {1, 2, 3}), out);
    }
    MeshcException e = assertThrows(MeshcException.class, () -> Npy.read(f, Limits.DEFAULTS.with("npy-header-bytes=64")));
    assertTrue(e.getMessage().startsWith(f + ": the .npy header's length in bytes ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("is over the limit of 64; raise it with --limit npy-header-bytes=N if the file "
        + "is meant to be this large"), e.getMessage());
    assertEquals(3, Npy.read(f, Limits.DEFAULTS.with("npy-header-bytes=256")).longs().length);
  }

  @Test
  void badSettingsAreOneLine() {
    MeshcException unknown = assertThrows(MeshcException.class, () -> Limits.DEFAULTS.with("bogus=1"));
    assertEquals("--limit bogus=1: no limit 'bogus'; meshc has model-bytes, nodes, elements, name-bytes, proto-depth, "
        + "npy-header-bytes, csl-bytes, comptime-steps, layout-pes", unknown.getMessage());
    assertTrue(assertThrows(MeshcException.class, () -> Limits.DEFAULTS.with("nodes=lots")).getMessage()
        .contains("NAME=N"));
    assertTrue(assertThrows(MeshcException.class, () -> Limits.DEFAULTS.with("nodes=0")).getMessage()
        .contains("positive"));
    assertTrue(assertThrows(MeshcException.class, () -> Limits.DEFAULTS.with("model-bytes=4294967296"))
        .getMessage().contains("protobuf reads at most"));
    assertTrue(assertThrows(MeshcException.class, () -> Limits.DEFAULTS.with("layout-pes=2000000"))
        .getMessage().contains("holds at most 1048576 PEs"));
    // each name sets its own field and nothing else
    for (int i = 0; i < Limits.NAMES.size(); i++) {
      long[] want = Limits.DEFAULTS.values();
      want[i] = 7;
      assertEquals(java.util.Arrays.toString(want),
          java.util.Arrays.toString(Limits.DEFAULTS.with(Limits.NAMES.get(i) + "=7").values()));
    }
  }
}
