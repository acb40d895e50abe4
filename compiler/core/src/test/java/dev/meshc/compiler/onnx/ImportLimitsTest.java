package dev.meshc.compiler.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.OnnxBuilder;
import dev.meshc.ir.MeshcException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each import limit refuses what crosses it in one line that says how to raise it, and raising it lets the model in. */
class ImportLimitsTest {
  @TempDir
  Path dir;

  private static MeshcException refused(Path f, ImportLimits l, String... bindings) {
    return assertThrows(MeshcException.class, () -> Frontend.load(f, java.util.Arrays.stream(bindings)
        .map(InputBinding::parse).toList(), l));
  }

  @Test
  void eachLimitRefusesAndRaisingItAdmits() {
    Path f = OnnxBuilder.linear().write(dir.resolve("m.onnx"));
    ImportLimits d = ImportLimits.DEFAULTS;
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
  void badSettingsAreOneLine() {
    assertTrue(assertThrows(MeshcException.class, () -> ImportLimits.DEFAULTS.with("bogus=1")).getMessage()
        .contains("no limit 'bogus'"));
    assertTrue(assertThrows(MeshcException.class, () -> ImportLimits.DEFAULTS.with("nodes=lots")).getMessage()
        .contains("NAME=N"));
    assertTrue(assertThrows(MeshcException.class, () -> ImportLimits.DEFAULTS.with("nodes=0")).getMessage()
        .contains("positive"));
    assertTrue(assertThrows(MeshcException.class, () -> ImportLimits.DEFAULTS.with("model-bytes=4294967296"))
        .getMessage().contains("protobuf reads at most"));
  }
}
