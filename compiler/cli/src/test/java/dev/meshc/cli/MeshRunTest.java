package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.backends.mesh.MeshExecutor;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.OrtReference;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Module;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.machine.MachineSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * all-MiniLM-L6-v2 with real weights, planned by CP-SAT and run on the mesh runtime: every linear
 * projection a functional MeshGEMM on its region's grid, every LayerNorm the row all-reduce kernel,
 * attention dist-GEMM-T + softmax + MeshGEMM per head, activations in fp16 (GELU, residual adds and
 * the embedding still run on the host).
 */
class MeshRunTest {
  static final long[] IDS = {101, 7592, 2088, 102, 1037, 3231, 6251, 2005, 1996, 6112, 2003, 1037, 3231, 1012, 102, 0};

  @Test
  void miniLmPrefillOnTheMeshMatchesOnnxRuntime() throws Exception {
    Frontend f = Frontend.load(TestModels.miniLm(), List.of(InputBinding.parse("input_ids=1x16")));
    ModelShape shape = ModelShape.of(f.module());
    MachineSpec wse2 = MachineSpec.load("wse2");
    Planner planner = new Planner(shape, wse2, Workload.prefill(16), new Planner.Options(16, 1, 5, 0.02, 1));
    Plan plan = planner.plan();
    assertTrue(plan.feasible(), plan.explanation());
    Module placed = f.module().withPlacements(List.of(Placements.of(plan, shape, planner.costModel())));
    long[] mask = new long[16];
    Arrays.fill(mask, 1);
    mask[15] = 0;
    Map<String, Tensor> in = Map.of(
        "input_ids", Tensor.ofLongs(Shape.of(1, 16), IDS.clone()),
        "attention_mask", Tensor.ofLongs(Shape.of(1, 16), mask),
        "token_type_ids", Tensor.ofLongs(Shape.of(1, 16), new long[16]));
    float[] ref = OrtReference.run(TestModels.miniLm(), in);
    for (boolean fp32 : new boolean[] {true, false}) {
      MeshExecutor.Result r = MeshExecutor.prefill(placed, in, f.weights(), wse2, fp32);
      assertEquals(6 * (6 + 2 + 1), r.meshOps(), "6 layers × (6 projections, 2 LayerNorms, attention) on the mesh");
      float[] ours = r.outputs().get("last_hidden_state").floats();
      double cos = minTokenCosine(ours, ref, 384);
      double err = OrtReference.maxAbsDiff(ours, ref);
      System.out.printf("MiniLM on the mesh, %s accumulation: min per-token cosine %.6f, max abs error %.4g, "
          + "%.0f mesh cycles%n", fp32 ? "fp32" : "fp16", cos, err, r.meshCycles());
      if (fp32) { // the bounds are for fp16 storage with fp32 accumulation
        assertTrue(cos >= 0.999, "cosine " + cos);
        assertTrue(err <= 2e-2, "max abs error " + err);
      }
    }
  }

  static double minTokenCosine(float[] a, float[] b, int width) {
    double min = 1;
    for (int t = 0; t < a.length / width; t++) {
      double ab = 0;
      double aa = 0;
      double bb = 0;
      for (int i = t * width; i < (t + 1) * width; i++) {
        ab += (double) a[i] * b[i];
        aa += (double) a[i] * a[i];
        bb += (double) b[i] * b[i];
      }
      min = Math.min(min, ab / Math.sqrt(aa * bb));
    }
    return min;
  }
}
