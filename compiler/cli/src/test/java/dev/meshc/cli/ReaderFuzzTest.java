package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.meshc.backends.csl.CslCheck;
import dev.meshc.backends.csl.CslProject;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.text.TirParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every reader fed mutated copies of real inputs (bit flips, byte runs, truncation, duplicated or
 * dropped spans): each input is read or refused with a {@link MeshcException}; anything else
 * (another exception, a stack overflow, running out of memory, more than 20 s) is a finding, and
 * the failure names the reader, the seed and the try. Fixed seed; CI runs
 * {@code meshc.fuzz.tries} (default 40) per reader, a deeper run sets it higher:
 * {@code mvn -B -pl compiler/cli -am test -Dtest=ReaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dmeshc.fuzz.tries=2000 -Dmeshc.fuzz.seed=7}.
 */
class ReaderFuzzTest {
  static final int TRIES = Integer.getInteger("meshc.fuzz.tries", 40);
  static final long SEED = Long.getLong("meshc.fuzz.seed", 20261126L);

  @TempDir
  Path dir;

  interface Reader {
    void read(byte[] input) throws Exception;
  }

  /** A mutated copy of {@code b}: one to four edits of a random kind. */
  static byte[] mutate(byte[] b, Random r) {
    byte[] m = b.clone();
    for (int edits = 1 + r.nextInt(4); edits > 0 && m.length > 0; edits--) {
      int at = r.nextInt(m.length);
      switch (r.nextInt(5)) {
        case 0 -> m[at] ^= (byte) (1 << r.nextInt(8)); // a bit flip
        case 1 -> { // a run of random bytes
          for (int i = at; i < Math.min(m.length, at + 1 + r.nextInt(16)); i++) {
            m[i] = (byte) r.nextInt(256);
          }
        }
        case 2 -> m = java.util.Arrays.copyOf(m, at); // truncation
        case 3 -> { // a span duplicated
          int len = Math.min(m.length - at, 1 + r.nextInt(64));
          byte[] n = new byte[m.length + len];
          System.arraycopy(m, 0, n, 0, at + len);
          System.arraycopy(m, at, n, at + len, m.length - at);
          m = n;
        }
        default -> { // a span dropped
          int len = Math.min(m.length - at, 1 + r.nextInt(64));
          byte[] n = new byte[m.length - len];
          System.arraycopy(m, 0, n, 0, at);
          System.arraycopy(m, at + len, n, at, m.length - at - len);
          m = n;
        }
      }
    }
    return m;
  }

  private void fuzz(String reader, byte[] seedInput, int tries, Reader read) {
    Random r = new Random(SEED ^ reader.hashCode());
    for (int t = 0; t < tries; t++) {
      byte[] input = mutate(seedInput, r);
      int attempt = t;
      assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
        try {
          read.read(input);
        } catch (MeshcException expected) {
          if (expected.getMessage() == null || expected.getMessage().isBlank() || expected.getMessage().contains("\n")) {
            throw new AssertionError(reader + " try " + attempt + ": a refusal must be one line: "
                + expected.getMessage());
          }
        } catch (Throwable finding) {
          throw new AssertionError(reader + " (seed " + SEED + ", try " + attempt + ", " + input.length
              + " bytes): " + finding, finding);
        }
      }, reader + " try " + attempt + " took more than 20 s");
    }
  }

  @Test
  void onnxImporter() throws Exception {
    byte[] model = Files.readAllBytes(Path.of(CliTest.model("tiny-gpt2.onnx")));
    Path f = dir.resolve("m.onnx");
    fuzz("onnx", model, TRIES, b -> {
      Files.write(f, b);
      Frontend.load(f, List.of(InputBinding.parse("input_ids=1x8")));
    });
  }

  @Test
  void tirParser() throws Exception {
    Path out = dir.resolve("plan");
    CliTest.meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--grid", "8",
        "--emit", "tir", "-o", out.toString(), "-q");
    byte[] tir = Files.readAllBytes(out.resolve("plan.tir"));
    fuzz("tir", tir, 5 * TRIES, b -> TirParser.parse(new String(b, StandardCharsets.UTF_8), "m.tir"));
  }

  @Test
  void cslParserAndChecker() throws Exception {
    CslProject p = CslProject.meshGemv(new KernelTemplate.Problem(1, 32, 24), 4, 4, 0, MachineSpec.load("wse2"));
    Path proj = dir.resolve("csl");
    p.writeTo(proj);
    for (String file : List.of("layout.csl", "meshgemv.csl")) {
      byte[] text = p.files().get(file).getBytes(StandardCharsets.UTF_8);
      fuzz("csl " + file, text, 3 * TRIES, b -> {
        Files.write(proj.resolve(file), b);
        CslCheck.check(List.of(proj), false);
      });
      Files.writeString(proj.resolve(file), p.files().get(file));
    }
  }

  @Test
  void npyReader() throws Exception {
    byte[] npy = Files.readAllBytes(Path.of(CliTest.model("tiny-gpt2.input_ids.npy")));
    Path f = dir.resolve("x.npy");
    fuzz("npy", npy, 10 * TRIES, b -> {
      Files.write(f, b);
      Npy.read(f);
    });
  }

  @Test
  void planLoader() throws Exception {
    Path out = dir.resolve("plan");
    CliTest.meshc("compile", CliTest.model("tiny-llama.onnx"), "--input", "input_ids=1x8", "--grid", "8",
        "--phase", "prefill", "--emit", "plan", "-o", out.toString(), "-q");
    byte[] json = Files.readAllBytes(out.resolve("plan.json"));
    fuzz("plan.json", json, 5 * TRIES, b -> {
      Files.write(out.resolve("plan.json"), b);
      PlanDir.read(out);
    });
  }
}
