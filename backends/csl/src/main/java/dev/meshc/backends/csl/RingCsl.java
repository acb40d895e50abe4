package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.Ring;

/**
 * MeshGEMM's interleaved ring ({@link Ring}) written as CSL: comptime functions for a PE's ring
 * position, its neighbours on the ring and the colour of a flow, and the routing rules of one
 * ring on one axis, the same as {@code Ring.routes} rule for rule.
 */
final class RingCsl {
  private RingCsl() {}

  /** The ring helpers over a line of {@code n} PEs (a param name). */
  static void helpers(CslText t, String n) {
    t.line("// MeshGEMM's interleaved ring over a line of %s PEs: ring order 0, 2, 4, …, 5, 3, 1, so no ring", n);
    t.line("// edge spans more than two hops (meshc's Ring). pos: a PE's place on the ring; at: the PE at a place.");
    t.line("fn ring_pos(i: i16) i16 {");
    t.line("if (i % 2 == 0) {");
    t.line("return i / 2;");
    t.line("}");
    t.line("return %s - (i + 1) / 2;", n);
    t.line("}");
    t.blank();
    t.line("fn ring_at(k: i16) i16 {");
    t.line("if (k < (%s + 1) / 2) {", n);
    t.line("return 2 * k;");
    t.line("}");
    t.line("return 2 * (%s - k) - 1;", n);
    t.line("}");
    t.blank();
    t.line("// where PE i sends on the forward ring, and where it receives from");
    t.line("fn ring_next(i: i16) i16 {");
    t.line("return ring_at((ring_pos(i) + %s - 1) %% %s);", n, n);
    t.line("}");
    t.blank();
    t.line("fn ring_prev(i: i16) i16 {");
    t.line("return ring_at((ring_pos(i) + 1) %% %s);", n);
    t.line("}");
    t.blank();
    t.line("// the colour (0, 1 or 2 of a ring's three) of the forward flow from s: a two-hop flow takes its");
    t.line("// middle PE mod 3, the one-hop turns at the ends take 0 and (n − 1) mod 3; a reverse flow keeps it");
    t.line("fn ring_color(s: i16) i16 {");
    t.line("const t: i16 = ring_next(s);");
    t.line("if (s - t == 2 or t - s == 2) {");
    t.line("return ((s + t) / 2) % 3;");
    t.line("}");
    t.line("if (s == 0) {");
    t.line("return 0;");
    t.line("}");
    t.line("return (%s - 1) %% 3;", n);
    t.line("}");
  }

  /**
   * The routing rules of PE index {@code i} on one ring: send, receive and pass-through over the
   * colour array {@code colors} ({@code [3]color}); {@code forward} picks the direction of travel.
   */
  static void routes(CslText t, String i, String n, String colors, Dir lo, Dir hi, boolean forward,
      String tag) {
    String next = forward ? "ring_next" : "ring_prev";
    t.line("const %s_to: i16 = %s(%s);", tag, next, i);
    t.line("const %s_from: i16 = %s(%s);", tag, forward ? "ring_prev" : "ring_next", i);
    t.line("const %s_to_dir: direction = if (%s_to < %s) %s else %s;", tag, tag, i, lo, hi);
    t.line("const %s_from_dir: direction = if (%s_from < %s) %s else %s;", tag, tag, i, lo, hi);
    t.route("px, py", String.format("%s[ring_color(%s)]", colors, forward ? i : tag + "_to"), Dir.RAMP, tag + "_to_dir");
    t.route("px, py", String.format("%s[ring_color(%s)]", colors, forward ? tag + "_from" : i), tag + "_from_dir",
        Dir.RAMP);
    t.line("// the two-hop flow between the PEs on either side passes through");
    t.line("if (%s > 0 and %s < %s - 1) {", i, i, n);
    t.line("if (%s(%s - 1) == %s + 1) {", next, i, i);
    t.route("px, py", colors + "[" + i + " % 3]", lo, hi);
    t.line("} else if (%s(%s + 1) == %s - 1) {", next, i, i);
    t.route("px, py", colors + "[" + i + " % 3]", hi, lo);
    t.line("}");
    t.line("}");
  }
}
