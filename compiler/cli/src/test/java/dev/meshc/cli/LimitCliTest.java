package dev.meshc.cli;

import static dev.meshc.cli.CliTest.meshc;
import static dev.meshc.cli.CliTest.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --limit NAME=N} on every command that reads a stranger's file: crossed, one line and exit 2; raised, done. */
class LimitCliTest {
  @TempDir
  Path dir;

  /** {@code command --limit name=low} is refused in one line naming the option; {@code name=high} succeeds. */
  private static void crossThenRaise(String name, String low, String high, String... command) {
    CliTest.Run refused = meshc(with(command, name + "=" + low));
    assertEquals(2, refused.code(), refused.err());
    assertEquals("", refused.out());
    String err = refused.err().strip();
    assertTrue(err.startsWith("meshc: error: ") && !err.contains("\n") && err.contains("is over the limit of ")
        && err.contains("raise it with --limit " + name + "=N"), err);
    CliTest.Run raised = meshc(with(command, name + "=" + high));
    assertEquals(0, raised.code(), raised.err());
  }

  private static String[] with(String[] command, String setting) {
    List<String> a = new ArrayList<>(List.of(command));
    a.addAll(List.of("--limit", setting, "-q"));
    return a.toArray(String[]::new);
  }

  @Test
  void inspectAndEval() {
    String gpt2 = model("tiny-gpt2.onnx");
    crossThenRaise("proto-depth", "3", "64", "inspect", gpt2, "--input", "input_ids=1x16");
    // a NumPy header is 118 bytes
    crossThenRaise("npy-header-bytes", "64", "128", "eval", gpt2, "--input", "input_ids="
        + model("tiny-gpt2.input_ids.npy"));
  }

  @Test
  void runReadsTheModelAndItsInputsWithinTheLimits() {
    Path plan = dir.resolve("plan");
    assertEquals(0, meshc("compile", model("tiny-llama.onnx"), "--input", "input_ids=1x16", "--phase", "prefill",
        "--grid", "8", "--emit", "plan", "-o", plan.toString(), "-q").code());
    String[] run = {"run", plan.toString(), "--input", "input_ids=" + model("tiny-llama.input_ids.npy")};
    crossThenRaise("npy-header-bytes", "100", "65536", run);
    crossThenRaise("nodes", "10", "1000", run);
  }

  @Test
  void checkCsl() {
    Path gemv = dir.resolve("gemv");
    assertEquals(0, meshc("kernel", "gemv", "--grid", "4", "--shape", "1x32x24", "--emit-csl", gemv.toString())
        .code());
    crossThenRaise("csl-bytes", "100", "65536", "check-csl", gemv.toString());
    crossThenRaise("comptime-steps", "1000", "4000000000", "check-csl", gemv.toString());
    crossThenRaise("layout-pes", "15", "16", "check-csl", gemv.toString());
  }

  @Test
  void anUnknownNameListsTheValidOnes() {
    for (String command : List.of("inspect", "compile", "eval", "run")) {
      CliTest.Run r = meshc(command, "nowhere", "--input", "x=1", "--limit", "node=5");
      assertEquals(2, r.code(), command);
      assertEquals("meshc: error: --limit node=5: no limit 'node'; meshc has " + String.join(", ", Limits.NAMES),
          r.err().strip(), command);
    }
    CliTest.Run csl = meshc("check-csl", "nowhere", "--limit", "node=5");
    assertEquals(2, csl.code());
    assertTrue(csl.err().contains("no limit 'node'; meshc has model-bytes,"), csl.err());
  }

  @Test
  void helpGivesEveryLimitItsDefault() {
    long[] d = Limits.DEFAULTS.values();
    for (int i = 0; i < d.length; i++) {
      String name = Limits.NAMES.get(i);
      assertTrue(LimitOption.DESCRIPTION.matches(".*\\b" + name + "[a-z ]*\\((default )?" + d[i] + "\\).*"), name);
    }
    assertTrue(meshc("check-csl", "--help").out().contains("--limit=NAME=N"));
  }
}
