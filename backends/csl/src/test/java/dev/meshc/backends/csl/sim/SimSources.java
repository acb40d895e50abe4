package dev.meshc.backends.csl.sim;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the simulator's tests share: the CSL files a test writes (so a {@code file:line:col} can be
 * found in them), one-line failures, and the words the host moves.
 */
final class SimSources {
  private final Path dir;
  private final Map<String, String> written = new HashMap<>();

  SimSources(Path dir) {
    this.dir = dir;
  }

  void write(String name, String text) throws IOException {
    Files.writeString(dir.resolve(name), text);
    written.put(name, text);
  }

  /** {@code file:line:col} of the first {@code needle} in a file written for this test. */
  String at(String file, String needle) {
    String text = written.get(file);
    int i = text.indexOf(needle);
    assertTrue(i >= 0, needle + " not in " + file);
    int line = 1 + (int) text.substring(0, i).chars().filter(ch -> ch == '\n').count();
    int col = i - text.lastIndexOf('\n', i - 1);
    return dir.resolve(file) + ":" + line + ":" + col;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** The message of the MeshcException {@code run} throws, checked to be one line. */
  static String fails(ThrowingRunnable run) {
    String m = assertThrows(MeshcException.class, run::run).getMessage();
    assertTrue(!m.contains("\n"), m);
    return m;
  }

  static void has(String m, String... parts) {
    for (String p : parts) {
      assertTrue(m.contains(p), "missing '" + p + "' in: " + m);
    }
  }

  /** On WSE-3 a queue is bound to its colour at comptime; WSE-2 has no such step. */
  static String queue(String q, String color) {
    return "if (@is_arch(\"wse3\")) { @initialize_queue(" + q + ", .{ .color = " + color + " }); }\n";
  }

  static int[] f32(float... v) {
    int[] w = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      w[i] = Float.floatToRawIntBits(v[i]);
    }
    return w;
  }

  static int[] f16(float... v) {
    int[] w = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      w[i] = Fp16.fromFloat(v[i]) & 0xffff;
    }
    return w;
  }

  static float[] floats(int[] w) {
    float[] f = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      f[i] = Float.intBitsToFloat(w[i]);
    }
    return f;
  }
}
