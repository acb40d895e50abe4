package dev.meshc.cli.bench;

import dev.meshc.backends.mesh.MeshDecoder;
import dev.meshc.backends.mesh.MeshExecutor;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.bench.FrontendBench;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Module;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Wall time and peak heap of a prefill on the mesh runtime (what {@code meshc run} does), with the
 * plan's predicted cycles, one JVM per model. Inputs are token ids 1, 2, 3, … (values do not change
 * the work). {@code mvn -B -q -pl compiler/cli -am test-compile exec:exec@run-bench}
 */
public final class RunBench {
  private RunBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child")) {
      child(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
      return;
    }
    System.out.printf(Locale.ROOT, "meshc run benchmark: prefill on the mesh runtime (projections, norms, "
        + "attention and the local ops as functional mesh kernels, fp32 accumulation), one JVM per model (%s %s, "
        + "%d cores)%n", System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    FrontendBench.runChild(RunBench.class, "all-MiniLM-L6-v2, 1x128, 16x16 regions", TestModels.miniLm().toString(),
        "128", "16");
    for (String m : List.of("tiny-gpt2", "tiny-llama")) {
      FrontendBench.runChild(RunBench.class, m + ", 1x16, 8x8 regions",
          TestModels.example("models/" + m + ".onnx").toString(), "16", "8");
    }
  }

  private static void child(Path model, int seq, int grid) {
    long t0 = System.nanoTime();
    Frontend f = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x" + seq)));
    ModelShape shape = ModelShape.of(f.module());
    MachineSpec wse2 = MachineSpec.load("wse2");
    Planner planner = new Planner(shape, wse2, Workload.prefill(seq), new Planner.Options(grid, 1, 5, 0.02, 1));
    Plan plan = planner.plan();
    Module placed = f.module().withPlacements(List.of(Placements.of(plan, shape, planner.costModel())));
    double compile = (System.nanoTime() - t0) / 1e9;
    Map<String, Tensor> in = new LinkedHashMap<>();
    for (Value v : placed.inputs()) {
      long[] ids = new long[(int) v.shape().elements()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = v.name().equals("input_ids") ? 1 + i : v.name().equals("attention_mask") ? 1 : 0;
      }
      in.put(v.name(), Tensor.ofLongs(Shape.of(v.shape().toArray()), ids));
    }
    long t1 = System.nanoTime();
    MeshExecutor.Result r = MeshExecutor.prefill(placed, in, f.weights(), wse2, true);
    double run = (System.nanoTime() - t1) / 1e9;
    System.out.printf(Locale.ROOT, "import + plan %.1f s; run %.1f s (%d ops on the mesh, %d on the host)%n", compile,
        run, r.meshOps(), r.trace().size() - r.meshOps());
    System.out.printf(Locale.ROOT, "predicted prefill %,.0f cycles (%.1f us), %.0f cycles per token; simulated "
        + "%,.0f (%+.1f%%: the kernels %,.0f and their step overheads)%n", plan.cycles(),
        wse2.seconds(plan.cycles()) * 1e6, plan.cycles() / seq, r.simulatedCycles(),
        100 * (r.simulatedCycles() - plan.cycles()) / plan.cycles(), r.meshCycles());
    if (seq <= 16) { // the decoder fixtures: 32 decode steps on the mesh as well
      decode(model, wse2, grid);
    }
    System.out.printf(Locale.ROOT, "peak heap used %.0f MiB (all pools, garbage included)%n",
        FrontendBench.peakHeap() / 1048576.0);
  }

  private static void decode(Path model, MachineSpec wse2, int grid) {
    Frontend trace = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x8")));
    Frontend one = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x1")));
    ModelShape shape = ModelShape.decoding(one.module()); // as Compilation plans decode
    Planner planner = new Planner(shape, wse2, Workload.decode(64), new Planner.Options(grid, 1, 5, 0.02, 1));
    Plan plan = planner.plan();
    Module step = one.module().withPlacements(List.of(Placements.of(plan, shape, planner.costModel())));
    MeshDecoder d = new MeshDecoder(step, MeshDecoder.thetas(trace.module()), one.weights(), wse2, true, 64);
    int steps = 32;
    long t0 = System.nanoTime();
    for (int i = 0; i < steps; i++) {
      d.next(Map.of("input_ids", Tensor.ofLongs(Shape.of(1, 1), 1 + i)));
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    double simulated = (d.meshCycles() + d.overheadCycles()) / steps;
    System.out.printf(Locale.ROOT, "decode: %d steps in %.2f s (%.0f ms per token on the simulator); predicted "
        + "%,.0f cycles per token (%.0f tokens/s); simulated %,.0f (%+.1f%%, fp32 partial sums; the plan prices "
        + "fp16 ones)%n", steps, wall, 1000 * wall / steps, plan.cycles(), plan.tokensPerSecond(), simulated,
        100 * (simulated / plan.cycles() - 1));
  }
}
