package dev.meshc.compiler.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.compiler.TestModels;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ImportSmokeTest {
  @Test
  void miniLmFolds() {
    OnnxGraph g = OnnxImporter.importModel(TestModels.miniLm(),
        List.of(InputBinding.parse("input_ids=1x16")));
    Map<String, Integer> h = new TreeMap<>();
    g.nodes().forEach(n -> h.merge(n.type(), 1, Integer::sum));
    System.out.println("written " + g.nodesWritten() + " kept " + g.nodes().size() + " " + h);
    System.out.println("inputs " + g.inputs() + " consts " + g.consts().size() + " inits " + g.initializers().size());
    assertEquals(637, g.nodesWritten());
  }
}
