package dev.meshc.compiler.io;

import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Outputs that appear whole or not at all: everything is written to a temporary sibling and
 * renamed over the target at the end, so a failure leaves the previous output as it was.
 *
 * <p>A write to {@code NAME} holds an OS lock on {@code .NAME.<token>.lock} for as long as its
 * temporary sibling ({@code .NAME.<token>}, or {@code .NAME.<token>.tmp} for a file) and the
 * previous output moved aside ({@code .NAME.<token>.old}) exist. A kill (even SIGKILL) releases
 * the lock and leaves the files; the next write to {@code NAME} takes every such lock it can and
 * removes what it guarded, putting a previous output moved aside back if nothing replaced it. A
 * lock it cannot take belongs to a write still running (another meshc, another thread) and is
 * left alone, as is anything without a lock file: meshc did not write it.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /**
   * The lock files this JVM holds: POSIX drops every lock a process has on a file when any of its
   * channels to that file closes, so a file locked here is never opened a second time.
   */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

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
    try {
      Files.createDirectories(abs.getParent());
      removeStale(abs);
      try (Claim c = Claim.take(abs)) {
        Path tmp = c.sibling(".tmp");
        try {
          try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW,
              StandardOpenOption.WRITE)) {
            w.write(out);
          }
          move(tmp, abs);
        } finally {
          deleteQuietly(tmp);
        }
      }
    } catch (IOException e) {
      throw MeshcException.input("cannot write %s: %s", target, e.getMessage());
    }
  }

  /** Fills a temporary sibling directory, then swaps it in for {@code target}. */
  public static void writeDirectory(Path target, DirWriter w) {
    Path abs = target.toAbsolutePath();
    try {
      Files.createDirectories(abs.getParent());
      if (Files.exists(abs) && !Files.isDirectory(abs)) {
        throw MeshcException.input("cannot write %s: it exists and is not a directory", target);
      }
      removeStale(abs);
      try (Claim c = Claim.take(abs)) {
        Path tmp = c.sibling("");
        Path old = c.sibling(".old");
        try {
          Files.createDirectory(tmp);
          if (Files.getFileStore(tmp).supportsFileAttributeView("posix")) { // as an output folder, not a temp dir
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
          }
          w.write(tmp);
          if (Files.exists(abs)) {
            move(abs, old);
          }
          move(tmp, abs);
        } finally {
          deleteQuietly(tmp);
          deleteQuietly(old);
        }
      }
    } catch (IOException e) {
      throw MeshcException.input("cannot write %s: %s", target, e.getMessage());
    }
  }

  /** A write's lock on {@code .NAME.<token>.lock}, held until close, which removes the file. */
  private record Claim(Path lock, FileChannel channel, FileLock held) implements AutoCloseable {
    static Claim take(Path target) throws IOException {
      while (true) {
        Path lock = target.resolveSibling("." + target.getFileName() + "."
            + Long.toUnsignedString(ThreadLocalRandom.current().nextLong()) + ".lock");
        if (!HELD.add(lock)) { // before the file exists, so no clean-up in this JVM opens it
          continue;
        }
        FileChannel ch = null;
        try {
          ch = FileChannel.open(lock, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          FileLock held = ch.lock(); // waits only while another meshc checks whether it is stale
          if (Files.isRegularFile(lock, LinkOption.NOFOLLOW_LINKS)) {
            return new Claim(lock, ch, held);
          }
          ch.close(); // that meshc took it for stale and removed it: take another
        } catch (java.nio.file.FileAlreadyExistsException taken) {
          // another token
        } catch (IOException | RuntimeException e) {
          if (ch != null) {
            ch.close();
            Files.deleteIfExists(lock);
          }
          throw e;
        } finally {
          if (ch == null || !ch.isOpen()) {
            HELD.remove(lock);
          }
        }
      }
    }

    /** {@code .NAME.<token>} followed by {@code suffix}. */
    Path sibling(String suffix) {
      String name = lock.getFileName().toString();
      return lock.resolveSibling(name.substring(0, name.length() - ".lock".length()) + suffix);
    }

    @Override
    public void close() throws IOException {
      try {
        Files.deleteIfExists(lock); // still locked, so nobody takes it for stale meanwhile
      } finally {
        channel.close();
        HELD.remove(lock);
      }
    }
  }

  /** Removes what killed writes to {@code target} left behind (see the class comment). */
  private static void removeStale(Path target) throws IOException {
    Pattern mine = Pattern.compile("\\." + Pattern.quote(target.getFileName().toString()) + "\\.[0-9]+\\.lock");
    List<Path> locks = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(target.getParent())) {
      for (Path p : s) {
        if (mine.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          locks.add(p);
        }
      }
    }
    for (Path lock : locks) {
      if (!HELD.add(lock)) {
        continue; // a write or a clean-up in this JVM has it
      }
      try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE); FileLock l = ch.tryLock()) {
        if (l == null) {
          continue; // a live write in another process
        }
        String name = lock.getFileName().toString();
        Path tmp = lock.resolveSibling(name.substring(0, name.length() - ".lock".length()));
        Path old = tmp.resolveSibling(tmp.getFileName() + ".old");
        if (Files.isDirectory(old) && !Files.exists(target)) {
          move(old, target); // killed between moving the previous output aside and the new one in
        }
        deleteQuietly(tmp);
        deleteQuietly(tmp.resolveSibling(tmp.getFileName() + ".tmp"));
        deleteQuietly(old);
        Files.deleteIfExists(lock);
      } catch (IOException | OverlappingFileLockException e) {
        // gone (another clean-up was first) or not ours to remove: the write goes on without it
      } finally {
        HELD.remove(lock);
      }
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
    if (p == null || !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
    } catch (IOException ignored) {
      // best effort: a stray temporary file is not worth failing for
    }
  }
}
