package dev.meshc.compiler;

import dev.meshc.backends.csl.CslProject;
import dev.meshc.compiler.io.AtomicFiles;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.onnx.InputBinding;
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

  /** Everything {@code meshc compile} takes. {@code wafers} 0 is auto; {@code promptLen} null is the traced one. */
  public record Options(Path model, List<InputBinding> bindings, String machine, String phase, Long promptLen,
      long maxContext, int grid, int wafers, double timeLimit, double gap, List<String> emit, Limits limits) {
    public Options {
      bindings = List.copyOf(bindings);
      emit = List.copyOf(emit);
      for (String k : emit) {
        if (!EMITS.contains(k)) {
          throw MeshcException.input("--emit %s: this meshc emits report, tir, plan and csl", k);
        }
      }
      if (grid < 0) {
        throw MeshcException.input("--grid %d: a grid side is a positive number of PEs", grid);
      }
      if (gap < 0 || gap >= 1) {
        throw MeshcException.input("--gap %s: a fraction in [0, 1)", gap);
      }
      if (timeLimit <= 0) {
        throw MeshcException.input("--time-limit must be positive");
      }
      if (wafers < 0 || wafers > Planner.MAX_WAFERS) {
        throw MeshcException.input("--wafers %s: a count from 1 to %d, or auto", wafers, Planner.MAX_WAFERS);
      }
      if (!List.of("both", "prefill", "decode").contains(phase)) {
        throw MeshcException.input("--phase %s: prefill, decode or both", phase);
      }
      if (maxContext < 1) {
        throw MeshcException.input("--max-context %d: a positive number of tokens", maxContext);
      }
    }

    /** The options as one stable line: what an incremental build compares. */
    public String fingerprint() {
      return String.join(" ", List.of("inputs=" + bindings, "machine=" + machine, "phase=" + phase,
          "prompt=" + promptLen, "context=" + maxContext, "grid=" + grid, "wafers=" + wafers, "limit=" + timeLimit,
          "gap=" + gap, "emit=" + emit, "limits=" + limits));
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
    if (!o.phase().equals("decode")) {
      loads.add(Workload.prefill(o.promptLen() != null ? o.promptLen() : tracedLength(f.module())));
    }
    if (!o.phase().equals("prefill") && generates) { // "both" is every phase the model has
      loads.add(Workload.decode(o.maxContext()));
    }
    ModelShape shape = ModelShape.of(f.module());
    Planner.Options opts = new Planner.Options(o.grid(), o.wafers(), o.timeLimit(), o.gap(), 1);
    List<Plan> plans = new ArrayList<>();
    List<Placement> placed = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (Workload w : loads) {
      progress.step(String.format(java.util.Locale.ROOT, "planning %s on %s (CP-SAT, deterministic limit %s)",
          w.phase().label(), m.name(), o.timeLimit()));
      Planner planner = new Planner(shape, m, w, opts);
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
