package dev.meshc.cli;

import dev.meshc.compiler.io.Json;
import dev.meshc.backends.mesh.MeshDecoder;
import dev.meshc.backends.mesh.MeshExecutor;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Resequence;
import dev.meshc.ir.Shape;
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
  static final double MIN_PCC = 0.999;

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

  @Option(names = "--check", description = "also run the fp32 reference evaluator and name the first op whose mesh "
      + "result diverges (Pearson correlation below 0.999); exits 1 if one does")
  boolean check;

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
    limit.limits();
    PlanDir.Loaded p = PlanDir.read(plan);
    if (promptIds != null) {
      return generate(p);
    }
    if (inputs == null) {
      throw MeshcException.input("run needs --input NAME=FILE.npy for every model input, or --prompt-ids to generate");
    }
    Inputs in = Inputs.parse(inputs, limit.limits());
    in.requireAll(p.module(), "run");
    dev.meshc.compiler.Progress progress = CliProgress.of(common, spec.commandLine().getErr());
    progress.start("meshc run", check ? 4 : 3);
    progress.step("streaming weights from " + p.model().getFileName());
    Frontend f = Frontend.load(p.model(), p.manifest().inputs().stream().map(InputBinding::parse).toList(),
        limit.limits());
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    MeshExecutor.Fault fault = plantFault >= 0 ? new MeshExecutor.Fault(plantFault, 100f) : null;
    List<List<Tensor>> perOp = new ArrayList<>(); // the mesh's result of every op, for --check
    progress.step("prefill on the mesh runtime (" + p.module().ops().size() + " ops)");
    MeshExecutor.Result r = MeshExecutor.prefill(p.module(), in.values(), f.weights(), m, fp32, fault, (op, res) -> {
      if (check) {
        perOp.add(res);
      }
    });
    if (check) {
      progress.step("checking every op against the reference evaluator");
    }
    MeshExecutor.Divergence bad = check ? MeshExecutor.check(p.module(), in.values(), f.weights(), perOp, MIN_PCC)
        : null;
    Map<String, Tensor> out = r.outputs();
    progress.step(output == null ? "done" : "writing " + output);
    EvalCommand.writeOutputs(output, out);
    progress.finish();
    Placement prefill = p.module().placements().stream().filter(x -> x.phase().equals("prefill")).findFirst()
        .orElseThrow();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", p.module().name());
    json.put("phase", "prefill");
    json.put("accumulate", accumulate.toString());
    json.put("outputs", EvalCommand.describe(out, output));
    json.put("mesh_ops", r.meshOps());
    json.put("host_ops", r.trace().size() - r.meshOps());
    json.put("mesh_cycles", r.meshCycles());
    json.put("predicted_prefill_cycles", prefill.info().getInt("cycles", 0));
    json.put("predicted_cycles_per_layer", prefill.regions().get(0).info().getInt("cycles_per_layer", 0));
    json.put("predicted_cycles_per_token", (double) prefill.info().getInt("cycles", 0)
        / Math.max(1, prefill.info().getInt("prompt_len", 1)));
    if (check) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("ok", bad == null);
      c.put("min_pcc", MIN_PCC);
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
    PrintWriter w = spec.commandLine().getOut();
    if (common.json) {
      Json.print(w, json);
    } else {
      for (Map.Entry<String, Tensor> e : out.entrySet()) {
        w.printf("%s: %s%n", e.getKey(), e.getValue());
      }
      w.printf("%d ops on the mesh (%,.0f cycles of mesh kernels simulated), %d on the host; the plan predicts %,d "
          + "cycles for the whole prefill%n", r.meshOps(), r.meshCycles(), r.trace().size() - r.meshOps(),
          prefill.info().getInt("cycles", 0));
      if (output != null) {
        w.printf("wrote %d output(s) to %s%n", out.size(), output);
      }
      if (check && bad == null) {
        w.printf("check: every op's mesh result is within Pearson %.3f of the fp32 reference%n", MIN_PCC);
      }
    }
    if (bad != null) {
      Layer layer = p.module().layerOf(bad.index());
      spec.commandLine().getErr().printf(Locale.ROOT, "meshc: check: op %d (%s%s, ONNX %s) diverges from the "
          + "reference: Pearson %.6f, max abs error %.4g%n", bad.index(), bad.op().name(),
          layer == null ? "" : " in layer " + layer.index(), String.join(", ", bad.op().loc().nodes()), bad.pcc(),
          bad.maxAbs());
      spec.commandLine().getErr().flush();
      return Main.NO_PLAN;
    }
    return Main.OK;
  }

  /**
   * Greedy generation, for now by recomputing the prefill on the mesh for each new token: the
   * model is imported at the current length and planned at the plan's prefill grid; the next id
   * is the argmax of the last position's logits. The decode plan gives the predicted time.
   */
  private int generate(PlanDir.Loaded p) {
    if (maxNewTokens < 1 || promptIds.length == 0) {
      throw MeshcException.input("--prompt-ids needs at least one id and --max-new-tokens at least 1");
    }
    if (p.module().inputs().size() != 1 || p.module().outputs().size() != 1) {
      throw MeshcException.input("generation needs a model with one input (the token ids) and one output (the "
          + "logits); %s has %d and %d", p.module().name(), p.module().inputs().size(), p.module().outputs().size());
    }
    String input = p.module().inputs().get(0).name();
    Placement decodePlan = p.module().placements().stream().filter(x -> x.phase().equals("decode")).findFirst()
        .orElse(null);
    float[] theta = MeshDecoder.thetas(p.module());
    if (decodePlan != null && !decodePlan.regions().isEmpty() && theta != null) {
      return decode(p, input, decodePlan, theta);
    }
    Placement prefill = p.module().placements().stream().filter(x -> x.phase().equals("prefill")).findFirst()
        .orElseThrow(() -> MeshcException.input("%s has no prefill plan: compile with --phase prefill or both", plan));
    int grid = (int) prefill.regions().get(0).info().requireInt("grid");
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    List<Long> ids = new ArrayList<>();
    for (long id : promptIds) {
      ids.add(id);
    }
    List<Long> generated = new ArrayList<>();
    double meshCycles = 0;
    dev.meshc.compiler.Progress progress = CliProgress.of(common, spec.commandLine().getErr());
    progress.start("meshc run", maxNewTokens);
    for (int step = 0; step < maxNewTokens; step++) {
      progress.step("token " + (step + 1) + " of " + maxNewTokens + " (prefill recomputed)");
      int len = ids.size();
      Frontend f;
      try {
        f = atLength(p, input, len);
      } catch (MeshcException fixedGraph) {
        // a static export whose module cannot move (a constant bias over the traced positions):
        // run it at its own length, the ids right-padded; causal attention keeps the first len exact
        f = Frontend.load(p.model(), p.manifest().inputs().stream().map(InputBinding::parse).toList(), limit.limits());
        if (Resequence.traced(f.module()) < len) {
          throw MeshcException.input("%s: %d tokens do not fit the %d positions its export fixed (%s): export it "
              + "with a dynamic sequence length to generate further", p.module().name(), len,
              Resequence.traced(f.module()), fixedGraph.getMessage());
        }
      }
      int width = (int) Resequence.traced(f.module());
      ModelShape shape = ModelShape.of(f.module());
      Planner planner = new Planner(shape, m, Workload.prefill(width), new Planner.Options(grid, 0, 5, 0.02, 1));
      Plan placed = planner.plan();
      if (!placed.feasible()) {
        throw new MeshcException(MeshcException.Kind.NO_PLAN, "no plan at length " + len + ": "
            + placed.explanation());
      }
      Module module = f.module().withPlacements(List.of(Placements.of(placed, shape, planner.costModel())));
      long[] tokens = java.util.Arrays.copyOf(ids.stream().mapToLong(Long::longValue).toArray(), width);
      MeshExecutor.Result r = MeshExecutor.prefill(module, Map.of(input, Tensor.ofLongs(Shape.of(1, width), tokens)),
          f.weights(), m, accumulate.fp32(), null, (op, res) -> { });
      meshCycles += r.meshCycles();
      float[] logits = r.outputs().values().iterator().next().floats();
      int vocab = logits.length / width;
      long best = argmax(logits, (len - 1) * vocab, len * vocab);
      ids.add(best);
      generated.add(best);
    }
    progress.finish();
    Placement decode = p.module().placements().stream().filter(x -> x.phase().equals("decode")).findFirst()
        .orElse(null);
    Long perToken = decode == null || decode.regions().isEmpty() ? null : decode.info().getInt("cycles", 0);
    return report(p, generated, "prefill recomputed per token", meshCycles, perToken, m, -1, null);
  }

  /**
   * Greedy generation by decode steps on the mesh (MeshGEMV per projection, K and V kept per
   * attention): every prompt token is a step, then every new one.
   */
  private int decode(PlanDir.Loaded p, String input, Placement decodePlan, float[] theta) {
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    Frontend f = atLength(p, input, 1);
    Module step = f.module().withPlacements(List.of(decodePlan));
    long context = decodePlan.info().getInt("max_context", promptIds.length + maxNewTokens);
    if (promptIds.length + maxNewTokens > context) {
      throw MeshcException.input("%d prompt and %d new tokens exceed the plan's --max-context %d", promptIds.length,
          maxNewTokens, context);
    }
    long fixed = Resequence.positions(step);
    if (promptIds.length + maxNewTokens - 1 > fixed) {
      throw MeshcException.input("%d prompt and %d new tokens need %d positions, but %s's export fixed its position "
          + "table at %d: export it with a dynamic sequence length (or a longer fixed one) to generate further",
          promptIds.length, maxNewTokens, promptIds.length + maxNewTokens - 1, p.module().name(), fixed);
    }
    MeshDecoder d = new MeshDecoder(step, theta, f.weights(), m, accumulate.fp32(), (int) context);
    List<Long> generated = new ArrayList<>();
    long next = -1;
    dev.meshc.compiler.Progress progress = CliProgress.of(common, spec.commandLine().getErr());
    progress.start("meshc run", promptIds.length + maxNewTokens - 1);
    for (int i = 0; i < promptIds.length + maxNewTokens - 1; i++) {
      progress.step(i < promptIds.length ? "decode step " + (i + 1) + ": prompt token" : "decode step " + (i + 1)
          + ": new token " + (i - promptIds.length + 2) + " of " + maxNewTokens);
      long token = i < promptIds.length ? promptIds[i] : next;
      if (i >= promptIds.length) {
        generated.add(token);
      }
      float[] logits = d.next(Map.of(input, Tensor.ofLongs(Shape.of(1, 1), token))).values().iterator().next()
          .floats();
      next = argmax(logits, 0, logits.length);
    }
    generated.add(next);
    progress.finish();
    int steps = promptIds.length + maxNewTokens - 1;
    int[] axes = d.gemvAxes();
    Map<String, Object> chain = new LinkedHashMap<>();
    chain.put("y_to_x", axes[0] / steps);
    chain.put("x_to_y", axes[1] / steps);
    return report(p, generated, "decode on the mesh: MeshGEMVs alternating Y→X→Y (W_O and W_down pre-transposed), "
        + "norms and softmax as row all-reduces, activations, RoPE and residual adds local, K/V on the rows the "
        + "shift-based cache gives", d.meshCycles(), decodePlan.info().getInt("cycles", 0), m, d.occupancySpread(), chain);
  }

  /**
   * The model at [1, len]: imported at that length when its export lets the sequence vary, else
   * (a static export, fixed at the length it was traced with) the plan's module moved to it by
   * {@link Resequence}, which lifting made possible by reading what the trace froze.
   */
  private Frontend atLength(PlanDir.Loaded p, String input, int len) {
    try {
      return Frontend.load(p.model(), List.of(new InputBinding(input, new long[] {1, len})), limit.limits());
    } catch (MeshcException dynamicFailed) {
      Frontend f = Frontend.load(p.model(), p.manifest().inputs().stream().map(InputBinding::parse).toList(),
          limit.limits());
      if (Resequence.traced(f.module()) == len) {
        return f;
      }
      return new Frontend(f.graph(), Resequence.at(f.module(), len), f.weights());
    }
  }

  /** The index of the largest of v[from, to), counted from {@code from}. */
  private static long argmax(float[] v, int from, int to) {
    int best = from;
    for (int i = from + 1; i < to; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best - from;
  }

  private int report(PlanDir.Loaded p, List<Long> generated, String mode, double meshCycles, Long perToken,
      MachineSpec m, int spread, Map<String, Object> gemvsPerToken) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", p.module().name());
    json.put("prompt_ids", promptIds);
    json.put("generated_ids", generated);
    json.put("accumulate", accumulate.toString());
    json.put("mode", mode);
    json.put("mesh_cycles", meshCycles);
    json.put("kv_occupancy_spread", spread < 0 ? null : spread);
    json.put("gemvs_per_token", gemvsPerToken);
    json.put("predicted_cycles_per_token", perToken);
    json.put("predicted_tokens_per_second", perToken == null ? null : 1 / m.seconds(perToken));
    PrintWriter w = spec.commandLine().getOut();
    if (common.json) {
      Json.print(w, json);
    } else {
      w.println(generated.stream().map(String::valueOf).collect(Collectors.joining(" ")));
      w.printf(Locale.ROOT, "(%s)%n", mode);
      if (perToken != null) {
        w.printf(Locale.ROOT, "predicted decode: %,d cycles per token, %.1f tokens/s (the plan's decode phase)%n",
            perToken, 1 / m.seconds(perToken));
      }
    }
    return Main.OK;
  }
}
