package dev.meshc.compiler.bench;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Plan time and peak heap of {@code meshc compile}'s planner for the paper's four models on WSE-2
 * (decode with 4096 context, prefill of a 4096 prompt; default options), one JVM per model.
 * {@code mvn -B -q -pl compiler/core -am test-compile exec:exec@plan-bench}
 */
public final class PlanBench {
  private PlanBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child")) {
      child(Path.of(args[1]));
      return;
    }
    System.out.printf(Locale.ROOT, "meshc planner benchmark on wse2, default options (deterministic limit %.0f, gap "
        + "%.0f%%), one JVM per model (%s %s, %d cores)%n", Planner.Options.defaults().limit(),
        100 * Planner.Options.defaults().gap(), System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    for (String m : List.of("llama3-8b", "llama2-13b", "codellama-34b", "qwen2-72b")) {
      FrontendBench.runChild(PlanBench.class, m, TestModels.example("models/" + m + "-shape.onnx").toString());
    }
  }

  private static void child(Path model) {
    long t0 = System.nanoTime();
    // as meshc compile plans decode: regions sized by the decode program's storage
    ModelShape shape = ModelShape.decoding(Frontend.load(model, List.of(InputBinding.parse("input_ids=1x16")))
        .module());
    System.out.printf(Locale.ROOT, "import + lift %.1f s%n", (System.nanoTime() - t0) / 1e9);
    MachineSpec wse2 = MachineSpec.load("wse2");
    for (Workload w : List.of(Workload.decode(4096), Workload.prefill(4096))) {
      long s = System.nanoTime();
      Plan p = new Planner(shape, wse2, w, Planner.Options.defaults()).plan();
      double secs = (System.nanoTime() - s) / 1e9;
      System.out.printf(Locale.ROOT, "%-7s plan %5.1f s: %s, gap %.2f%%, %d regions on %d wafer(s), %.1f %s%n",
          w.phase().label(), secs, p.solverStatus(), 100 * p.optimalityGap(), p.regions().size(), p.wafers(),
          p.tokensPerSecond(), w.phase() == Workload.Phase.DECODE ? "tokens/s" : "prompt tokens/s");
    }
    System.out.printf(Locale.ROOT, "peak heap used %.0f MiB (all pools, garbage included)%n",
        FrontendBench.peakHeap() / 1048576.0);
  }
}
