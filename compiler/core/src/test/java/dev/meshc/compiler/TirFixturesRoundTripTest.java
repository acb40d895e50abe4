package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Module;
import dev.meshc.ir.text.TirParser;
import dev.meshc.ir.text.TirPrinter;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** print(parse(print(m))) is print(m), byte for byte, for the lifted form of every model we have. */
class TirFixturesRoundTripTest {
  static Module roundTrips(Module m) {
    String text = TirPrinter.print(m);
    Module back = TirParser.parse(text, m.name() + ".tir");
    assertEquals(text, TirPrinter.print(back));
    assertEquals(m, back);
    return back;
  }

  @Provide
  Arbitrary<String> decoders() {
    return Arbitraries.of("tiny-gpt2", "tiny-llama");
  }

  @Property(tries = 24, seed = "20261126")
  void decodersAtAnySequenceLength(@ForAll("decoders") String name, @ForAll @IntRange(min = 1, max = 64) int seq,
      @ForAll @IntRange(min = 1, max = 3) int batch) {
    Path model = TestModels.example("models/" + name + ".onnx");
    Module m = Frontend.load(model, List.of(InputBinding.parse("input_ids=" + batch + "x" + seq))).module();
    assertEquals(2, m.layers().size());
    m.layers().forEach(l -> assertEquals("decoder", l.kind(), name + " at " + batch + "x" + seq));
    roundTrips(m);
  }

  @Test
  void miniLm() {
    Module m = Frontend.load(TestModels.miniLm(), List.of(InputBinding.parse("input_ids=2x9"))).module();
    assertEquals(6, roundTrips(m).layers().size());
  }

  @Test
  void llama3ShapeWithoutWeights() {
    Module m = Frontend.load(TestModels.example("models/llama3-8b-shape.onnx"),
        List.of(InputBinding.parse("input_ids=1x32"))).module();
    assertEquals(32, roundTrips(m).layers().size());
  }
}
