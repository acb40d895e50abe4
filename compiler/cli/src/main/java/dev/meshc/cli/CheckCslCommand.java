package dev.meshc.cli;

import dev.meshc.compiler.io.Json;
import dev.meshc.backends.csl.CslCheck;
import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.sim.Simulator;
import dev.meshc.backends.csl.CslChecker;
import dev.meshc.ir.MeshcException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshc check-csl}: parses CSL; for a meshc project, evaluates its layout and checks routes, colours and memory. */
@Command(name = "check-csl", mixinStandardHelpOptions = true,
    description = {"Parses CSL files (errors say file:line:col). For a project meshc wrote (a folder with "
        + "meshc-project.properties) it also evaluates the comptime layout, rebuilds every PE's routes and checks: "
        + "colours routable, not reserved and within the budget per PE; every colour that leaves a PE is received "
        + "or forwarded by its neighbour and none leaves the mesh; each PE's arrays fit its memory; the routes are "
        + "the kernel template's; it counts the distinct PE programs (file and params; memcpy's per-column params "
        + "count once); for a decode project it sets each region's memory per PE beside the plan's (the plan's "
        + "weights, KV cache and buffers). Then it loads every PE program in meshc's CSL simulator, which holds them to the "
        + "SDK's rules: exports and their mutability, the libraries and builtins, DSD field ranges, queues and "
        + "task bindings, memory (projects up to 16,384 PEs on wse2/wse3)."},
    footer = {"", "Examples:", "  meshc check-csl out/gemv8", "  meshc check-csl --parse-only my_kernel.csl"})
final class CheckCslCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "PATH", description = ".csl files or project folders")
  List<Path> paths;

  @Option(names = "--parse-only", description = "only parse: for any hand-written CSL")
  boolean parseOnly;

  @Mixin
  LimitOption limit;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    CslCheck.Report r = CslCheck.check(paths, parseOnly, limit.limits(), CheckCslCommand::programs);
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("ok", r.findings().isEmpty());
      j.put("files", r.files());
      j.put("projects", r.projects());
      j.put("pes", r.pes());
      j.put("max_pe_bytes", r.maxPeBytes());
      j.put("distinct_programs", r.distinctPrograms());
      j.put("regions", r.regions().stream().map(g -> {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("region", g.region());
        o.put("csl_bytes_per_pe", g.cslBytes());
        o.put("plan_bytes_per_pe", g.planBytes());
        o.put("csl_colors_per_pe", g.cslColors());
        o.put("plan_colors_per_pe", g.planColors());
        o.put("csl_input_queues", g.cslInputs());
        o.put("plan_input_queues", g.planInputs());
        o.put("csl_output_queues", g.cslOutputs());
        o.put("plan_output_queues", g.planOutputs());
        return o;
      }).toList());
      j.put("findings", r.findings().stream().map(CslChecker.Finding::toString).toList());
      Json.print(out, j);
    } else if (r.findings().isEmpty()) {
      out.printf(java.util.Locale.ROOT, "ok: %d files parsed%s%n", r.files(), r.projects() == 0 ? ""
          : String.format(java.util.Locale.ROOT, ", %d project%s checked (%,d PEs, at most %,d bytes of arrays "
              + "on one; distinct PE programs: %s)", r.projects(), r.projects() == 1 ? "" : "s", r.pes(),
              r.maxPeBytes(), programs(r.distinctPrograms())));
      if (!r.regions().isEmpty()) {
        StringBuilder b = new StringBuilder();
        StringBuilder c = new StringBuilder();
        StringBuilder q = new StringBuilder();
        for (CslCheck.RegionFigures g : r.regions()) {
          b.append(b.length() == 0 ? "" : "; ").append(String.format(java.util.Locale.ROOT, "%d: %,d vs %,d (%+.1f%%)",
              g.region(), g.cslBytes(), g.planBytes(), 100.0 * (g.cslBytes() - g.planBytes()) / Math.max(1,
              g.planBytes())));
          c.append(c.length() == 0 ? "" : "; ").append(String.format(java.util.Locale.ROOT, "%d: %d vs %d",
              g.region(), g.cslColors(), g.planColors()));
          q.append(q.length() == 0 ? "" : "; ").append(String.format(java.util.Locale.ROOT, "%d: %d/%d vs %d/%d",
              g.region(), g.cslInputs(), g.cslOutputs(), g.planInputs(), g.planOutputs()));
        }
        out.printf("memory per PE by decode region, the CSL's arrays vs the plan's bytes: %s%n", b);
        out.printf("colours per PE by decode region, the most the CSL routes on one vs the plan's: %s%n", c);
        out.printf("queues (input/output) per PE by decode region, the CSL program's vs the plan's: %s%n", q);
      }
    }
    if (!r.findings().isEmpty()) {
      PrintWriter err = spec.commandLine().getErr();
      r.findings().forEach(f -> err.println(f));
      throw MeshcException.input("%d problem%s in the CSL", r.findings().size(), r.findings().size() == 1 ? "" : "s");
    }
    return Main.OK;
  }

  private static String programs(List<Integer> counts) {
    StringBuilder b = new StringBuilder();
    counts.forEach(n -> b.append(b.length() == 0 ? "" : ", ").append(n));
    return b.toString();
  }

  /** Projects this big are checked by their layout alone: the simulator loads every PE's program. */
  static final int SIMULATED_PES = 16_384;

  /**
   * The SDK's rules on every PE program, as meshc's CSL simulator loads them (exports and their
   * mutability, libraries and builtins it models, memory, task and queue bindings): a refusal is a
   * finding at its place. Projects for machines other than wse2/wse3, or over {@value #SIMULATED_PES}
   * PEs, are checked by their layout only.
   */
  static List<CslChecker.Finding> programs(Path layout, String machine, Map<String, Object> params, int w, int h) {
    if (!machine.equals("wse2") && !machine.equals("wse3") || (long) w * h > SIMULATED_PES) {
      return List.of();
    }
    try {
      Simulator.build(new Simulator.Config(layout, machine, params, new int[] {w + 7, h + 2}, new int[] {4, 1}, true,
          1)).stop();
      return List.of();
    } catch (MeshcException e) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(.+?):(\\d+):(\\d+): (.*)$").matcher(e.getMessage());
      return List.of(m.matches()
          ? new CslChecker.Finding(new Comptime.Loc(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))),
              m.group(4))
          : new CslChecker.Finding(new Comptime.Loc(layout.toString(), 1, 1), e.getMessage()));
    }
  }
}
