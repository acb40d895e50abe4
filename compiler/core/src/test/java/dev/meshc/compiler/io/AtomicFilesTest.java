package dev.meshc.compiler.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An output folder is replaced whole or not at all: a failure halfway leaves the previous one. */
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
}
