package dev.meshc.cli;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.io.AtomicFiles;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.backends.csl.CslProject;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.PlanReport;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Value;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.text.TirPrinter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshc compile}: plan a model on the wafer with CP-SAT and write what was asked for. */
@Command(name = "compile", mixinStandardHelpOptions = true,
    description = {"Imports and lifts a model, then lets CP-SAT choose the pipeline regions (grids, places on "
        + "the wafer, layers per region) under per-PE memory and the colour budget, minimising predicted time per "
        + "token (decode) or per prompt (prefill). Reads no weight bytes. Exits 1 with the binding constraint "
        + "and its numbers when nothing fits."},
    footer = {"", "Examples:",
        "  meshc compile examples/models/llama3-8b-shape.onnx --input input_ids=1x128 --phase decode "
            + "--max-context 4096 -o out/",
        "  meshc compile examples/models/llama3-8b-shape.onnx --input input_ids=1x128 --grid 420 --json -o out/"})
final class CompileCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "MODEL", description = "the .onnx file")
  Path model;

  @Option(names = "--input", paramLabel = "NAME=DIMS",
      description = "bind a dynamic input shape for import, e.g. input_ids=1x128; the planned lengths come from "
          + "--prompt-len and --max-context, not from this")
  List<String> inputs;

  @Option(names = "--machine", paramLabel = "NAME|FILE", defaultValue = "wse2",
      description = "wse2 (default), wse3 or a machine file")
  String machine;

  @Option(names = "--phase", paramLabel = "PHASE", defaultValue = "both",
      description = "prefill, decode or both (default)")
  String phase;

  @Option(names = "--prompt-len", paramLabel = "N", description = "prefill prompt length (default: the sequence "
      + "length the model is imported at, so that meshc run executes what was planned; 512 when none shows)")
  Long promptLen;

  @Option(names = "--max-context", paramLabel = "N", defaultValue = "4096",
      description = "decode: the KV cache holds up to N tokens (default 4096)")
  long maxContext;

  @Option(names = "--grid", paramLabel = "P", defaultValue = "0",
      description = "fix every region to PxP (to reproduce a configuration); default: the solver chooses")
  int grid;

  @Option(names = "--wafers", paramLabel = "N|auto", defaultValue = "auto",
      description = "wafers in the pipeline; auto (default) takes the fewest that fit")
  String wafers;

  @Option(names = "--time-limit", paramLabel = "UNITS", defaultValue = "10",
      description = "the solver's deterministic time limit (CP-SAT work units, about seconds; default 10); "
          + "when it stops the search the best plan is kept and its gap reported")
  double timeLimit;

  @Option(names = "--gap", paramLabel = "FRACTION", defaultValue = "0.02",
      description = "stop once the plan is proven within this fraction of the optimum (default 0.02; 0 = prove it)")
  double gap;

  @Option(names = "--emit", paramLabel = "KIND", defaultValue = "report",
      description = "what to write into -o, comma-separated: report (report.txt, summary.json, the wafers as SVG and "
          + "PNG per phase; the default), tir (plan.tir: the tile IR with the placed plan of each phase), plan "
          + "(plan.tir and plan.json: an executable plan for meshc run), csl (the decode plan as a Cerebras SDK "
          + "project: layout.csl, decode.csl, run.py, commands.sh; wse2)")
  String emit;

  @Option(names = {"-o", "--output"}, paramLabel = "DIR", description = "output folder (replaced whole, atomically)")
  Path output;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** The sequence length of the token-id input (an integer input's last dim), or 512. */
  static long tracedLength(Module m) {
    for (Value v : m.inputs()) {
      if (!v.dtype().isFloating() && v.shape().rank() >= 2) {
        return v.shape().dim(-1);
      }
    }
    return 512;
  }

  @Override
  public Integer call() {
    List<String> kinds = List.of(emit.split(","));
    for (String k : kinds) {
      if (!List.of("report", "tir", "plan", "csl").contains(k)) {
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
    int wafersN = 0;
    if (!wafers.equals("auto")) {
      try {
        wafersN = Integer.parseInt(wafers);
      } catch (NumberFormatException e) {
        wafersN = -1;
      }
      if (wafersN < 1 || wafersN > Planner.MAX_WAFERS) {
        throw MeshcException.input("--wafers %s: a count from 1 to %d, or auto", wafers, Planner.MAX_WAFERS);
      }
    }
    if (!List.of("both", "prefill", "decode").contains(phase)) {
      throw MeshcException.input("--phase %s: prefill, decode or both", phase);
    }
    MachineSpec m = MachineSpec.load(machine);
    List<InputBinding> bindings = Inputs.parse(inputs).bindings();
    Frontend f = Frontend.load(model, bindings);
    List<Workload> loads = new ArrayList<>();
    if (phase.equals("both") || phase.equals("prefill")) {
      loads.add(Workload.prefill(promptLen != null ? promptLen : tracedLength(f.module())));
    }
    if (phase.equals("both") || phase.equals("decode")) {
      loads.add(Workload.decode(maxContext));
    }
    ModelShape shape = ModelShape.of(f.module());
    Planner.Options opts = new Planner.Options(grid, wafersN, timeLimit, gap, 1);
    List<Plan> plans = new ArrayList<>();
    List<Placement> placed = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (Workload w : loads) {
      Planner planner = new Planner(shape, m, w, opts);
      if (common.verbose) {
        PrintWriter err = spec.commandLine().getErr();
        planner.log(line -> err.println("cp-sat: " + line));
      }
      Plan p = planner.plan();
      plans.add(p);
      placed.add(Placements.of(p, shape, planner.costModel()));
      text.append(PlanReport.text(p, planner.costModel(), shape.envelope()));
      if (wafersN == 0 && p.feasible()) {
        text.append(String.format(java.util.Locale.ROOT, "  --wafers auto: %d, the fewest found to fit%n",
            p.wafers()));
      }
    }
    boolean feasible = plans.stream().allMatch(Plan::feasible);
    CslProject csl = null;
    if (kinds.contains("csl")) {
      if (output == null) {
        throw MeshcException.input("--emit csl needs -o DIR");
      }
      if (loads.stream().noneMatch(w -> w.phase().label().equals("decode"))) {
        throw MeshcException.input("--emit csl writes the decode plan: compile with --phase decode or both");
      }
      if (feasible) { // written whole before anything is: a model the program cannot run fails here
        String rel = output.toAbsolutePath().normalize().relativize(model.toAbsolutePath().normalize()).toString();
        csl = CslProject.decode(f.module().withPlacements(placed), rel, m);
      }
    }
    CslProject project = csl;
    Map<String, Object> json = new LinkedHashMap<>();
    if (plans.size() == 1) {
      json.putAll(PlanReport.json(plans.get(0)));
    } else {
      json.put("feasible", feasible);
      for (Plan p : plans) {
        json.put(p.workload().phase().label(), PlanReport.json(p));
      }
    }
    if (output != null) {
      AtomicFiles.writeDirectory(output, dir -> {
        String placedTir = TirPrinter.print(f.module().withPlacements(placed));
        if (kinds.contains("plan")) {
          PlanDir.of(model, bindings.stream().map(InputBinding::toString).toList(), m.name(),
              loads.stream().map(w -> w.phase().label()).toList()).write(dir, placedTir);
        } else if (kinds.contains("tir")) {
          Files.writeString(dir.resolve(PlanDir.TIR), placedTir, StandardCharsets.UTF_8);
        }
        if (project != null) {
          for (Map.Entry<String, String> e : project.files().entrySet()) {
            Files.createDirectories(dir.resolve(e.getKey()).getParent());
            Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
          }
        }
        if (!kinds.contains("report")) {
          return;
        }
        Files.writeString(dir.resolve("report.txt"), text.toString(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("summary.json"), Json.text(json), StandardCharsets.UTF_8);
        for (Plan p : plans) {
          Files.writeString(dir.resolve("wafer-" + p.workload().phase().label() + ".svg"), PlanReport.svg(p, m),
              StandardCharsets.UTF_8);
          Files.write(dir.resolve("wafer-" + p.workload().phase().label() + ".png"), PlanReport.png(p, m));
        }
      });
    }
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Json.print(out, json);
    } else {
      out.print(text);
      if (output != null) {
        out.println("wrote " + String.join(" and ", kinds) + " to " + output);
      }
    }
    out.flush();
    if (!feasible) {
      PrintWriter err = spec.commandLine().getErr();
      for (Plan p : plans) {
        if (!p.feasible()) {
          err.println("meshc: no plan for " + p.workload().phase().label() + ": " + p.explanation());
        }
      }
      err.flush();
      return Main.NO_PLAN;
    }
    return Main.OK;
  }
}
