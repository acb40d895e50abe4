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

  /**
   * One K-tree as CSL: colour names {@code colours + "d0"} …, comptime names {@code vars + "q"} …,
   * over index {@code i} of a line of {@code n} PEs in groups of {@code g} (CSL expressions), at PE
   * {@code at} ("px, py"); {@code lo}/{@code hi} are the ports toward index − 1 and + 1.
   */
  record Tree(String colours, String vars, String i, String n, String g, String at, Dir lo, Dir hi) {
    String c(String name) {
      return colours + name;
    }

    String v(String name) {
      return vars + name;
    }
  }

  /** The colours' names within a tree, in KTree's logical order (offsets D, U, P2D, P2U, B). */
  static final String[] NAMES = {"d0", "d1", "u0", "u1", "p2d0", "p2d1", "p2u0", "p2u1", "b"};

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

  /** {@code const <prefix>d0: color = @get_color(id);} for the nine colours, logical {@code base}… mapped by {@code m}. */
  static void colours(CslText t, MachineSpec m, int base, String prefix) {
    for (int k = 0; k < KTree.COLORS; k++) {
      t.line("const %s%s: color = @get_color(%d); // %s", prefix, NAMES[k], m.physicalColor(base + k), ROLES[k]);
    }
  }

  /** Comptime helpers: where group q of a line of n PEs in groups of g ends, and its root (meshc's KTree). */
  static void helpers(CslText t) {
    t.line("// Where group q of a K-tree over a line of n PEs in groups of g ends, and its root (meshc's KTree).");
    t.line("fn group_end(q: i16, n: i16, g: i16) i16 {");
    t.line("if ((q + 1) * g < n) {");
    t.line("return (q + 1) * g;");
    t.line("}");
    t.line("return n;");
    t.line("}");
    t.blank();
    t.line("fn group_root(q: i16, n: i16, g: i16) i16 {");
    t.line("return q * g + (group_end(q, n, g) - q * g) / 2;");
    t.line("}");
  }

  /** The tree's routing rules for one PE, as comptime code in a layout loop. */
  static void routes(CslText t, Tree k) {
    String i = k.i();
    String n = k.n();
    String g = k.g();
    Dir lo = k.lo();
    Dir hi = k.hi();
    t.line("const %s: i16 = (%s + %s - 1) / %s;", k.v("groups"), n, g, g);
    t.line("const %s: i16 = %s / 2;", k.v("root_group"), k.v("groups"));
    t.line("const %s: i16 = group_root(%s, %s, %s); // the global root", k.v("r2"), k.v("root_group"), n, g);
    t.line("const %s: i16 = %s / %s;", k.v("q"), i, g);
    t.line("const %s: i16 = %s * %s;", k.v("start"), k.v("q"), g);
    t.line("const %s: i16 = group_end(%s, %s, %s);", k.v("end"), k.v("q"), n, g);
    t.line("const %s: i16 = group_root(%s, %s, %s);", k.v("root"), k.v("q"), n, g);
    String q = k.v("q");
    String start = k.v("start");
    String end = k.v("end");
    String root = k.v("root");
    String rootGroup = k.v("root_group");
    String groups = k.v("groups");
    t.line("// phase 1: one-hop chains toward the group's root, two colours alternating by parity");
    t.line("if (%s < %s) {", i, root);
    t.line("if (%s > %s) {", i, start);
    route(t, k, pick(i + " + 1", k.c("d")), lo, "RAMP");
    t.line("}");
    route(t, k, pick(i, k.c("d")), "RAMP", hi);
    t.line("} else if (%s > %s) {", i, root);
    t.line("if (%s < %s - 1) {", i, end);
    route(t, k, pick(i + " + 1", k.c("u")), hi, "RAMP");
    t.line("}");
    route(t, k, pick(i, k.c("u")), "RAMP", lo);
    t.line("} else {");
    t.line("if (%s > %s) {", i, start);
    route(t, k, pick(i + " + 1", k.c("d")), lo, "RAMP");
    t.line("}");
    t.line("if (%s < %s - 1) {", i, end);
    route(t, k, pick(i + " + 1", k.c("u")), hi, "RAMP");
    t.line("}");
    t.line("}");
    t.line("// phase 2: group roots chain toward the middle group's root; PEs between pass through");
    t.line("if (%s == %s) {", i, root);
    t.line("if (%s < %s) {", q, rootGroup);
    t.line("if (%s > 0) {", q);
    route(t, k, pick(q + " + 1", k.c("p2d")), lo, "RAMP");
    t.line("}");
    route(t, k, pick(q, k.c("p2d")), "RAMP", hi);
    t.line("} else if (%s > %s) {", q, rootGroup);
    t.line("if (%s < %s - 1) {", q, groups);
    route(t, k, pick(q + " + 1", k.c("p2u")), hi, "RAMP");
    t.line("}");
    route(t, k, pick(q, k.c("p2u")), "RAMP", lo);
    t.line("} else {");
    t.line("if (%s > 0) {", q);
    route(t, k, pick(q + " + 1", k.c("p2d")), lo, "RAMP");
    t.line("}");
    t.line("if (%s < %s - 1) {", q, groups);
    route(t, k, pick(q + " + 1", k.c("p2u")), hi, "RAMP");
    t.line("}");
    t.line("}");
    t.line("} else {");
    t.line("const %s: i16 = if (%s < %s) %s - 1 else %s; // the group whose root is just before this PE",
        k.v("above"), i, root, q, q);
    String above = k.v("above");
    t.line("if (%s >= 0 and %s < %s and group_root(%s, %s, %s) < %s and %s < group_root(%s + 1, %s, %s)) {", above,
        above, rootGroup, above, n, g, i, i, above, n, g);
    route(t, k, pick(above, k.c("p2d")), lo, hi);
    t.line("}");
    t.line("const %s: i16 = if (%s > %s) %s + 1 else %s; // the group whose root is just after this PE",
        k.v("below"), i, root, q, q);
    String below = k.v("below");
    t.line("if (%s < %s and %s > %s and group_root(%s - 1, %s, %s) < %s and %s < group_root(%s, %s, %s)) {", below,
        groups, below, rootGroup, below, n, g, i, i, below, n, g);
    route(t, k, pick(below, k.c("p2u")), hi, lo);
    t.line("}");
    t.line("}");
    String r2 = k.v("r2");
    String b = k.c("b");
    t.line("// broadcast: the global root multicasts the total both ways; the others forward it onward");
    t.line("if (%s < %s) {", i, r2);
    t.line("if (%s > 0) {", i);
    route(t, k, b, hi, "RAMP, " + lo);
    t.line("} else {");
    route(t, k, b, hi, "RAMP");
    t.line("}");
    t.line("} else if (%s > %s) {", i, r2);
    t.line("if (%s < %s - 1) {", i, n);
    route(t, k, b, lo, "RAMP, " + hi);
    t.line("} else {");
    route(t, k, b, lo, "RAMP");
    t.line("}");
    t.line("} else if (%s == 0) {", i);
    route(t, k, b, "RAMP", hi);
    t.line("} else if (%s == %s - 1) {", i, n);
    route(t, k, b, "RAMP", lo);
    t.line("} else {");
    route(t, k, b, "RAMP", lo + ", " + hi);
    t.line("}");
  }

  /**
   * {@code if ((k) % 2 == 0) c_x0 else c_x1}: the colour of a chain link by its parity. The links
   * from index − 1 are picked by index + 1, which has the same parity and never goes negative.
   */
  static String pick(String k, String prefix) {
    return String.format("if ((%s) %% 2 == 0) %s0 else %s1", k, prefix, prefix);
  }

  private static void route(CslText t, Tree k, String color, Object rx, Object tx) {
    t.line("@set_color_config(%s, %s, .{ .routes = .{ .rx = .{ %s }, .tx = .{ %s } } });", k.at(), color, rx, tx);
  }
}
