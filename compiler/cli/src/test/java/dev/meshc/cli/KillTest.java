package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** meshc compile killed midway (while the solver runs) leaves the previous output as it was and nothing else. */
class KillTest {
  @TempDir
  Path dir;

  @Test
  void killedCompileLeavesThePreviousOutput() throws Exception {
    Path out = dir.resolve("plan");
    assertEquals(0, CliTest.meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--grid",
        "8", "-o", out.toString(), "-q").code());
    String report = Files.readString(out.resolve("report.txt"));
    List<String> before = listing();
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), "dev.meshc.cli.Main", "compile",
        CliTest.model("qwen2-72b-shape.onnx"), "--input", "input_ids=1x16", "--time-limit", "600", "-o", out.toString())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = err.readLine()) != null && !line.contains("planning")) {
        // wait until the solver is at work
      }
      assertTrue(line != null, "the child ended before planning");
      p.destroyForcibly();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }
    assertEquals(before, listing(), "the output folder's parent changed");
    assertEquals(report, Files.readString(out.resolve("report.txt")));
  }

  private List<String> listing() throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(x -> dir.relativize(x).toString()).sorted().toList();
    }
  }
}
