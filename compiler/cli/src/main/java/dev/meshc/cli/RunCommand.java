package dev.meshc.cli;

import dev.meshc.compiler.Inputs;
import dev.meshc.backends.mesh.MeshExecutor;
import dev.meshc.compiler.Execution;
import dev.meshc.compiler.Progress;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.machine.MachineSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshc run}: an executable plan on meshc's mesh runtime, with real numbers. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Runs a plan that meshc compile --emit plan wrote: streams the weights from the ONNX file, runs "
        + "the prefill on the Java mesh runtime (every linear projection a MeshGEMM on its region's grid; norms, "
        + "attention and activations on the host for now) with fp16 activations, and writes each model output "
        + "as .npy."},
    footer = {"", "Example:", "  meshc compile examples/models/tiny-gpt2.onnx --input input_ids=1x16 --phase prefill "
        + "--prompt-len 16 --grid 8 --emit plan -o plan/",
        "  meshc run plan/ --input input_ids=examples/models/tiny-gpt2.input_ids.npy --output out/"})
final class RunCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "PLAN", description = "the folder meshc compile --emit plan wrote")
  Path plan;

  @Option(names = "--input", paramLabel = "NAME=FILE.npy",
      description = "the value of a model input; its shape must be the one the plan was compiled for")
  List<String> inputs;

  @Option(names = "--prompt-ids", split = ",", paramLabel = "ID,ID,...",
      description = "generate greedily from these token ids instead (for now each new token recomputes the "
          + "prefill on the mesh, at the plan's grid)")
  long[] promptIds;

  @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "16",
      description = "with --prompt-ids: tokens to generate (default 16)")
  int maxNewTokens;

  @Option(names = "--output", paramLabel = "DIR", description = "folder for <output>.npy files (default: none)")
  Path output;

  @Mixin
  AccumulateOption accumulate;

  @Option(names = "--reference", paramLabel = "DIR|FILE.npy",
      description = "hold each output to DIR/<output>.npy, or a one-output model's output to FILE.npy (ONNX "
          + "Runtime's, say): exits 1 if one's Pearson correlation is below 0.999")
  Path reference;

  @Option(names = "--check", description = "also run the fp32 reference evaluator and name the first op whose mesh "
      + "result diverges (Pearson correlation below 0.999); exits 1 if one does")
  boolean check;

  @Option(names = "--timing-only", description = "simulate the plan's kernels and moves for time alone, with no "
      + "values and no weights (a model of shapes alone runs at full size): the prefill, or with --prompt-ids one "
      + "decode step at the plan's context; prints simulated against predicted cycles")
  boolean timingOnly;

  @Option(names = "--synthetic-weights", paramLabel = "SEED",
      description = "run with deterministic pseudo-random weights drawn from SEED instead of the model's (a model of "
          + "shapes alone runs with numbers): matrices and embeddings N(0, 1/fan_in), norm scales 1 + N(0, 0.1²), "
          + "other vectors N(0, 0.02²), generated as each op reads them and never stored")
  Long syntheticWeights;

  @Option(names = "--plant-fault", paramLabel = "OP", hidden = true, defaultValue = "-1",
      description = "add 100 to PE (0,0)'s tile of op OP's mesh result (to see --check find it)")
  int plantFault;

  @Mixin
  LimitOption limit;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    boolean fp32 = accumulate.fp32(); // bad values fail before anything is read
    Execution.Options o = new Execution.Options(fp32, limit.limits(),
        plantFault >= 0 ? new MeshExecutor.Fault(plantFault, 100f) : null, syntheticWeights);
    if (reference != null && promptIds != null) {
      throw MeshcException.input("--reference holds a prefill's outputs to a reference; it does not apply to "
          + "--prompt-ids");
    }
    if (timingOnly && (reference != null || check || output != null || syntheticWeights != null)) {
      throw MeshcException.input("--timing-only moves no values: --reference, --check, --output and "
          + "--synthetic-weights do not apply");
    }
    PlanDir.Loaded p = PlanDir.read(plan);
    Progress progress = CliProgress.of(common, spec.commandLine().getErr());
    if (timingOnly) {
      return report(p, Execution.timing(p, promptIds != null ? "decode" : "prefill", o, progress));
    }
    if (promptIds != null) {
      return report(p, Execution.generate(p, promptIds, maxNewTokens, o, progress));
    }
    if (inputs == null) {
      throw MeshcException.input("run needs --input NAME=FILE.npy for every model input, or --prompt-ids to generate");
    }
    Inputs in = Inputs.parse(inputs, o.limits());
    in.requireAll(p.module(), "run");
    Map<String, Execution.Reference> refs = reference == null ? null
        : Execution.references(reference, "", p.module().outputs(), o.limits());
    Execution.Prefill r = Execution.prefill(p, in.values(), o, check, progress);
    List<Execution.OutputCheck> ref = reference == null ? null
        : Execution.compare(r.outputs(), refs, Execution.MIN_PCC);
    Map<String, Tensor> out = r.outputs();
    EvalCommand.writeOutputs(output, out);
    MeshExecutor.Divergence bad = r.divergence().orElse(null);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", p.module().name());
    json.put("phase", "prefill");
    json.put("accumulate", accumulate.toString());
    json.put("outputs", EvalCommand.describe(out, output));
    json.put("mesh_ops", r.meshOps());
    json.put("host_ops", r.hostOps());
    json.put("mesh_cycles", r.meshCycles());
    json.put("predicted_prefill_cycles", r.predictedCycles());
    json.put("predicted_cycles_per_layer", r.predictedCyclesPerLayer());
    json.put("predicted_cycles_per_token", (double) r.predictedCycles() / r.promptLen());
    Execution.Program prog = r.program();
    json.put("plan_kernels", prog.planKernels());
    json.put("executed_kernels", prog.executedKernels());
    json.put("kernels_match", prog.same());
    json.put("kernels_first_difference", prog.firstDifference());
    json.put("predicted_cycles", r.predictedCycles());
    json.put("simulated_cycles", prog.simulatedCycles());
    json.put("predicted_handoff_cycles", prog.predictedHandoffCycles());
    if (check) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("ok", bad == null);
      c.put("min_pcc", Execution.MIN_PCC);
      if (bad != null) {
        Layer layer = p.module().layerOf(bad.index());
        c.put("op_index", bad.index());
        c.put("op", bad.op().name());
        c.put("layer", layer == null ? null : layer.index());
        c.put("onnx_nodes", bad.op().loc().nodes());
        c.put("pcc", bad.pcc());
        c.put("max_abs_error", bad.maxAbs());
      }
      json.put("check", c);
    }
    if (ref != null) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("ok", ref.stream().allMatch(Execution.OutputCheck::ok));
      c.put("min_pcc", Execution.MIN_PCC);
      List<Map<String, Object>> outs = new ArrayList<>();
      for (Execution.OutputCheck k : ref) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("output", k.output());
        e.put("file", k.reference().toString());
        e.put("pcc", k.pcc());
        e.put("max_abs_error", k.maxAbsError());
        e.put("ok", k.ok());
        outs.add(e);
      }
      c.put("outputs", outs);
      json.put("reference", c);
    }
    PrintWriter w = spec.commandLine().getOut();
    if (common.json) {
      Json.print(w, json);
    } else {
      for (Map.Entry<String, Tensor> e : out.entrySet()) {
        w.printf("%s: %s%n", e.getKey(), e.getValue());
      }
      w.printf(Locale.ROOT, "%d ops on the mesh, %d on the host: %,d kernel runs executed of the plan's %,d (%s); "
          + "%,.0f cycles simulated (kernels and their step overheads) against the plan's %,d (%+.1f%%)%n",
          r.meshOps(), r.hostOps(), prog.executedKernels(), prog.planKernels(), prog.same() ? "the same program"
              : "not the plan's program: " + prog.firstDifference(), prog.simulatedCycles(), r.predictedCycles(),
          100 * (prog.simulatedCycles() - r.predictedCycles()) / Math.max(1, r.predictedCycles()));
      if (output != null) {
        w.printf("wrote %d output(s) to %s%n", out.size(), output);
      }
      if (check && bad == null) {
        w.printf("check: every op's mesh result is within Pearson %.3f of the fp32 reference%n", Execution.MIN_PCC);
      }
      if (ref != null) {
        for (Execution.OutputCheck k : ref) {
          w.printf(Locale.ROOT, "reference: %s %s %s (Pearson %.6f, max abs error %.4g)%n", k.output(),
              k.ok() ? "matches" : "DIVERGES from", k.reference(), k.pcc(), k.maxAbsError());
        }
      }
    }
    w.flush();
    int status = Main.OK;
    if (bad != null) {
      Layer layer = p.module().layerOf(bad.index());
      spec.commandLine().getErr().printf(Locale.ROOT, "meshc: check: op %d (%s%s, ONNX %s) diverges from the "
          + "reference: Pearson %.6f, max abs error %.4g%n", bad.index(), bad.op().name(),
          layer == null ? "" : " in layer " + layer.index(), String.join(", ", bad.op().loc().nodes()), bad.pcc(),
          bad.maxAbs());
      status = Main.NO_PLAN;
    }
    if (ref != null) {
      for (Execution.OutputCheck k : ref) {
        if (!k.ok()) {
          spec.commandLine().getErr().printf(Locale.ROOT, "meshc: reference: output '%s' diverges from %s: Pearson "
              + "%.6f (below %.3f), max abs error %.4g%n", k.output(), k.reference(), k.pcc(), Execution.MIN_PCC,
              k.maxAbsError());
          status = Main.NO_PLAN;
        }
      }
    }
    spec.commandLine().getErr().flush();
    return status;
  }

  private int report(PlanDir.Loaded p, Execution.Timing t) {
    Execution.Program prog = t.program();
    double predicted = t.predictedCycles();
    double simulated = t.simulatedCycles();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", p.module().name());
    json.put("phase", t.phase());
    json.put("mode", "timing");
    json.put("accumulate", accumulate.toString());
    json.put("plan_kernels", prog.planKernels());
    json.put("executed_kernels", prog.executedKernels());
    json.put("kernels_match", prog.same());
    json.put("kernels_first_difference", prog.firstDifference());
    json.put("predicted_cycles", t.predictedCycles());
    json.put("simulated_cycles", simulated);
    json.put("predicted_cycles_per_token", predicted / t.tokens());
    json.put("simulated_cycles_per_token", simulated / t.tokens());
    json.put("simulated_vs_predicted", predicted == 0 ? null : simulated / predicted - 1);
    json.put("predicted_handoff_cycles", prog.predictedHandoffCycles());
    PrintWriter w = spec.commandLine().getOut();
    if (common.json) {
      Json.print(w, json);
      return Main.OK;
    }
    String what = t.phase().equals("decode") ? "one decode step" : "the prefill of " + t.tokens() + " tokens";
    w.printf(Locale.ROOT, "%s of %s, timing only: %,d kernel runs (%s)%n", p.module().name(), what,
        prog.executedKernels(), prog.same() ? "the plan's program" : "not the plan's: " + prog.firstDifference());
    w.printf(Locale.ROOT, "  simulated %,.0f cycles against %,d predicted (%+.1f%%); per token %,.0f against %,.0f%n",
        simulated, t.predictedCycles(), predicted == 0 ? 0 : 100 * (simulated / predicted - 1), simulated / t.tokens(),
        predicted / t.tokens());
    return Main.OK;
  }

  private int report(PlanDir.Loaded p, Execution.Generation g) {
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    Long perToken = g.predictedCyclesPerToken();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", p.module().name());
    json.put("prompt_ids", promptIds);
    json.put("generated_ids", g.generated());
    json.put("accumulate", accumulate.toString());
    json.put("mode", g.mode());
    json.put("mesh_cycles", g.meshCycles());
    json.put("kv_occupancy_spread", g.kvOccupancySpread() < 0 ? null : g.kvOccupancySpread());
    json.put("gemvs_per_token", g.gemvsPerToken().isEmpty() ? null : g.gemvsPerToken());
    json.put("predicted_cycles_per_token", perToken);
    json.put("predicted_tokens_per_second", perToken == null ? null : 1 / m.seconds(perToken));
    Double simulated = g.simulatedCyclesPerToken();
    json.put("simulated_cycles_per_token", simulated);
    Execution.Program prog = g.program();
    if (prog != null) {
      json.put("plan_kernels", prog.planKernels());
      json.put("executed_kernels", prog.executedKernels());
      json.put("kernels_match", prog.same());
      json.put("kernels_first_difference", prog.firstDifference());
      json.put("predicted_handoff_cycles", prog.predictedHandoffCycles());
    }
    PrintWriter w = spec.commandLine().getOut();
    if (common.json) {
      Json.print(w, json);
    } else {
      w.println(g.generated().stream().map(String::valueOf).collect(Collectors.joining(" ")));
      w.printf(Locale.ROOT, "(%s)%n", g.mode());
      if (perToken != null) {
        w.printf(Locale.ROOT, "predicted decode: %,d cycles per token, %.1f tokens/s (the plan's decode phase)%n",
            perToken, 1 / m.seconds(perToken));
      }
      if (simulated != null) {
        w.printf(Locale.ROOT, "simulated decode: %,.0f cycles per token (kernels and their step overheads, mean of "
            + "the steps), %+.1f%% of predicted; %s%n", simulated, perToken == null ? 0 : 100 * (simulated / perToken
            - 1), prog.same() ? "the plan's " + prog.planKernels() + " kernel runs executed as planned"
            : "the executed program differs from the plan's: " + prog.firstDifference());
      }
    }
    return Main.OK;
  }
}
