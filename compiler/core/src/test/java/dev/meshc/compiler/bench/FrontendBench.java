package dev.meshc.compiler.bench;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times import + lift (no weights read) of real models and reports peak heap, each model in a
 * fresh JVM so the heap figures are its own. Run through Maven (see README: Benchmarks):
 * {@code mvn -B -q -pl compiler/core -am test-compile exec:exec@bench}.
 */
public final class FrontendBench {
  private FrontendBench() {}

  record Case(String label, Path model, String binding) {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child")) {
      child(Path.of(args[1]), args[2], Integer.parseInt(args[3]));
      return;
    }
    if (args.length > 0 && args[0].equals("--zoo")) {
      zoo(Integer.parseInt(args[1]));
      return;
    }
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    List<Case> cases = List.of(
        new Case("all-MiniLM-L6-v2 (637 nodes, 90 MB inline fp32)", TestModels.miniLm(), "input_ids=1x128"),
        new Case("LLaMA3-8B shape (32 layers, weights absent)", TestModels.example("models/llama3-8b-shape.onnx"),
            "input_ids=1x128"));
    System.out.printf(Locale.ROOT, "meshc front-end benchmark: import + lift, %d timed runs after 1 warm-up, "
        + "one JVM per model (%s, %d cores)%n", iterations, System.getProperty("java.vm.name") + " "
        + System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
    for (Case c : cases) {
      runChild(FrontendBench.class, c.label() + ", --input " + c.binding(), c.model().toString(), c.binding(),
          Integer.toString(iterations));
    }
    runZoo(iterations);
  }

  /** Milliseconds of {@code iterations} imports + lifts, sorted. */
  private static double[] timed(Path model, List<InputBinding> b, int iterations) {
    double[] ms = new double[iterations];
    for (int i = 0; i < iterations; i++) {
      long s = System.nanoTime();
      Frontend.load(model, b);
      ms[i] = (System.nanoTime() - s) / 1e6;
    }
    Arrays.sort(ms);
    return ms;
  }

  /** Every zoo model (examples/zoo) at 1×16 in one JVM, one line each: median import + lift. */
  private static void zoo(int iterations) throws Exception {
    com.google.gson.JsonArray all = com.google.gson.JsonParser.parseString(
        java.nio.file.Files.readString(TestModels.example("zoo/zoo.json"))).getAsJsonArray();
    for (com.google.gson.JsonElement e : all) {
      com.google.gson.JsonObject m = e.getAsJsonObject();
      List<InputBinding> b = m.getAsJsonObject("inputs").keySet().stream()
          .map(in -> InputBinding.parse(in + "=1x16")).toList();
      Path model = TestModels.example("zoo/" + m.get("file").getAsString());
      Frontend f = Frontend.load(model, b);
      double[] ms = timed(model, b, iterations);
      System.out.printf(Locale.ROOT, "%-20s median %5.1f ms  %4d ONNX nodes -> %4d tile ops, %d layers%n",
          m.get("name").getAsString(), ms[ms.length / 2], f.graph().nodesWritten(), f.module().ops().size(),
          f.module().layers().size());
    }
  }

  /** Runs {@code main.main("--child", args...)} in a fresh JVM, echoing its lines under {@code label}. */
  public static void runChild(Class<?> main, String label, String... args) throws Exception {
    runChild(main, "4g", label, List.of(args));
  }

  /** As above, the child's heap at most {@code heap} ({@code -Xmx}). */
  public static void runChild(Class<?> main, String heap, String label, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + heap, "-cp", System.getProperty("java.class.path"), main.getName(), "--child"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      System.out.println(label);
      while ((line = r.readLine()) != null) {
        System.out.println("  " + line);
      }
    }
    if (p.waitFor() != 0) {
      throw new IllegalStateException("benchmark child failed for " + label);
    }
  }

  private static void runZoo(int iterations) throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx4g", "-cp",
        System.getProperty("java.class.path"), FrontendBench.class.getName(), "--zoo", Integer.toString(iterations));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).inheritIO().start();
    System.out.println("the model zoo (examples/zoo), each at 1x16, one JVM for all:");
    if (p.waitFor() != 0) {
      throw new IllegalStateException("zoo benchmark failed");
    }
  }

  /** Peak heap used over all heap pools since the JVM started (garbage included). */
  public static long peakHeap() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }

  private static void child(Path model, String binding, int iterations) {
    List<InputBinding> b = List.of(InputBinding.parse(binding));
    long t0 = System.nanoTime();
    Frontend f = Frontend.load(model, b);
    double first = (System.nanoTime() - t0) / 1e6;
    double[] ms = timed(model, b, iterations);
    long peak = peakHeap();
    System.gc();
    long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    System.out.printf(Locale.ROOT, "first run %.0f ms; then median %.0f ms, min %.0f ms, max %.0f ms%n", first,
        ms[ms.length / 2], ms[0], ms[ms.length - 1]);
    System.out.printf(Locale.ROOT, "%d ONNX nodes -> %d after folding -> %d tile ops, %d layers%n",
        f.graph().nodesWritten(), f.graph().nodes().size(), f.module().ops().size(), f.module().layers().size());
    System.out.printf(Locale.ROOT, "peak heap used %.1f MiB (all pools, garbage included); live after lift + GC "
        + "%.1f MiB%n", peak / 1048576.0, live / 1048576.0);
  }
}
