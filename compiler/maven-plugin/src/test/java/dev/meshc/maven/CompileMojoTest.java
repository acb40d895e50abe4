package dev.meshc.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugin.logging.SystemStreamLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The goal without Maven around it: incremental builds, and failures with meshc's one line. */
class CompileMojoTest {
  @TempDir
  Path dir;

  /** Keeps what the goal logs. */
  static final class Captured extends SystemStreamLog {
    final List<String> lines = new ArrayList<>();

    @Override
    public void info(CharSequence content) {
      lines.add("INFO " + content);
    }

    @Override
    public void warn(CharSequence content) {
      lines.add("WARN " + content);
    }

    @Override
    public void error(CharSequence content) {
      lines.add("ERROR " + content);
    }

    boolean has(String s) {
      return lines.stream().anyMatch(l -> l.contains(s));
    }
  }

  private CompileMojo mojo(String include, Captured log) throws Exception {
    Path models = dir.resolve("models");
    Files.createDirectories(models);
    Path src = Path.of("..", "..", "examples", "models", include);
    if (Files.notExists(models.resolve(include))) {
      Files.copy(src, models.resolve(include));
    }
    CompileMojo m = new CompileMojo();
    m.modelDirectory = models.toFile();
    m.includes = new String[] {include};
    m.inputs = new ArrayList<>(List.of("input_ids=1x16"));
    m.machine = "wse2";
    m.phase = "both";
    m.maxContext = 64;
    m.grid = "8";
    m.timeLimit = 10;
    m.emit = "report";
    m.outputDirectory = dir.resolve("out").toFile();
    m.failOnInfeasible = true;
    m.setLog(log);
    return m;
  }

  @Test
  void secondBuildSkipsAnUnchangedModelAndAChangedOptionRecompiles() throws Exception {
    Captured first = new Captured();
    mojo("tiny-llama.onnx", first).execute();
    assertTrue(first.has("meshc: compiling tiny-llama.onnx"), first.lines.toString());
    assertTrue(Files.isRegularFile(dir.resolve("out/tiny-llama/report.txt")));

    Captured second = new Captured();
    mojo("tiny-llama.onnx", second).execute();
    assertTrue(second.has("meshc: tiny-llama.onnx is up to date"), second.lines.toString());
    assertFalse(second.has("compiling"), second.lines.toString());

    Captured third = new Captured();
    CompileMojo changed = mojo("tiny-llama.onnx", third);
    changed.maxContext = 128;
    changed.execute();
    assertTrue(third.has("meshc: compiling tiny-llama.onnx"), third.lines.toString());

    Captured touched = new Captured(); // the model's bytes change: compiled again
    Files.write(dir.resolve("models/tiny-llama.onnx"), new byte[0], java.nio.file.StandardOpenOption.APPEND);
    Files.copy(Path.of("..", "..", "examples", "models", "tiny-gpt2.onnx"), dir.resolve("models/tiny-llama.onnx"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    CompileMojo again = mojo("tiny-llama.onnx", touched);
    again.maxContext = 128;
    again.execute();
    assertTrue(touched.has("meshc: compiling tiny-llama.onnx"), touched.lines.toString());
  }

  @Test
  void infeasibleAndBadModelsFailTheBuildInOneLine() throws Exception {
    Captured log = new Captured();
    CompileMojo m = mojo("llama3-8b-shape.onnx", log);
    m.grid = "30";
    m.phase = "decode";
    MojoFailureException e = assertThrows(MojoFailureException.class, m::execute);
    assertTrue(e.getMessage().startsWith("meshc: llama3-8b-shape.onnx: no plan for decode: "), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());

    Captured warn = new Captured();
    CompileMojo lenient = mojo("llama3-8b-shape.onnx", warn);
    lenient.grid = "30";
    lenient.phase = "decode";
    lenient.failOnInfeasible = false;
    lenient.execute();
    assertTrue(warn.has("WARN meshc: llama3-8b-shape.onnx: no plan for decode"), warn.lines.toString());

    Files.writeString(dir.resolve("models/broken.onnx"), "not a model");
    CompileMojo bad = mojo("tiny-llama.onnx", new Captured());
    bad.includes = new String[] {"broken.onnx"};
    MojoFailureException b = assertThrows(MojoFailureException.class, bad::execute);
    assertTrue(b.getMessage().contains("broken.onnx") && b.getMessage().contains("not a readable ONNX model"),
        b.getMessage());
    assertFalse(Files.exists(dir.resolve("out/broken")));
  }

  @Test
  void skipAndNoModels() throws Exception {
    Captured log = new Captured();
    CompileMojo m = mojo("tiny-llama.onnx", log);
    m.skip = true;
    m.execute();
    assertTrue(log.has("meshc: skipped"));
    m.skip = false;
    m.modelDirectory = new File(dir.toFile(), "none");
    m.execute();
    assertTrue(log.has("meshc: no models under"));
  }
}
