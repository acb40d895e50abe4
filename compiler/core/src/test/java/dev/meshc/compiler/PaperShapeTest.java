package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.compiler.onnx.InputBinding;
import java.util.List;
import org.junit.jupiter.api.Test;

class PaperShapeTest {
  @Test
  void llama3ShapeImportsWithoutWeights() {
    long t0 = System.nanoTime();
    Frontend f = Frontend.load(TestModels.example("models/llama3-8b-shape.onnx"), List.of(InputBinding.parse("input_ids=1x128")));
    System.out.println("load ms " + (System.nanoTime() - t0) / 1e6);
    Inspection i = Inspection.of(f.graph(), f.module());
    System.out.println(i.layerSummary() + " params " + i.parameters() + " blocks " + i.blocks() + " ops " + i.ops());
    assertEquals(32, f.module().layers().size());
  }
}
