package dev.meshc.compiler.io;

import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Outputs that appear whole or not at all: everything is written to a temporary sibling and
 * renamed over the target at the end, so a failure leaves the previous output as it was.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Something that writes to a stream and may fail. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /** Something that fills a fresh directory and may fail. */
  @FunctionalInterface
  public interface DirWriter {
    void write(Path dir) throws IOException;
  }

  public static void write(Path target, Writer w) {
    Path abs = target.toAbsolutePath();
    Path parent = abs.getParent();
    Path tmp = null;
    try {
      Files.createDirectories(parent);
      tmp = Files.createTempFile(parent, "." + abs.getFileName() + ".", ".tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        w.write(out);
      }
      move(tmp, abs);
      tmp = null;
    } catch (IOException e) {
      throw MeshcException.input("cannot write %s: %s", target, e.getMessage());
    } finally {
      deleteQuietly(tmp);
    }
  }

  /** Fills a temporary sibling directory, then swaps it in for {@code target}. */
  public static void writeDirectory(Path target, DirWriter w) {
    Path abs = target.toAbsolutePath();
    Path parent = abs.getParent();
    Path tmp = null;
    Path old = null;
    try {
      Files.createDirectories(parent);
      if (Files.exists(abs) && !Files.isDirectory(abs)) {
        throw MeshcException.input("cannot write %s: it exists and is not a directory", target);
      }
      tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".");
      if (Files.getFileStore(tmp).supportsFileAttributeView("posix")) { // a temp dir is 700; an output folder is not
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      w.write(tmp);
      if (Files.exists(abs)) {
        old = parent.resolve("." + abs.getFileName() + ".old." + System.nanoTime());
        move(abs, old);
      }
      move(tmp, abs);
      tmp = null;
    } catch (IOException e) {
      throw MeshcException.input("cannot write %s: %s", target, e.getMessage());
    } finally {
      deleteQuietly(tmp);
      deleteQuietly(old);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null || !Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    } catch (IOException ignored) {
      // best effort: a stray temporary file is not worth failing for
    }
  }
}
