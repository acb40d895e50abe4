package dev.meshc.compiler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The models tests run on: the real MiniLM encoder from its jar, and the fixtures in examples/. */
public final class TestModels {
  private TestModels() {}

  /** all-MiniLM-L6-v2 (fp32, IR 6, opset 11), copied once out of its jar into target/. */
  public static synchronized Path miniLm() {
    Path p = Path.of("target", "models", "all-minilm-l6-v2.onnx").toAbsolutePath();
    if (Files.exists(p)) {
      return p;
    }
    try (InputStream in = TestModels.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
      if (in == null) {
        throw new IllegalStateException("all-minilm-l6-v2.onnx is not on the test classpath");
      }
      Files.createDirectories(p.getParent());
      Path tmp = Files.createTempFile(p.getParent(), "minilm", ".part");
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A file under the repository's examples/ folder. */
  public static Path example(String relative) {
    Path root = Path.of("").toAbsolutePath();
    while (root != null && !Files.isDirectory(root.resolve("examples"))) {
      root = root.getParent();
    }
    if (root == null) {
      throw new IllegalStateException("no examples/ folder above " + Path.of("").toAbsolutePath());
    }
    return root.resolve("examples").resolve(relative);
  }
}
