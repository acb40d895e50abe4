package dev.meshc.cli;

import dev.meshc.compiler.Inputs;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.Compilation;
import dev.meshc.compiler.plan.Grids;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.PlanReport;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.machine.MachineSpec;
import java.util.Locale;
import java.util.Map;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
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

  @Option(names = "--max-context", paramLabel = "N",
      description = "decode: the KV cache holds up to N tokens (default 4096; with --gen-len, the prompt and the "
          + "generated tokens)")
  Long maxContext;

  @Option(names = "--gen-len", paramLabel = "N", description = "with --phase both: also predict the end-to-end "
      + "throughput of generating N tokens after the prompt (end_to_end_tokens_per_second: N / (prefill time + "
      + "the decode steps' time, each at its context))")
  Long genLen;

  @Option(names = "--grid", paramLabel = "P|prefill:P,decode:Q", defaultValue = "0", converter = GridsConverter.class,
      description = "fix every region to PxP (to reproduce a configuration), or each phase's regions to its own "
          + "side; default: the solver chooses")
  Grids grid;

  /** {@code --grid}'s forms, parsed by {@link Grids#parse}. */
  static final class GridsConverter implements picocli.CommandLine.ITypeConverter<Grids> {
    @Override
    public Grids convert(String value) {
      try {
        return Grids.parse(value);
      } catch (dev.meshc.ir.MeshcException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage().replaceFirst("^--grid ", ""));
      }
    }
  }

  @Option(names = "--wafers", paramLabel = "N|auto", defaultValue = "auto",
      description = "wafers in the pipeline; auto (default) takes the fewest that fit")
  String wafers;

  @Option(names = "--time-limit", paramLabel = "UNITS", defaultValue = "10",
      description = "the solver's deterministic time limit (CP-SAT work units, about seconds; default 10); "
          + "when it stops the search the best plan is kept and its gap reported")
  double timeLimit;

  @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
      description = "searches with places run side by side, each one CP-SAT worker with its own seed, the best kept "
          + "(default 1): the same plan for the same N on any machine; more finds better plans where the search "
          + "stops at its limit, in the same wall time given N cores")
  int workers;

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
  LimitOption limit;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** The few figures a person looks for first, and where the outputs are. */
  private void summary(PrintWriter out, Compilation.Result r, List<String> kinds) {
    MachineSpec m = r.machine();
    out.println("summary:");
    for (Plan p : r.plans()) {
      String phaseName = p.workload().phase().label();
      if (!p.feasible()) {
        out.printf(Locale.ROOT, "  %-8s no plan (see above)%n", phaseName + ":");
        continue;
      }
      Map<String, Object> j = PlanReport.json(p);
      long bytes = ((Number) j.get("max_pe_bytes")).longValue();
      boolean decode = p.workload().phase() == Workload.Phase.DECODE;
      out.printf(Locale.ROOT, "  %-8s %d region%s on %s wafer(s), %,d PEs; per PE at most %.1f KiB of %.1f KiB (%.0f%% "
          + "headroom) and %s colours of %d; %s%n", phaseName + ":", p.regions().size(),
          p.regions().size() == 1 ? "" : "s", j.get("wafers"), ((Number) j.get("pes_used")).longValue(),
          bytes / 1024.0, m.bufferBudget() / 1024.0, 100.0 * (m.bufferBudget() - bytes) / m.bufferBudget(),
          j.get("max_colors_per_pe"), m.colorBudget(), decode
              ? String.format(Locale.ROOT, "%.1f us per token (%,.0f tokens/s)",
                  ((Number) j.get("predicted_seconds_per_token")).doubleValue() * 1e6,
                  ((Number) j.get("predicted_tokens_per_second")).doubleValue())
              : String.format(Locale.ROOT, "%,d cycles per prompt of %s tokens",
                  ((Number) j.get("predicted_cycles")).longValue(), j.get("prompt_len")));
    }
    if (r.json().get("end_to_end") instanceof Map<?, ?> e) {
      out.printf(Locale.ROOT, "  end to end: %,.1f generated tokens/s (%s prompt tokens, %s generated)%n",
          ((Number) e.get("end_to_end_tokens_per_second")).doubleValue(), e.get("prompt_len"), e.get("gen_len"));
    }
    out.println(output == null ? "  outputs: none written (add -o DIR)"
        : "  outputs: " + String.join(", ", kinds) + " in " + output);
  }

  @Override
  public Integer call() {
    int wafersN = 0;
    if (!wafers.equals("auto")) {
      try {
        wafersN = Integer.parseInt(wafers);
      } catch (NumberFormatException e) {
        wafersN = -1;
      }
      if (wafersN < 1) {
        throw MeshcException.input("--wafers %s: a count from 1 to %d, or auto", wafers, Planner.MAX_WAFERS);
      }
    }
    List<String> kinds = List.of(emit.split(","));
    Limits limits = limit.limits();
    Compilation.Options o = new Compilation.Options(model, Inputs.parse(inputs, limits).bindings(), machine, phase,
        promptLen, maxContext == null ? 0 : maxContext, grid, wafersN, timeLimit, gap, kinds, limits, genLen,
        workers);
    PrintWriter err = spec.commandLine().getErr();
    Compilation.Result r = Compilation.run(o, output, common.verbose ? line -> err.println("cp-sat: " + line) : null,
        CliProgress.of(common, err));
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Json.print(out, r.json());
    } else {
      out.print(r.text());
      summary(out, r, kinds);
    }
    out.flush();
    if (!r.feasible()) {
      r.failures().forEach(f -> err.println("meshc: " + f));
      err.flush();
      return Main.NO_PLAN;
    }
    return Main.OK;
  }
}
