package dev.meshc.cli.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Wall time and exit code of meshc on each malformed model of examples/hostile, each in its own
 * JVM capped at 512 MiB of heap (the corpus's bound: exit 2 within 2 seconds and 512 MiB).
 * {@code mvn -B -q -pl compiler/cli -am test-compile exec:exec@hostile-bench}
 */
public final class HostileBench {
  private HostileBench() {}

  public static void main(String[] args) throws Exception {
    Path corpus = Path.of("..", "..", "examples", "hostile");
    Path tmp = Files.createTempDirectory("hostile");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    System.out.printf(Locale.ROOT, "meshc on examples/hostile, one JVM per file, -Xmx512m (%s %s)%n",
        System.getProperty("java.vm.name"), System.getProperty("java.version"));
    double worst = 0;
    for (String line : Files.readAllLines(corpus.resolve("cases.tsv"))) {
      if (line.startsWith("#")) {
        continue;
      }
      String[] c = line.split("\t");
      List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
          "dev.meshc.cli.Main"));
      cmd.addAll(List.of(dev.meshc.cli.HostileCorpusTest.args(c, tmp)));
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
      int code = p.waitFor();
      double secs = (System.nanoTime() - t0) / 1e9;
      worst = Math.max(worst, secs);
      String last = out.lines().reduce((a, b) -> b).orElse("");
      System.out.printf(Locale.ROOT, "%-28s exit %d in %.2f s: %s%n", c[0], code, secs,
          last.length() > 100 ? last.substring(0, 100) + "…" : last);
    }
    System.out.printf(Locale.ROOT, "slowest %.2f s (JVM start included)%n", worst);
  }
}
