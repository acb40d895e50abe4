package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.machine.MachineSpec;

/**
 * The K-tree all-reduce of meshc's {@link KTree} written as CSL: its nine colours, the comptime
 * helpers that place a PE on the tree, and the routing rules of one line, as a layout block's
 * {@code if} chains over the PE's index. The same rules as {@code KTree.routes}, one for one; the
 * CSL checker holds the two to each other PE by PE.
 */
final class KTreeCsl {
  private KTreeCsl() {}

  /** The colours' CSL names, in KTree's logical order (offsets D, U, P2D, P2U, B). */
  static final String[] NAMES = {"c_d0", "c_d1", "c_u0", "c_u1", "c_p2d0", "c_p2d1", "c_p2u0", "c_p2u1", "c_b"};

  private static final String[] ROLES = {
      "phase 1: chain toward the group root from the low end, even index",
      "phase 1: the same, odd index",
      "phase 1: chain toward the group root from the high end, even index",
      "phase 1: the same, odd index",
      "phase 2: group roots toward the middle group's root from the low end, even group",
      "phase 2: the same, odd group",
      "phase 2: group roots from the high end, even group",
      "phase 2: the same, odd group",
      "broadcast of the total: the root multicasts both ways"};

  /** {@code const c_d0: color = @get_color(id);} for the nine colours, logical {@code base}… mapped by {@code m}. */
  static void colours(CslText t, MachineSpec m, int base) {
    for (int k = 0; k < KTree.COLORS; k++) {
      t.line("const %s: color = @get_color(%d); // %s", NAMES[k], m.physicalColor(base + k), ROLES[k]);
    }
  }

  /** Comptime helpers over a line of {@code n} PEs in groups of {@code g} (both names of params). */
  static void helpers(CslText t, String n, String g) {
    t.line("// Where a PE sits on a K-tree over a line of %s PEs in groups of %s (meshc's KTree).", n, g);
    t.line("fn group_end(q: i16) i16 {");
    t.line("if ((q + 1) * %s < %s) {", g, n);
    t.line("return (q + 1) * %s;", g);
    t.line("}");
    t.line("return %s;", n);
    t.line("}");
    t.blank();
    t.line("fn group_root(q: i16) i16 {");
    t.line("return q * %s + (group_end(q) - q * %s) / 2;", g, g);
    t.line("}");
  }

  /**
   * The routing rules of the PE at index {@code i} of its line (a CSL expression), at PE
   * ({@code px}, {@code py}); {@code lo}/{@code hi} are the ports toward index − 1 and + 1.
   */
  static void routes(CslText t, String i, String n, String g, Dir lo, Dir hi) {
    t.line("const q: i16 = %s / %s;", i, g);
    t.line("const start: i16 = q * %s;", g);
    t.line("const end: i16 = group_end(q);");
    t.line("const root: i16 = group_root(q);");
    t.line("// phase 1: one-hop chains toward the group's root, two colours alternating by parity");
    t.line("if (%s < root) {", i);
    t.line("if (%s > start) {", i);
    route(t, pick(i + " + 1", "c_d"), lo, "RAMP");
    t.line("}");
    route(t, pick(i, "c_d"), "RAMP", hi);
    t.line("} else if (%s > root) {", i);
    t.line("if (%s < end - 1) {", i);
    route(t, pick(i + " + 1", "c_u"), hi, "RAMP");
    t.line("}");
    route(t, pick(i, "c_u"), "RAMP", lo);
    t.line("} else {");
    t.line("if (%s > start) {", i);
    route(t, pick(i + " + 1", "c_d"), lo, "RAMP");
    t.line("}");
    t.line("if (%s < end - 1) {", i);
    route(t, pick(i + " + 1", "c_u"), hi, "RAMP");
    t.line("}");
    t.line("}");
    t.line("// phase 2: group roots chain toward the middle group's root; PEs between pass through");
    t.line("if (%s == root) {", i);
    t.line("if (q < root_group) {");
    t.line("if (q > 0) {");
    route(t, pick("q + 1", "c_p2d"), lo, "RAMP");
    t.line("}");
    route(t, pick("q", "c_p2d"), "RAMP", hi);
    t.line("} else if (q > root_group) {");
    t.line("if (q < groups - 1) {");
    route(t, pick("q + 1", "c_p2u"), hi, "RAMP");
    t.line("}");
    route(t, pick("q", "c_p2u"), "RAMP", lo);
    t.line("} else {");
    t.line("if (q > 0) {");
    route(t, pick("q + 1", "c_p2d"), lo, "RAMP");
    t.line("}");
    t.line("if (q < groups - 1) {");
    route(t, pick("q + 1", "c_p2u"), hi, "RAMP");
    t.line("}");
    t.line("}");
    t.line("} else {");
    t.line("const above: i16 = if (%s < root) q - 1 else q; // the group whose root is just before this PE", i);
    t.line("if (above >= 0 and above < root_group and group_root(above) < %s and %s < group_root(above + 1)) {", i, i);
    route(t, pick("above", "c_p2d"), lo, hi);
    t.line("}");
    t.line("const below: i16 = if (%s > root) q + 1 else q; // the group whose root is just after this PE", i);
    t.line("if (below < groups and below > root_group and group_root(below - 1) < %s and %s < group_root(below)) {",
        i, i);
    route(t, pick("below", "c_p2u"), hi, lo);
    t.line("}");
    t.line("}");
    t.line("// broadcast: the global root multicasts the total both ways; the others forward it onward");
    t.line("if (%s < r2) {", i);
    t.line("if (%s > 0) {", i);
    route(t, "c_b", hi, "RAMP, " + lo);
    t.line("} else {");
    route(t, "c_b", hi, "RAMP");
    t.line("}");
    t.line("} else if (%s > r2) {", i);
    t.line("if (%s < %s - 1) {", i, n);
    route(t, "c_b", lo, "RAMP, " + hi);
    t.line("} else {");
    route(t, "c_b", lo, "RAMP");
    t.line("}");
    t.line("} else if (%s == 0) {", i);
    route(t, "c_b", "RAMP", hi);
    t.line("} else if (%s == %s - 1) {", i, n);
    route(t, "c_b", "RAMP", lo);
    t.line("} else {");
    route(t, "c_b", "RAMP", lo + ", " + hi);
    t.line("}");
  }

  /**
   * {@code if ((k) % 2 == 0) c_x0 else c_x1}: the colour of a chain link by its parity. The links
   * from index − 1 are picked by index + 1, which has the same parity and never goes negative.
   */
  static String pick(String k, String prefix) {
    return String.format("if ((%s) %% 2 == 0) %s0 else %s1", k, prefix, prefix);
  }

  private static void route(CslText t, String color, Object rx, Object tx) {
    t.line("@set_color_config(px, py, %s, .{ .routes = .{ .rx = .{ %s }, .tx = .{ %s } } });", color, rx, tx);
  }
}
