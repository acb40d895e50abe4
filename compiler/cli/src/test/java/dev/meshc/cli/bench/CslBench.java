package dev.meshc.cli.bench;

import dev.meshc.backends.csl.CslCheck;
import dev.meshc.backends.csl.CslProject;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Module;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Emit time and output size of the CSL backend for the paper's four models' decode plans on WSE-2
 * (4096 context, default planner options), and with {@code -Dbench.check=true} the time meshc
 * check-csl takes over each project.
 * {@code mvn -B -q -pl compiler/cli -am test-compile exec:exec@csl-bench}
 */
public final class CslBench {
  private CslBench() {}

  public static void main(String[] args) throws Exception {
    boolean check = Boolean.getBoolean("bench.check");
    String machine = System.getProperty("bench.machine", "wse2");
    System.out.printf(Locale.ROOT, "meshc CSL backend benchmark: decode plans on %s, 4096 context (%s %s, %d cores)%n",
        machine, System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    MachineSpec m = MachineSpec.load(machine);
    for (String name : List.of("llama3-8b", "llama2-13b", "codellama-34b", "qwen2-72b")) {
      Path model = TestModels.example("models/" + name + "-shape.onnx");
      Frontend f = Frontend.load(model, List.of(InputBinding.parse("input_ids=1x16")));
      Module one = Frontend.atLength(model, List.of(InputBinding.parse("input_ids=1x16")), "input_ids", 1,
          dev.meshc.ir.Limits.DEFAULTS).module();
      ModelShape shape = ModelShape.decoding(f.module()); // as Compilation plans decode
      Planner planner = new Planner(shape, m, Workload.decode(4096), Planner.Options.defaults());
      Plan plan = planner.plan();
      Module placed = f.module().withPlacements(List.of(Placements.of(plan, shape, planner.costModel())));
      if (!plan.feasible()) {
        System.out.printf(Locale.ROOT, "%-14s no plan%n", name);
        continue;
      }
      Module step = one.withPlacements(placed.placements());
      float[] theta = dev.meshc.backends.mesh.MeshDecoder.thetas(f.module()); // as Compilation passes it
      CslProject.decode(step, theta, model.toString(), m); // warm up
      long t0 = System.nanoTime();
      CslProject p = CslProject.decode(step, theta, model.toString(), m);
      double emit = (System.nanoTime() - t0) / 1e6;
      long bytes = p.bytes();
      int pes = plan.regions().stream().mapToInt(r -> r.grid() * r.grid()).sum();
      String checked = "";
      if (check) {
        Path dir = Files.createTempDirectory("csl-bench");
        p.writeTo(dir);
        long c0 = System.nanoTime();
        CslCheck.Report r = CslCheck.check(List.of(dir), false);
        checked = String.format(Locale.ROOT, "; check-csl %.0f s, %d findings, at most %,d bytes of arrays on a PE",
            (System.nanoTime() - c0) / 1e9, r.findings().size(), r.maxPeBytes());
      }
      long layouts = p.files().entrySet().stream().filter(e -> e.getKey().endsWith("layout.csl"))
          .mapToLong(e -> e.getValue().length()).sum();
      System.out.printf(Locale.ROOT, "%-14s %d regions on %d wafer(s), %,d PEs: emit %.0f ms, %d files, %,d bytes "
          + "(layout.csl %,d, weights.json %,d)%s%n", name, plan.regions().size(), plan.wafers(), pes, emit,
          p.files().size(), bytes, layouts, p.files().get("weights.json").length(), checked);
    }
  }
}
