package dev.meshc.cli;

import dev.meshc.compiler.io.Json;
import dev.meshc.backends.csl.CslProject;
import dev.meshc.backends.mesh.MeshRuntime;
import dev.meshc.backends.mesh.RouteCheck;
import dev.meshc.backends.mesh.RunResult;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Estimate;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.compiler.io.AtomicFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshc kernel}: one mesh kernel on the Java mesh runtime, as WaferLLM's
 * {@code run_sim.sh P M K N} runs one on the Cerebras simulator: random fp16 operands, the
 * product checked against an exact one, and the cycles.
 */
@Command(name = "kernel", mixinStandardHelpOptions = true,
    description = {"Runs one GEMM or GEMV kernel on meshc's mesh runtime: functional (random fp16 inputs, the "
        + "result checked against the exact product) or --timing-only (no values; wafer-scale grids). "
        + "Algorithms: GEMM meshgemm, cannon, summa, gemmt (C = A·Bᵀ); GEMV meshgemv, pipeline, ring."},
    footer = {"", "Examples:", "  meshc kernel gemm --algorithm meshgemm --grid 8 --shape 96x96x96",
        "  meshc kernel gemv --algorithm meshgemv --grid 750 --shape 1x16384x16384 --timing-only",
        "  meshc kernel gemv --grid 8 --shape 1x512x512 --machine wse3 --emit-csl out/gemv8"})
final class KernelCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "KIND", description = "gemm or gemv")
  String kind;

  @Option(names = "--algorithm", paramLabel = "NAME", description = "default: meshgemm for gemm, meshgemv for gemv")
  String algorithm;

  @Option(names = "--grid", required = true, paramLabel = "P|WxH", description = "PEs: P×P, or W columns by H rows")
  String grid;

  @Option(names = "--shape", required = true, paramLabel = "MxKxN", description = "C[M,N] = A[M,K]·B[K,N] (gemv: M = 1)")
  String shape;

  @Option(names = "--machine", paramLabel = "NAME|FILE", defaultValue = "wse2",
      description = "wse2 (default), wse3 or a machine file")
  String machine;

  @Option(names = "--timing-only", description = "move no values: for wafer-scale grids")
  boolean timingOnly;

  @Mixin
  AccumulateOption accumulate;

  @Option(names = "--groups", paramLabel = "G", defaultValue = "0",
      description = "MeshGEMV: K-tree groups per column (default ≈ √rows)")
  int groups;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "seed of the random operands")
  long seed;

  @Option(names = "--emit-csl", paramLabel = "DIR", description = "write the kernel as a Cerebras SDK project "
      + "(layout.csl, the PE program, run.py, commands.sh) for --machine wse2 or wse3, instead of running it; "
      + "meshgemm, gemmt and meshgemv")
  Path emitCsl;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** Writes the CSL project (whole, or not at all) and says what is in it. */
  private int emitCsl(String alg, KernelTemplate.Problem p, int w, int h, MachineSpec mach) {
    if (!alg.equals("meshgemv") && !alg.equals("meshgemm") && !alg.equals("gemmt")) {
      throw MeshcException.input("--emit-csl writes meshgemm, gemmt (dist-GEMM-T) and meshgemv projects, not %s", alg);
    }
    if (!alg.equals("meshgemv") && w != h) {
      throw MeshcException.input("meshgemm runs on a square grid; %dx%d is not square", w, h);
    }
    if (accumulate.fp32() && spec.commandLine().getParseResult().hasMatchedOption("--accumulate")) {
      throw MeshcException.input("--emit-csl writes fp16 accumulation (WSE's @fmach); drop --accumulate fp32");
    }
    CslProject project = alg.equals("meshgemm") ? CslProject.meshGemm(p, w, mach)
        : alg.equals("gemmt") ? CslProject.distGemmT(p, w, mach) : CslProject.meshGemv(p, w, h, groups, mach);
    AtomicFiles.writeDirectory(emitCsl, project::writeTo);
    PrintWriter out = spec.commandLine().getOut();
    long bytes = project.bytes();
    if (common.json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("algorithm", alg);
      j.put("grid", List.of(w, h));
      j.put("shape", List.of(p.m(), p.k(), p.n()));
      j.put("machine", mach.name());
      j.put("output", emitCsl.toString());
      j.put("files", List.copyOf(project.files().keySet()));
      j.put("bytes", bytes);
      Json.print(out, j);
    } else {
      out.printf(Locale.ROOT, "wrote %s: %s on %dx%d %s PEs, %d files (%,d bytes); build and run it with "
          + "commands.sh, check it with meshc check-csl %s%n", emitCsl, alg, w, h, mach.name(), project.files().size(),
          bytes, emitCsl);
    }
    return Main.OK;
  }

  @Override
  public Integer call() {
    if (!kind.equals("gemm") && !kind.equals("gemv")) {
      throw MeshcException.input("kernel kind '%s' should be gemm or gemv", kind);
    }
    String alg = algorithm != null ? algorithm : kind.equals("gemm") ? "meshgemm" : "meshgemv";
    if (!(kind.equals("gemm") ? Kernels.GEMM : Kernels.GEMV).contains(alg)) {
      throw MeshcException.input("--algorithm %s is not a %s algorithm; %s has %s", alg, kind, kind,
          String.join(", ", kind.equals("gemm") ? Kernels.GEMM : Kernels.GEMV));
    }
    boolean fp32 = accumulate.fp32();
    int[] g = dims("--grid", grid, 1, 2);
    int w = g[0];
    int h = g.length == 2 ? g[1] : g[0];
    int[] s = dims("--shape", shape, 2, 3);
    long m = s.length == 3 ? s[0] : 1;
    long k = s[s.length - 2];
    long n = s[s.length - 1];
    MachineSpec mach = MachineSpec.load(machine);
    if (emitCsl != null) {
      return emitCsl(alg, new KernelTemplate.Problem(m, k, n), w, h, mach);
    }
    KernelTemplate t = Kernels.create(alg, new KernelTemplate.Problem(m, k, n), w, h, fp32, groups);
    String tooBig = timingOnly ? null : MeshRuntime.functionalTooBig(t);
    if (tooBig != null) {
      throw MeshcException.input("%s; add --timing-only", tooBig);
    }
    long start = System.nanoTime();
    RunResult r;
    Double relError = null;
    double simulation;
    if (timingOnly) {
      r = MeshRuntime.timing(t, mach);
      simulation = (System.nanoTime() - start) / 1e9;
    } else {
      RouteCheck.verify(t, mach);
      Random rnd = new Random(seed);
      float[] a = random((int) (m * k), rnd);
      float[] b = random((int) (k * n), rnd);
      long sim = System.nanoTime();
      r = MeshRuntime.functional(t, mach, a, b);
      simulation = (System.nanoTime() - sim) / 1e9;
      relError = maxRelError(r.c(), a, b, (int) m, (int) k, (int) n, alg.equals("gemmt"));
    }
    double wall = (System.nanoTime() - start) / 1e9;
    Estimate e = t.estimate(mach);
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("kind", kind);
      j.put("algorithm", alg);
      j.put("grid", List.of(w, h));
      j.put("shape", List.of(m, k, n));
      j.put("padded_shape", List.of(t.padded().m(), t.padded().k(), t.padded().n()));
      j.put("machine", mach.name());
      j.put("mode", timingOnly ? "timing" : "functional");
      j.put("accumulate", accumulate.toString());
      j.put("cycles", r.cycles());
      j.put("seconds", mach.seconds(r.cycles()));
      j.put("compute_cycles", r.computeCycles());
      j.put("comm_cycles", r.commCycles());
      j.put("compute_efficiency", r.computeCycles() / r.cycles());
      j.put("estimate_cycles", e.cycles());
      j.put("max_pe_bytes", r.maxPeBytes());
      j.put("max_colors_per_pe", r.maxColorsPerPe());
      j.put("max_hops_per_step", r.maxHopsPerTransfer());
      j.put("transfers", r.transfers());
      j.put("max_rel_error", relError);
      j.put("simulation_seconds", simulation); // the runtime alone: no operands made, no product checked
      j.put("wall_seconds", wall);
      Json.print(out, j);
      return Main.OK;
    }
    out.printf(Locale.ROOT, "%s on %dx%d %s PEs, %s (padded %s), %s accumulation, %s%n", alg, w, h, mach.name(),
        t.problem(), t.padded(), accumulate, timingOnly ? "timing only" : "functional");
    out.printf(Locale.ROOT, "  cycles:   %,.0f (%.3f us at %.2f GHz); closed form %,.0f%n", r.cycles(),
        mach.seconds(r.cycles()) * 1e6, mach.clockHz() / 1e9, e.cycles());
    out.printf(Locale.ROOT, "  compute:  %,.0f cycles (%.0f%% of the time), communication %,.0f%n", r.computeCycles(),
        100 * r.computeCycles() / r.cycles(), r.commCycles());
    out.printf(Locale.ROOT, "  per PE:   %,d B of %,d, %d colours of %d, longest transfer %d hops%n", r.maxPeBytes(),
        mach.bufferBudget(), r.maxColorsPerPe(), mach.colorBudget(), r.maxHopsPerTransfer());
    if (relError != null) {
      out.printf(Locale.ROOT, "  error:    %.2e max relative to the exact product of the fp16 inputs%n", relError);
    }
    out.printf(Locale.ROOT, "  simulated %,d transfers in %.2f s (%.2f s with the operands and the check)%n",
        r.transfers(), simulation, wall);
    return Main.OK;
  }

  private static int[] dims(String option, String text, int min, int max) {
    String[] parts = text.split("[xX]");
    if (parts.length < min || parts.length > max) {
      throw MeshcException.input("%s %s: expected %s", option, text, max == 2 ? "P or WxH" : "MxKxN");
    }
    int[] r = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        r[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw MeshcException.input("%s %s: '%s' is not a positive integer", option, text, parts[i]);
      }
      if (r[i] < 1) {
        throw MeshcException.input("%s %s: '%s' is not a positive integer", option, text, parts[i]);
      }
    }
    return r;
  }

  private static float[] random(int n, Random r) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = Fp16.round((float) r.nextGaussian());
    }
    return a;
  }

  /** max |c − exact| / max |exact|, the exact product of the fp16 operands computed in double. */
  static double maxRelError(float[] c, float[] a, float[] b, int m, int k, int n, boolean transposed) {
    double err = 0;
    double scale = 0;
    double[] row = new double[n];
    for (int i = 0; i < m; i++) {
      java.util.Arrays.fill(row, 0);
      for (int q = 0; q < k; q++) { // row i of the product, a row of b at a time (b is read in order)
        double av = a[i * k + q];
        for (int j = 0; j < n; j++) {
          row[j] += av * (transposed ? b[j * k + q] : b[q * n + j]);
        }
      }
      for (int j = 0; j < n; j++) {
        err = Math.max(err, Math.abs(row[j] - c[i * n + j]));
        scale = Math.max(scale, Math.abs(row[j]));
      }
    }
    return scale == 0 ? 0 : err / scale;
  }

}
