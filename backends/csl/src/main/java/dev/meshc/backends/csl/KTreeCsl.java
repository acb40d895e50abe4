package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.Action;
import dev.meshc.ir.kernel.Combine;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Map;

/**
 * The K-tree all-reduce of meshc's {@link KTree} written as CSL: its five colours, the comptime
 * helpers that place a PE on the tree, and the routing rules of one line, as a layout block's
 * {@code if} chains over the PE's index. The same rules as {@code KTree.routes}, one for one; the
 * CSL checker holds the two to each other PE by PE. For decode projects, a PE's steps of the
 * all-reduce taken from {@link KTree#actions} as table entries, so no rule is restated in CSL.
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

  /** The colours' names within a tree, in KTree's logical order (the phase-1 pair, the phase-2 pair, B). */
  static final String[] NAMES = {"p1_0", "p1_1", "p2_0", "p2_1", "b"};

  private static final String[] ROLES = {
      "phase 1 chains toward the group root: a link j → j+1 takes (j+1) mod 2,",
      "  j → j-1 takes j mod 2, so a root's two links differ",
      "phase 2: the same between group roots, by group index",
      "",
      "broadcast of the total: the root multicasts both ways"};

  /** {@code const <prefix>p1_0: color = @get_color(id);} for the five colours, logical {@code base}… mapped by {@code m}. */
  static void colours(CslText t, MachineSpec m, int base, String prefix) {
    for (int k = 0; k < KTree.COLORS; k++) {
      t.line("const %s%s: color = @get_color(%d);%s", prefix, NAMES[k], m.physicalColor(base + k),
          ROLES[k].isEmpty() ? "" : " // " + ROLES[k]);
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

  /** The colour (a CSL expression) a PE at place k of a chain ({@code pair} "p1" by index, "p2" by group) takes from below. */
  static String inLo(String k, String prefix, String pair) {
    return pick(k, prefix + pair + "_");
  }

  /** The colour it takes from above. */
  static String inHi(String k, String prefix, String pair) {
    return pick(k + " + 1", prefix + pair + "_");
  }

  /** The colour it sends on: toward higher indices when it lies below its root ({@code low}), else lower. */
  static String out(String k, String prefix, String pair, boolean low) {
    return pick(low ? k + " + 1" : k, prefix + pair + "_");
  }

  /**
   * Writes one router entry: colour {@code pair} ("p1", "p2": the one of the pair that {@code parity}
   * picks; "b": the broadcast's), taking from {@code rx} and sending to {@code tx}.
   */
  interface Emit {
    void route(CslText t, Tree k, String pair, String parity, Dir rx, Dir... tx);
  }

  /** As {@code @set_color_config} calls at PE {@code k.at()}: routes fixed when the program loads. */
  static final Emit STATIC = (t, k, pair, parity, rx, tx) -> t.route(k.at(),
      parity == null ? k.c(pair) : pick(parity, k.c(pair + "_")), rx, join(tx));

  private static String join(Dir... ds) {
    return join(java.util.Arrays.asList(ds));
  }

  /** Directions as a CSL list's items: {@code NORTH, RAMP}. */
  static String join(Iterable<Dir> ds) {
    StringBuilder b = new StringBuilder();
    for (Dir d : ds) {
      b.append(b.length() == 0 ? "" : ", ").append(d);
    }
    return b.toString();
  }

  /** The tree's routing rules for one PE, as comptime code in a layout loop. */
  static void routes(CslText t, Tree k) {
    routes(t, k, STATIC);
  }

  /** The same rules, written by {@code e}. */
  static void routes(CslText t, Tree k, Emit e) {
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
    e.route(t, k, "p1", i, lo, Dir.RAMP);
    t.line("}");
    e.route(t, k, "p1", i + " + 1", Dir.RAMP, hi);
    t.line("} else if (%s > %s) {", i, root);
    t.line("if (%s < %s - 1) {", i, end);
    e.route(t, k, "p1", i + " + 1", hi, Dir.RAMP);
    t.line("}");
    e.route(t, k, "p1", i, Dir.RAMP, lo);
    t.line("} else {");
    t.line("if (%s > %s) {", i, start);
    e.route(t, k, "p1", i, lo, Dir.RAMP);
    t.line("}");
    t.line("if (%s < %s - 1) {", i, end);
    e.route(t, k, "p1", i + " + 1", hi, Dir.RAMP);
    t.line("}");
    t.line("}");
    t.line("// phase 2: group roots chain toward the middle group's root; PEs between pass through");
    t.line("if (%s == %s) {", i, root);
    t.line("if (%s < %s) {", q, rootGroup);
    t.line("if (%s > 0) {", q);
    e.route(t, k, "p2", q, lo, Dir.RAMP);
    t.line("}");
    e.route(t, k, "p2", q + " + 1", Dir.RAMP, hi);
    t.line("} else if (%s > %s) {", q, rootGroup);
    t.line("if (%s < %s - 1) {", q, groups);
    e.route(t, k, "p2", q + " + 1", hi, Dir.RAMP);
    t.line("}");
    e.route(t, k, "p2", q, Dir.RAMP, lo);
    t.line("} else {");
    t.line("if (%s > 0) {", q);
    e.route(t, k, "p2", q, lo, Dir.RAMP);
    t.line("}");
    t.line("if (%s < %s - 1) {", q, groups);
    e.route(t, k, "p2", q + " + 1", hi, Dir.RAMP);
    t.line("}");
    t.line("}");
    t.line("} else {");
    t.line("const %s: i16 = if (%s < %s) %s - 1 else %s; // the group whose root is just before this PE",
        k.v("above"), i, root, q, q);
    String above = k.v("above");
    t.line("if (%s >= 0 and %s < %s and group_root(%s, %s, %s) < %s and %s < group_root(%s + 1, %s, %s)) {", above,
        above, rootGroup, above, n, g, i, i, above, n, g);
    e.route(t, k, "p2", above + " + 1", lo, hi);
    t.line("}");
    t.line("const %s: i16 = if (%s > %s) %s + 1 else %s; // the group whose root is just after this PE",
        k.v("below"), i, root, q, q);
    String below = k.v("below");
    t.line("if (%s < %s and %s > %s and group_root(%s - 1, %s, %s) < %s and %s < group_root(%s, %s, %s)) {", below,
        groups, below, rootGroup, below, n, g, i, i, below, n, g);
    e.route(t, k, "p2", below, hi, lo);
    t.line("}");
    t.line("}");
    String r2 = k.v("r2");
    t.line("// broadcast: the global root multicasts the total both ways; the others forward it onward");
    t.line("if (%s < %s) {", i, r2);
    t.line("if (%s > 0) {", i);
    e.route(t, k, "b", null, hi, Dir.RAMP, lo);
    t.line("} else {");
    e.route(t, k, "b", null, hi, Dir.RAMP);
    t.line("}");
    t.line("} else if (%s > %s) {", i, r2);
    t.line("if (%s < %s - 1) {", i, n);
    e.route(t, k, "b", null, lo, Dir.RAMP, hi);
    t.line("} else {");
    e.route(t, k, "b", null, lo, Dir.RAMP);
    t.line("}");
    t.line("} else if (%s == 0) {", i);
    e.route(t, k, "b", null, Dir.RAMP, hi);
    t.line("} else if (%s == %s - 1) {", i, n);
    e.route(t, k, "b", null, Dir.RAMP, lo);
    t.line("} else {");
    e.route(t, k, "b", null, Dir.RAMP, lo, hi);
    t.line("}");
  }

  /** {@code if ((k) % 2 == 0) c_p1_0 else c_p1_1}: the colour of a chain link by its parity (k ≥ 0). */
  static String pick(String k, String prefix) {
    return String.format("if ((%s) %% 2 == 0) %s0 else %s1", k, prefix, prefix);
  }

  /** Codes of a PE's steps in a K-tree all-reduce, as decode.csl's table holds them: kind · 64 + in · 8 + out. */
  static final int SEND = 1;
  static final int RELAY = 2;
  static final int RECV = 3;
  static final int STORE = 4;
  /** The most steps one PE takes: a receive from each side in both phases, and the broadcast. */
  static final int STEPS = 5;

  /**
   * PE i's steps of {@code t}'s all-reduce, in round order, coded as above with colour offsets
   * within the tree's five ({@code t}'s base must be 0); 0 pads. The decode program runs them as
   * they are, so the tree's roles and colour picks are {@link KTree#actions}' alone.
   */
  static List<Integer> steps(KTree t, int i) {
    Integer[] s = new Integer[STEPS];
    java.util.Arrays.fill(s, 0);
    int k = 0;
    for (int round = 0; round < t.rounds(); round++) {
      for (Action a : t.actions(round, i, "buf", 1, Combine.ADD)) {
        if (a instanceof Action.Send x) {
          s[k++] = SEND * 64 + x.color();
        } else if (a instanceof Action.Relay x) {
          s[k++] = RELAY * 64 + x.in() * 8 + x.out();
        } else if (a instanceof Action.Recv x) {
          s[k++] = (x.combine() == Combine.STORE ? STORE : RECV) * 64 + x.color() * 8;
        } else {
          throw new IllegalStateException("a K-tree step " + a);
        }
      }
    }
    return List.of(s);
  }

  /**
   * The class of each of {@code keys} (by index), numbering classes as they first appear in
   * {@code ids}, which several lines share: a PE program or layout reads per-index data as one
   * small table of class IDs and one entry per class.
   */
  static <K> int[] classes(List<K> keys, Map<K, Integer> ids) {
    int[] c = new int[keys.size()];
    for (int i = 0; i < c.length; i++) {
      c[i] = ids.computeIfAbsent(keys.get(i), k -> ids.size());
    }
    return c;
  }

  /** {@code [n]i16{ a, b, ... }}. */
  static String table(int[] v) {
    StringBuilder b = new StringBuilder();
    for (int x : v) {
      b.append(b.length() == 0 ? "" : ", ").append(x);
    }
    return "[" + v.length + "]i16{ " + b + " }";
  }
}
