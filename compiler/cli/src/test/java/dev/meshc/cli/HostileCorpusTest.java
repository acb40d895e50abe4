package dev.meshc.cli;

import static dev.meshc.cli.CliTest.meshc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.io.Npy;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The committed corpus of malformed models (examples/hostile, cases.tsv): each makes the command
 * that reads it exit 2 with one line naming the problem and no stack trace. Their wall time and
 * heap under -Xmx512m are a benchmark ({@code exec:exec@hostile-bench}), not a timed test.
 */
public class HostileCorpusTest {
  static final Path CORPUS = Path.of("..", "..", "examples", "hostile");

  @TempDir
  static Path tmp;

  static Stream<String[]> cases() throws Exception {
    return Files.readAllLines(CORPUS.resolve("cases.tsv")).stream().filter(l -> !l.startsWith("#"))
        .map(l -> l.split("\t"));
  }

  /** The case's command line, MODEL and ZEROS_RxC filled in. */
  public static String[] args(String[] c, Path tmp) throws Exception {
    List<String> a = new ArrayList<>();
    for (String w : c[1].split(" ")) {
      if (w.equals("MODEL")) {
        a.add(CORPUS.resolve(c[0]).toString());
      } else if (w.contains("ZEROS_")) {
        String[] d = w.substring(w.indexOf("ZEROS_") + 6).split("x");
        Path npy = tmp.resolve("zeros-" + c[0] + ".npy");
        try (OutputStream out = Files.newOutputStream(npy)) {
          Npy.write(Tensor.ofFloats(Shape.of(Long.parseLong(d[0]), Long.parseLong(d[1])),
              new float[Integer.parseInt(d[0]) * Integer.parseInt(d[1])]), out);
        }
        a.add(w.substring(0, w.indexOf("ZEROS_")) + npy);
      } else {
        a.add(w);
      }
    }
    return a.toArray(new String[0]);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void exitsTwoWithOneLine(String file, String command, String expect) throws Exception {
    CliTest.Run r = meshc(args(new String[] {file, command, expect}, tmp));
    assertEquals(2, r.code(), file + ": " + r.err());
    List<String> problems = CompileCliTest.problems(r);
    assertEquals(1, problems.size(), r.err());
    assertTrue(problems.get(0).startsWith("meshc: error: "), r.err());
    assertTrue(problems.get(0).contains(expect), file + " should say '" + expect + "': " + r.err());
    assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
  }
}
