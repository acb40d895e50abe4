package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.text.TirParser;
import dev.meshc.ir.text.TirPrinter;
import dev.meshc.ir.verify.Verifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The placed plan as tile IR: printed, parsed back equal, and checked by the verifier. */
class PlacementsTest {
  @Test
  void placedPlansRoundTripThroughTheTextForm() {
    Module m = Frontend.load(TestModels.example("models/llama3-8b-shape.onnx"),
        List.of(InputBinding.parse("input_ids=1x16"))).module();
    ModelShape shape = ModelShape.of(m);
    MachineSpec wse2 = MachineSpec.load("wse2");
    List<Placement> placed = new ArrayList<>();
    for (Workload w : List.of(Workload.prefill(4096), Workload.decode(4096))) {
      Planner pl = new Planner(shape, wse2, w, Planner.Options.defaults());
      Plan p = pl.plan();
      placed.add(Placements.of(p, shape, pl.costModel()));
    }
    Module withPlan = m.withPlacements(placed);
    String text = TirPrinter.print(withPlan);
    Module back = TirParser.parse(text, "plan.tir");
    assertEquals(placed, back.placements());
    assertEquals(text, TirPrinter.print(back));
    Placement.Region r0 = back.placements().get(1).regions().get(0);
    assertTrue(r0.kernels().stream().anyMatch(k -> k.info().getString("algorithm", "").equals("meshgemv")), text);
  }

  @Test
  void theVerifierRejectsLayersLeftOut() {
    Module m = Frontend.load(TestModels.example("models/tiny-llama.onnx"),
        List.of(InputBinding.parse("input_ids=1x16"))).module();
    Attrs region = Attrs.builder().put("wafer", 0).put("x", 0).put("y", 0).put("grid", 30)
        .put("layers", new long[] {0, 1}).build();
    Placement gap = new Placement("decode", Attrs.EMPTY, List.of(new Placement.Region(0, region, List.of())));
    MeshcException e = assertThrows(MeshcException.class, () -> Verifier.verify(m.withPlacements(List.of(gap))));
    assertTrue(e.getMessage().contains("its regions hold layers up to 1, but the module has 2"), e.getMessage());
    String text = TirPrinter.print(m.withPlacements(List.of(gap)));
    MeshcException parsed = assertThrows(MeshcException.class, () -> TirParser.parse(text, "bad.tir"));
    assertTrue(parsed.getMessage().startsWith("bad.tir: placement decode"), parsed.getMessage());
  }
}
