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
 * attention dist-GEMM-T + softmax + MeshGEMM per head, GELU and the residual adds local kernels,
 * activations in fp16 (the embedding and head reshapes run on the host).
 */
class MeshRunTest {
  static final long[] IDS = {101, 7592, 2088, 102, 1037, 3231, 6251, 2005, 1996, 6112, 2003, 1037, 3231, 1012, 102, 0};

  @Test
  void miniLmPrefillOnTheMeshMatchesOnnxRuntime() throws Exception {
    Frontend f = Frontend.load(TestModels.miniLm(), List.of(InputBinding.parse("input_ids=1x16")));
    MachineSpec wse2 = MachineSpec.load("wse2");
    Module placed = placed(f.module(), wse2, Workload.prefill(16), 16);
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
      assertEquals(6 * (6 + 2 + 1 + 1 + 2), r.meshOps(),
          "6 layers × (6 projections, 2 LayerNorms, attention, GELU, 2 residual adds) on the mesh");
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

  /**
   * tiny-llama's prefill: what stays on the host is the embedding lookup and the head reshapes;
   * RoPE (q and k of both layers), SwiGLU and the residual adds are local kernels on the layer's
   * region (LocalTest holds each to the host formula bit for bit).
   */
  @Test
  void onlyTheEmbeddingAndHeadReshapesStayOnTheHost() {
    Frontend f = Frontend.load(java.nio.file.Path.of(CliTest.model("tiny-llama.onnx")),
        List.of(InputBinding.parse("input_ids=1x16")));
    MachineSpec wse2 = MachineSpec.load("wse2");
    Module placed = placed(f.module(), wse2, Workload.prefill(16), 8);
    Map<String, Tensor> in = Map.of("input_ids",
        dev.meshc.compiler.io.Npy.read(java.nio.file.Path.of(CliTest.model("tiny-llama.input_ids.npy"))));
    MeshExecutor.Result r = MeshExecutor.prefill(placed, in, f.weights(), wse2, true);
    Map<String, Long> host = new java.util.TreeMap<>();
    Map<String, Long> mesh = new java.util.TreeMap<>();
    for (MeshExecutor.OpTrace t : r.trace()) {
      (t.where().equals("host") ? host : mesh).merge(t.op(), 1L, Long::sum);
    }
    assertEquals(java.util.Set.of("embedding", "split_heads", "merge_heads"), host.keySet(), "on the host: " + host);
    assertEquals(4L, mesh.get("rope"), "on the mesh: " + mesh);
    assertEquals(2L, mesh.get("swiglu"), "on the mesh: " + mesh);
    assertEquals(4L, mesh.get("Add"), "on the mesh: " + mesh);
  }

  /**
   * Decode steps on the mesh give, at each of the 16 positions of the committed input, ONNX
   * Runtime's logits for that position within the bounds: MeshGEMV projections, the
   * norms, local kernels, and attention over K and V on the rows where the shift-based cache
   * placed them (the 8 rows fill unevenly at most steps, so the padding's mask is exercised).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"tiny-gpt2", "tiny-llama"})
  void decodeStepsMatchOnnxRuntimePositionByPosition(String name) {
    java.nio.file.Path model = java.nio.file.Path.of(CliTest.model(name + ".onnx"));
    Frontend trace = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x16")));
    Frontend one = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x1")));
    MachineSpec wse2 = MachineSpec.load("wse2");
    Module step = placed(one.module(), wse2, Workload.decode(64), 8);
    dev.meshc.backends.mesh.MeshDecoder d = new dev.meshc.backends.mesh.MeshDecoder(step,
        dev.meshc.backends.mesh.MeshDecoder.thetas(trace.module()), one.weights(), wse2, true, 64);
    long[] ids = dev.meshc.compiler.io.Npy.read(java.nio.file.Path.of(CliTest.model(name + ".input_ids.npy")))
        .longs();
    float[] ref = dev.meshc.compiler.io.Npy.read(java.nio.file.Path.of(CliTest.model(name + ".logits.npy")))
        .floats();
    int vocab = ref.length / ids.length;
    double worst = 0;
    double cos = 1;
    for (int i = 0; i < ids.length; i++) {
      float[] ours = d.next(Map.of("input_ids", Tensor.ofLongs(Shape.of(1, 1), ids[i]))).get("logits").floats();
      float[] want = Arrays.copyOfRange(ref, i * vocab, (i + 1) * vocab);
      worst = Math.max(worst, OrtReference.maxAbsDiff(ours, want));
      cos = Math.min(cos, minTokenCosine(ours, want, vocab));
    }
    System.out.printf("%s decode steps on the mesh: min cosine %.6f, max abs error %.4g over 16 positions%n", name,
        cos, worst);
    assertTrue(cos >= 0.999, "cosine " + cos);
    assertTrue(worst <= 2e-2, "max abs error " + worst);
    assertTrue(d.occupancySpread() <= 1, "KV rows differ by " + d.occupancySpread());
  }

  /**
   * {@code m} with CP-SAT's placement for {@code work}, every region {@code grid}×{@code grid}
   * (decode: regions sized by the decode program's storage, as Compilation's are).
   */
  static Module placed(Module m, MachineSpec machine, Workload work, int grid) {
    ModelShape shape = work.phase() == Workload.Phase.DECODE ? ModelShape.decoding(m) : ModelShape.of(m);
    Planner planner = new Planner(shape, machine, work, new Planner.Options(grid, 1, 5, 0.02, 1));
    Plan plan = planner.plan();
    assertTrue(plan.feasible(), plan.explanation());
    return m.withPlacements(List.of(Placements.of(plan, shape, planner.costModel())));
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
