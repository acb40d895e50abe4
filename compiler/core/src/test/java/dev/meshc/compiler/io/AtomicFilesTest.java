package dev.meshc.compiler.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.MeshcException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An output folder is replaced whole or not at all: a failure halfway leaves the previous one, and
 * what a killed write left is removed by the next write, but not while that write still runs.
 */
class AtomicFilesTest {
  @TempDir
  Path dir;

  private List<String> listing() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  @Test
  void aFailureHalfwayLeavesThePreviousOutputAndNoPartialFolder() throws Exception {
    Path out = dir.resolve("out");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "first"));
    List<String> before = listing();
    for (Exception failure : List.of(new IOException("disk full"), new MeshcException(MeshcException.Kind.INPUT,
        "bad model"))) {
      assertThrows(MeshcException.class, () -> AtomicFiles.writeDirectory(out, d -> {
        Files.writeString(d.resolve("report.txt"), "second");
        Files.writeString(d.resolve("plan.json"), "{");
        if (failure instanceof IOException io) {
          throw io;
        }
        throw (MeshcException) failure;
      }));
      assertEquals(before, listing(), "after " + failure.getMessage());
      assertEquals("first", Files.readString(out.resolve("report.txt")));
    }
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "third"));
    assertEquals(before, listing());
    assertEquals("third", Files.readString(out.resolve("report.txt")));
  }

  /** A write that stops halfway until it is killed: run in its own JVM by the test below. */
  public static final class KilledWriter {
    public static void main(String[] args) {
      AtomicFiles.writeDirectory(Path.of(args[0]), d -> {
        Files.writeString(d.resolve("report.txt"), "half");
        System.out.println("writing");
        System.out.flush();
        try {
          Thread.sleep(120_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
  }

  @Test
  void aKilledWriteIsCleanedUpByTheNextButNotWhileItRuns() throws Exception {
    Path out = dir.resolve("out");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "first"));
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), KilledWriter.class.getName(), out.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      assertEquals("writing", r.readLine());
      List<String> live = listing();
      assertEquals(6, live.size(), live.toString()); // ., out, out/report.txt, the lock, the temporary, its report
      // the other process's write is alive: a write now replaces the output and leaves it alone
      AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "second"));
      assertEquals(live, listing());
      assertEquals("second", Files.readString(out.resolve("report.txt")));
      p.destroyForcibly(); // SIGKILL
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    assertEquals(6, listing().size(), "the kill left its temporary folder");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "third"));
    assertEquals(List.of("", "out", "out/report.txt"), listing());
    assertEquals("third", Files.readString(out.resolve("report.txt")));
  }

  @Test
  void onlyItsOwnUnlockedLeftoversAreRemoved() throws Exception {
    Path out = dir.resolve("out");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "first"));
    List<String> foreign = List.of(".out.backup/x", ".out.77/x", ".out.78.lock.bak", ".outx.79.lock", ".outx.79/x",
        ".out.1.2.lock", "out.80.lock");
    for (String f : foreign) {
      Files.createDirectories(dir.resolve(f).getParent());
      Files.writeString(dir.resolve(f), "not meshc's");
    }
    // a killed folder write and a killed file write, both to out
    Files.createDirectories(dir.resolve(".out.42"));
    Files.writeString(dir.resolve(".out.42/report.txt"), "half");
    Files.writeString(dir.resolve(".out.42.lock"), "");
    Files.writeString(dir.resolve(".out.43.tmp"), "half");
    Files.writeString(dir.resolve(".out.43.lock"), "");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "second"));
    List<String> left = listing();
    assertTrue(left.stream().noneMatch(f -> f.startsWith(".out.42") || f.startsWith(".out.43")), left.toString());
    for (String f : foreign) {
      assertEquals("not meshc's", Files.readString(dir.resolve(f)), f);
    }
  }

  @Test
  void aPreviousOutputMovedAsideByAKilledWriteComesBack() throws Exception {
    Path out = dir.resolve("out");
    AtomicFiles.writeDirectory(out, d -> Files.writeString(d.resolve("report.txt"), "first"));
    List<String> before = listing();
    // killed after moving the old output aside, before moving the new one in
    Files.move(out, dir.resolve(".out.42.old"));
    Files.createDirectories(dir.resolve(".out.42"));
    Files.writeString(dir.resolve(".out.42/report.txt"), "second");
    Files.writeString(dir.resolve(".out.42.lock"), "");
    assertThrows(MeshcException.class, () -> AtomicFiles.writeDirectory(out, d -> {
      throw new IOException("disk full");
    }));
    assertEquals(before, listing());
    assertEquals("first", Files.readString(out.resolve("report.txt")));
  }
}
