package dev.meshc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.verify.Verifier;
import java.util.Random;
import java.util.regex.Pattern;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Round-trip laws over random well-typed modules (see {@link RandomModules}); a failing seed is
 * the whole reproduction.
 */
class TirRoundTripPropertyTest {
  private static final Pattern POSITION = Pattern.compile("random\\.tir:\\d+:\\d+: .*");

  /** print(parse(print(m))) is print(m), byte for byte, and parse(print(m)) is m itself. */
  @Property(tries = 500)
  void printParsePrintIsIdentity(@ForAll long seed) {
    Module m = RandomModules.generate(seed);
    Verifier.verify(m);
    String text = TirPrinter.print(m);
    assertEquals(text, TirPrinter.print(m));
    Module back = TirParser.parse(text, "random.tir");
    assertEquals(text, TirPrinter.print(back));
    assertEquals(m.ops().size(), back.ops().size());
    assertEquals(m.values().size(), back.values().size());
    assertEquals(m, back);
  }

  /**
   * Damaged text either still parses or fails with one positioned line: never another exception,
   * never a message without {@code file:line:col}.
   */
  @Property(tries = 500)
  void damagedTextFailsWithAPosition(@ForAll long seed) {
    Random r = new Random(seed);
    String text = TirPrinter.print(RandomModules.generate(seed));
    StringBuilder s = new StringBuilder(text);
    for (int i = 1 + r.nextInt(3); i > 0; i--) {
      int at = r.nextInt(s.length());
      switch (r.nextInt(4)) {
        case 0 -> s.deleteCharAt(at);
        case 1 -> s.insert(at, "%@,:=[]{}<>\"x1.-#\n".charAt(r.nextInt(18)));
        case 2 -> s.setCharAt(at, (char) (' ' + r.nextInt(95)));
        default -> {
          int end = Math.min(s.length(), at + 1 + r.nextInt(20));
          s.delete(at, end);
        }
      }
    }
    try {
      TirParser.parse(s.toString(), "random.tir");
    } catch (MeshcException e) {
      String msg = e.getMessage();
      assertFalse(msg.contains("\n"), msg);
      assertTrue(POSITION.matcher(msg).matches(), msg);
    }
  }
}
