package dev.meshc.compiler;

import dev.meshc.backends.csl.CslProject;
import dev.meshc.compiler.io.AtomicFiles;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.EndToEnd;
import dev.meshc.compiler.plan.Grids;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.compiler.plan.PlanReport;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.text.TirPrinter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code meshc compile} as a library call, for the CLI and the Maven plugin alike: import, plan
 * each phase with CP-SAT, and write what was asked for into the output folder (whole, or not at
 * all). Bad options are a {@link MeshcException} before any work.
 */
public final class Compilation {
  private Compilation() {}

  /** What can be emitted. */
  public static final List<String> EMITS = List.of("report", "tir", "plan", "csl");

  /**
   * Everything {@code meshc compile} takes. {@code wafers} 0 is auto; {@code promptLen} null is the
   * traced one; {@code maxContext} 0 is the default (4096, or the prompt and {@code genLen} when
   * that is given); {@code genLen} (or null) asks for the end-to-end throughput of generating that
   * many tokens after the prompt.
   */
  public record Options(Path model, List<InputBinding> bindings, String machine, String phase, Long promptLen,
      long maxContext, Grids grid, int wafers, double timeLimit, double gap, List<String> emit, Limits limits,
      Long genLen, int workers) {
    public Options {
      bindings = List.copyOf(bindings);
      emit = List.copyOf(emit);
      for (String k : emit) {
        if (!EMITS.contains(k)) {
          throw MeshcException.input("--emit %s: this meshc emits report, tir, plan and csl", k);
        }
      }
      if (genLen != null && genLen < 1) {
        throw MeshcException.input("--gen-len %d: a positive number of tokens", genLen);
      }
      if (genLen != null && !phase.equals("both")) {
        throw MeshcException.input("--gen-len prices prefill and decode together: compile with --phase both");
      }
      if (gap < 0 || gap >= 1) {
        throw MeshcException.input("--gap %s: a fraction in [0, 1)", gap);
      }
      if (timeLimit <= 0) {
        throw MeshcException.input("--time-limit must be positive");
      }
      if (workers < 1) {
        throw MeshcException.input("--workers %d: at least 1", workers);
      }
      if (wafers < 0 || wafers > Planner.MAX_WAFERS) {
        throw MeshcException.input("--wafers %s: a count from 1 to %d, or auto", wafers, Planner.MAX_WAFERS);
      }
      if (!List.of("both", "prefill", "decode").contains(phase)) {
        throw MeshcException.input("--phase %s: prefill, decode or both", phase);
      }
      if (maxContext < 0) {
        throw MeshcException.input("--max-context %d: a positive number of tokens", maxContext);
      }
    }

    /** The options as one stable line: what an incremental build compares. */
    public String fingerprint() {
      return String.join(" ", List.of("inputs=" + bindings, "machine=" + machine, "phase=" + phase,
          "prompt=" + promptLen, "context=" + maxContext, "grid=" + grid, "wafers=" + wafers, "limit=" + timeLimit,
          "gap=" + gap, "emit=" + emit, "limits=" + limits, "gen=" + genLen));
    }
  }

  /** The machine planned for, the plans, whether all are feasible, the human report, the JSON summary, and why any phase has no plan. */
  public record Result(MachineSpec machine, List<Plan> plans, boolean feasible, String text, Map<String, Object> json,
      List<String> failures) {}

  /**
   * Compiles; writes the outputs into {@code output} (replaced whole) unless it is null.
   * {@code solverLog} (or null) sees CP-SAT's search log.
   */
  public static Result run(Options o, Path output, Consumer<String> solverLog) {
    return run(o, output, solverLog, Progress.NONE);
  }

  /** As above, reporting each stage (import, each phase's solve, writing) to {@code progress}. */
  public static Result run(Options o, Path output, Consumer<String> solverLog, Progress progress) {
    // an encoder's "both" plans prefill alone: the bar may finish a step early, never overrun
    int phases = o.phase().equals("both") ? 2 : 1;
    progress.start("meshc compile", 1 + phases + (output != null ? 1 : 0));
    try {
      return compile(o, output, solverLog, progress);
    } finally {
      progress.finish();
    }
  }

  private static Result compile(Options o, Path output, Consumer<String> solverLog, Progress progress) {
    if (o.emit().contains("csl") && output == null) {
      throw MeshcException.input("--emit csl needs -o DIR");
    }
    if (o.emit().contains("csl") && o.phase().equals("prefill")) {
      throw MeshcException.input("--emit csl writes the decode plan: compile with --phase decode or both");
    }
    MachineSpec m = MachineSpec.load(o.machine());
    progress.step("importing " + o.model().getFileName());
    Frontend f = Frontend.load(o.model(), o.bindings(), o.limits());
    boolean generates = generates(f.module());
    if (o.phase().equals("decode") && !generates) {
      throw MeshcException.input(biased(f.module())
          ? "%s adds a constant position bias to its attention scores (ALiBi), which decode steps do not move to "
              + "each position yet: compile it with --phase prefill (run --prompt-ids then recomputes the prefill)"
          : f.module().layers().isEmpty()
              ? "%s: lifting recognised no transformer layers (meshc inspect shows what it lifted), so there is no "
                  + "decode phase to plan"
              : "%s is an encoder (no causal attention), so it has no decode phase: compile it with --phase prefill",
          f.module().name());
    }
    if (o.emit().contains("csl") && !generates) {
      throw MeshcException.input("--emit csl writes a decoder's decode plan; %s is an encoder (no causal "
          + "attention), so there is none", f.module().name());
    }
    List<Workload> loads = new ArrayList<>();
    long prompt = o.promptLen() != null ? o.promptLen() : tracedLength(f.module());
    if (o.genLen() != null && !generates) {
      throw MeshcException.input("--gen-len: %s is an encoder (no causal attention); it generates nothing",
          f.module().name());
    }
    long context = o.maxContext() > 0 ? o.maxContext() : o.genLen() != null ? prompt + o.genLen() : 4096;
    if (o.genLen() != null && context < prompt + o.genLen()) {
      throw MeshcException.input("--max-context %d holds fewer than the prompt's %d and --gen-len's %d tokens",
          context, prompt, o.genLen());
    }
    if (!o.phase().equals("decode")) {
      loads.add(Workload.prefill(prompt));
    }
    if (!o.phase().equals("prefill") && generates) { // "both" is every phase the model has
      loads.add(Workload.decode(context));
    }
    // decode regions are sized by the decode program's storage (LLaMA3-8B: 0.3 s cold); prefill's cost ignores it
    ModelShape shape = loads.stream().anyMatch(l -> l.phase() == Workload.Phase.DECODE)
        ? ModelShape.decoding(f.module()) : ModelShape.of(f.module());
    List<Plan> plans = new ArrayList<>();
    List<Placement> placed = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (Workload w : loads) {
      progress.step(String.format(java.util.Locale.ROOT, "planning %s on %s (CP-SAT, deterministic limit %s)",
          w.phase().label(), m.name(), o.timeLimit()));
      Planner planner = new Planner(shape, m, w, new Planner.Options(o.grid().of(w.phase()), o.wafers(),
          o.timeLimit(), o.gap(), 1, o.workers()));
      if (solverLog != null) {
        planner.log(solverLog);
      }
      Plan p = planner.plan();
      plans.add(p);
      placed.add(Placements.of(p, shape, planner.costModel()));
      text.append(PlanReport.text(p, planner.costModel(), shape.envelope()));
      if (o.wafers() == 0 && p.feasible()) {
        text.append(String.format(java.util.Locale.ROOT, "  --wafers auto: %d, the fewest found to fit%n",
            p.wafers()));
      }
    }
    boolean feasible = plans.stream().allMatch(Plan::feasible);
    Map<String, Object> json = new LinkedHashMap<>();
    if (plans.size() == 1) {
      json.putAll(PlanReport.json(plans.get(0)));
    } else {
      json.put("feasible", feasible);
      for (Plan p : plans) {
        json.put(p.workload().phase().label(), PlanReport.json(p));
      }
    }
    if (o.genLen() != null && feasible && plans.size() == 2) {
      EndToEnd e = EndToEnd.of(plans.get(0), plans.get(1), shape, m, prompt, o.genLen());
      text.append(String.format(java.util.Locale.ROOT, "end to end: a %d-token prompt, then %d generated tokens: "
          + "prefill %.3f ms + decode %.3f ms (each step at its context, %d to %d tokens) = %.1f generated tokens/s%n",
          prompt, o.genLen(), e.prefillSeconds() * 1e3, e.decodeSeconds() * 1e3, prompt + 1, prompt + o.genLen(),
          e.tokensPerSecond()));
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("prompt_len", prompt);
      j.put("gen_len", o.genLen());
      j.put("prefill_seconds", e.prefillSeconds());
      j.put("decode_seconds", e.decodeSeconds());
      j.put("end_to_end_tokens_per_second", e.tokensPerSecond());
      json.put("end_to_end", j);
    }
    List<String> failures = new ArrayList<>();
    for (Plan p : plans) {
      if (!p.feasible()) {
        failures.add("no plan for " + p.workload().phase().label() + ": " + p.explanation());
      }
    }
    CslProject csl = null;
    if (o.emit().contains("csl") && feasible) { // made whole before anything is written
      String rel = output.toAbsolutePath().normalize().relativize(o.model().toAbsolutePath().normalize()).toString();
      // the decode program is one token's: the model lifted at length 1, θ from the longer trace
      Module step = Frontend.atLength(o.model(), o.bindings(), f.module().inputs().get(0).name(), 1, o.limits())
          .module();
      csl = CslProject.decode(step.withPlacements(placed), dev.meshc.backends.mesh.MeshDecoder.thetas(f.module()),
          rel, m);
    }
    if (output != null) {
      progress.step("writing " + output);
      write(o, output, f.module().withPlacements(placed), plans, loads, m, text.toString(), json, csl);
    }
    return new Result(m, List.copyOf(plans), feasible, text.toString(), json, List.copyOf(failures));
  }

  private static void write(Options o, Path output, Module placed, List<Plan> plans, List<Workload> loads,
      MachineSpec m, String text, Map<String, Object> json, CslProject csl) {
    AtomicFiles.writeDirectory(output, dir -> {
      String placedTir = TirPrinter.print(placed);
      if (o.emit().contains("plan")) {
        PlanDir.of(o.model(), o.bindings().stream().map(InputBinding::toString).toList(), m.name(),
            loads.stream().map(w -> w.phase().label()).toList()).write(dir, placedTir);
      } else if (o.emit().contains("tir")) {
        Files.writeString(dir.resolve(PlanDir.TIR), placedTir, StandardCharsets.UTF_8);
      }
      if (csl != null) {
        csl.writeTo(dir);
      }
      if (!o.emit().contains("report")) {
        return;
      }
      Files.writeString(dir.resolve("report.txt"), text, StandardCharsets.UTF_8);
      Files.writeString(dir.resolve("summary.json"), Json.text(json), StandardCharsets.UTF_8);
      for (Plan p : plans) {
        Files.writeString(dir.resolve("wafer-" + p.workload().phase().label() + ".svg"), PlanReport.svg(p, m),
            StandardCharsets.UTF_8);
        Files.write(dir.resolve("wafer-" + p.workload().phase().label() + ".png"), PlanReport.png(p, m));
      }
    });
  }

  /**
   * Whether the model can be planned token by token: some layer attends causally (a decoder) and
   * no attention adds a constant bias that a decode step would have to move to its position.
   */
  public static boolean generates(Module m) {
    return m.layers().stream().anyMatch(l -> l.kind().equals("decoder")) && !biased(m);
  }

  private static boolean biased(Module m) {
    return m.ops().stream().anyMatch(op -> op instanceof dev.meshc.ir.op.Attention a && a.causal() && a.mask() != null
        && !a.mask().dtype().equals(dev.meshc.ir.DType.BOOL) && m.consts().stream()
            .anyMatch(c -> c.value().equals(a.mask())));
  }

  /** The sequence length of the token-id input (an integer input's last dim), or 512. */
  public static long tracedLength(Module m) {
    long t = dev.meshc.ir.Resequence.traced(m);
    return t > 0 ? t : 512;
  }
}
