package dev.meshc.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.text.TirParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Coverage-guided fuzzing with Jazzer (libFuzzer for the JVM): every input is read or refused with
 * a one-line {@link MeshcException}; anything else is a finding. In a plain {@code mvn verify}
 * each fuzz test runs in regression mode: once per file in {@code CoverageFuzzTestInputs/<test>/}
 * (the seeds: small models OnnxBuilder writes, .tir files meshc printed, and any finding saved
 * there) and once on an empty input. To fuzz for real, one test at a time, for at most
 * {@code maxDuration}, with the corpus growing in {@code compiler/cli/.cifuzz-corpus/}:
 * {@code JAZZER_FUZZ=1 mvn -B -pl compiler/cli -am test -Dtest='CoverageFuzzTest#tirParser'
 * -Dsurefire.failIfNoSpecifiedTests=false}. Jazzer writes a finding into the inputs folder as
 * {@code crash-<sha1>}: from then on it is a regression test (give it a name that says what it is).
 */
class CoverageFuzzTest {
  @FuzzTest(maxDuration = "5m")
  void onnxImporter(byte[] input) throws IOException {
    Path f = Files.createTempFile("meshc-fuzz", ".onnx");
    try {
      Files.write(f, input);
      Frontend.load(f, List.of(InputBinding.parse("x=1x4")));
    } catch (MeshcException refused) {
      oneLine(refused);
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @FuzzTest(maxDuration = "5m")
  void tirParser(byte[] input) {
    try {
      TirParser.parse(new String(input, StandardCharsets.UTF_8), "f.tir");
    } catch (MeshcException refused) {
      oneLine(refused);
    }
  }

  private static void oneLine(MeshcException e) {
    if (e.getMessage() == null || e.getMessage().isBlank() || e.getMessage().contains("\n")) {
      throw new AssertionError("a refusal must be one line: " + e.getMessage());
    }
  }
}
