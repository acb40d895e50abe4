package dev.meshc.cli.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.meshc.backends.mesh.bench.KernelBench;
import dev.meshc.cli.Main;
import dev.meshc.cli.ZooTest;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.bench.FrontendBench;
import dev.meshc.compiler.io.Npy;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The runtime benchmark of issue 17, in one run: functional MeshGEMM 1024³ on 32² against a blocked
 * Java matmul; {@code meshc run} on the default plans ({@code meshc compile} without {@code --grid})
 * of all-MiniLM-L6-v2 at 1×128 and of every zoo model at 1×16, one JVM each, wall time of the run
 * alone; one LLaMA3-8B decode token timing-only on its default plan; then transfers per second of
 * timing-only MeshGEMM, SUMMA, Cannon and dist-GEMM-T (2K³) and MeshGEMV ([1,16K]×[16K,16K]) on
 * 360² and 720², on every core (rounds whose order of PEs cannot matter are split over threads).
 * {@code mvn -B -q -pl compiler/cli -am test-compile exec:exec@runtime-bench}
 */
public final class RuntimeBench {
  private RuntimeBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child")) {
      child(args);
      return;
    }
    System.out.printf(Locale.ROOT, "meshc runtime benchmark (%s %s, %d cores)%n%n", System.getProperty("java.vm.name"),
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
    System.out.println(KernelBench.describe(KernelBench.overhead(32, 1024)));
    System.out.println();
    System.out.println("meshc run on default plans (compile without --grid), prefill, fp32 accumulation; wall of the "
        + "run alone, one JVM each:");
    Path miniLm = TestModels.miniLm();
    List<String> ins = new ArrayList<>();
    for (String in : List.of("input_ids", "attention_mask", "token_type_ids")) {
      ins.add(in + "=1x128=" + (in.equals("input_ids") ? "ids" : in.equals("attention_mask") ? "ones" : "zeros"));
    }
    FrontendBench.runChild(RuntimeBench.class, "8g", "all-MiniLM-L6-v2, 1x128", child("prefill", miniLm, ins));
    for (JsonObject m : ZooTest.lifted().toList()) {
      List<String> zin = new ArrayList<>();
      m.getAsJsonObject("inputs").entrySet().forEach(e -> zin.add(e.getKey() + "=1x16="
          + ZooTest.zoo(m, e.getValue().getAsString())));
      FrontendBench.runChild(RuntimeBench.class, "4g", "zoo " + m.get("name").getAsString() + ", 1x16",
          child("prefill", ZooTest.zoo(m, m.get("file").getAsString()), zin));
    }
    System.out.println();
    FrontendBench.runChild(RuntimeBench.class, "8g", "LLaMA3-8B shape, one decode token at context 4096, timing only",
        child("decode", TestModels.example("models/llama3-8b-shape.onnx"), List.of("input_ids=1x16=none")));
    System.out.println();
    System.out.println("Kernels timing only, WSE-2, fp16 accumulation: cycles, transfers, wall, transfers per second "
        + "(transfers counted include rounds applied as a time shift, and MeshGEMV's are one column's)");
    for (int p : new int[] {360, 720}) {
      for (String alg : List.of("meshgemm", "summa", "cannon", "gemmt", "meshgemv")) {
        long m = alg.equals("meshgemv") ? 1 : 2048;
        long kn = alg.equals("meshgemv") ? 16384 : 2048;
        String problem = m + "x" + kn + "x" + kn;
        KernelBench.Timed t = KernelBench.timed(alg, p, m, kn, kn);
        if (t == null) {
          System.out.printf(Locale.ROOT, "  %-9s %4d² %-16s does not fit%n", alg, p, problem);
        } else {
          System.out.printf(Locale.ROOT, "  %-9s %4d² %-16s %,12.0f cycles %,15d transfers %7.1f s %,13.0f/s%n", alg,
              p, problem, t.result().cycles(), t.result().transfers(), t.wall(), t.result().transfers() / t.wall());
        }
      }
    }
  }

  /** The child's arguments: phase, model, then NAME=SHAPE=VALUES per input (ids, ones, zeros, none or a .npy). */
  private static List<String> child(String phase, Path model, List<String> inputs) {
    List<String> a = new ArrayList<>(List.of(phase, model.toString()));
    a.addAll(inputs);
    return a;
  }

  /** Compiles the default plan of one phase with meshc itself, then times {@code meshc run} on it. */
  private static void child(String[] args) throws Exception {
    String phase = args[1];
    Path model = Path.of(args[2]);
    Path tmp = Files.createTempDirectory("meshc-runtime-bench");
    List<String> compile = new ArrayList<>(List.of("compile", model.toString(), "--phase", phase, "--emit", "plan",
        "-o", tmp.resolve("plan").toString(), "--json", "-q"));
    List<String> run = new ArrayList<>(List.of("run", tmp.resolve("plan").toString(), "--json", "-q"));
    for (int i = 3; i < args.length; i++) {
      String[] f = args[i].split("=", 3);
      compile.addAll(List.of("--input", f[0] + "=" + f[1]));
      if (!f[2].equals("none")) {
        run.addAll(List.of("--input", f[0] + "=" + values(tmp, f[0], f[1], f[2])));
      }
    }
    if (phase.equals("decode")) {
      run.addAll(List.of("--timing-only", "--prompt-ids", "1"));
    }
    long t0 = System.nanoTime();
    JsonObject plan = meshc(compile);
    double compiled = (System.nanoTime() - t0) / 1e9;
    t0 = System.nanoTime();
    JsonObject r = meshc(run);
    double wall = (System.nanoTime() - t0) / 1e9;
    StringBuilder grids = new StringBuilder();
    for (var e : plan.getAsJsonArray("regions")) {
      JsonObject g = e.getAsJsonObject();
      grids.append(grids.length() == 0 ? "" : ", ").append(g.get("width").getAsInt()).append('x')
          .append(g.get("height").getAsInt());
    }
    double predicted = r.get("predicted_cycles").getAsDouble();
    double simulated = r.get("simulated_cycles").getAsDouble();
    System.out.printf(Locale.ROOT, "default plan: regions %s; compile %.1f s; meshc run %.1f s; %,d kernel runs (%s); "
        + "simulated %,.0f cycles against %,.0f predicted (%+.1f%%); peak heap %.0f MiB%n", grids, compiled, wall,
        r.get("executed_kernels").getAsLong(), r.get("kernels_match").getAsBoolean() ? "the plan's program"
            : "not the plan's", simulated, predicted, 100 * (simulated / predicted - 1),
        FrontendBench.peakHeap() / 1048576.0);
  }

  /** A .npy of one input: token ids 1, 2, 3, …, ones, zeros, or the file given. */
  private static Path values(Path dir, String name, String shape, String what) throws Exception {
    if (what.endsWith(".npy")) {
      return Path.of(what);
    }
    long[] dims = java.util.Arrays.stream(shape.split("x")).mapToLong(Long::parseLong).toArray();
    long[] v = new long[(int) Shape.of(dims).elements()];
    for (int i = 0; i < v.length; i++) {
      v[i] = what.equals("ids") ? 1 + i : what.equals("ones") ? 1 : 0;
    }
    Path f = dir.resolve(name + ".npy");
    try (OutputStream s = Files.newOutputStream(f)) {
      Npy.write(Tensor.ofLongs(Shape.of(dims), v), s);
    }
    return f;
  }

  /** meshc in this JVM; its --json output; a failure ends the child. */
  private static JsonObject meshc(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.execute(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    if (code != 0) {
      throw new IllegalStateException("meshc " + String.join(" ", args) + " exited " + code + ": "
          + err.toString(StandardCharsets.UTF_8));
    }
    return JsonParser.parseString(out.toString(StandardCharsets.UTF_8)).getAsJsonObject();
  }
}
