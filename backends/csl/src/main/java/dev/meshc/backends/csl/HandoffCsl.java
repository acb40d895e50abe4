package dev.meshc.backends.csl;

import dev.meshc.ir.kernel.DecodeFabric;
import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The residual handed from one decode region to the next on the fabric, as meshc's {@link
 * Handoff} template lays it between the two regions: line k leaves one PE of the sending region's
 * row k, runs along its column to the receiving region's row k and crosses it, every PE there
 * taking it off its router. The routes are the template's, evaluated here PE by PE and printed
 * as runs of one router entry; the program's part is one send and one receive per token.
 * Hand-offs the template does not lay on the fabric (stacked regions, another wafer) stay with
 * the host.
 */
final class HandoffCsl {
  private HandoffCsl() {}

  /** A hand-off on the fabric from {@code from} to {@code to}, on logical colour {@code color}. */
  record Link(DecodeCsl.Region from, DecodeCsl.Region to, Handoff handoff, int color) {}

  /**
   * The hand-offs between consecutive regions of one wafer that go on the fabric, on their colours,
   * as {@link DecodeFabric#lanes} chooses them (the rule the plan counts colours by).
   */
  static List<Link> links(List<DecodeCsl.Region> regions, long width, MachineSpec m) {
    List<int[]> rs = new ArrayList<>();
    Map<Integer, DecodeCsl.Region> byIndex = new LinkedHashMap<>();
    for (DecodeCsl.Region r : regions) {
      rs.add(new int[] {r.index(), r.wafer(), r.x(), r.y(), r.p()});
      byIndex.put(r.index(), r);
    }
    List<Link> links = new ArrayList<>();
    for (DecodeFabric.Lane l : DecodeFabric.lanes(rs, width, m)) {
      links.add(new Link(byIndex.get(l.from()), byIndex.get(l.to()), l.handoff(), l.color()));
    }
    return links;
  }

  /** The link into region {@code index}, or null. */
  static Link into(List<Link> links, int index) {
    return links.stream().filter(l -> l.to().index() == index).findFirst().orElse(null);
  }

  /** The link out of region {@code index}, or null. */
  static Link outOf(List<Link> links, int index) {
    return links.stream().filter(l -> l.from().index() == index).findFirst().orElse(null);
  }

  /** The first region of region {@code index}'s chain: back along the links into it. */
  static int chain(List<Link> links, int index) {
    Link in = into(links, index);
    return in == null ? index : chain(links, in.from().index());
  }

  /** A hand-off colour's name in layout.csl. */
  private static String colour(int logical) {
    return "hc" + logical;
  }

  /**
   * A link's router entries as runs of PEs with one entry, [x0, x1) × [y0, y1) on the fabric: a
   * row's runs, merged with the rows below while they repeat.
   */
  static List<int[]> runs(Link l, Map<Route, Integer> kinds) {
    Handoff h = l.handoff();
    List<int[]> done = new ArrayList<>();
    Map<List<Integer>, int[]> open = new LinkedHashMap<>(); // (x0, x1, kind) -> the run growing down
    for (int y = 0; y < h.height(); y++) {
      Map<List<Integer>, int[]> next = new LinkedHashMap<>();
      int x = 0;
      while (x < h.width()) {
        List<Route> r = h.routes(x, y);
        if (r.isEmpty()) {
          x++;
          continue;
        }
        int x0 = x;
        while (x < h.width() && h.routes(x, y).equals(r)) {
          x++;
        }
        int kind = kinds.computeIfAbsent(key(r.get(0)), k -> kinds.size());
        List<Integer> k = List.of(x0, x, kind);
        int[] run = open.remove(k);
        if (run == null) {
          run = new int[] {h.originX() + x0, h.originX() + x, h.originY() + y, 0, kind};
        }
        run[3] = h.originY() + y + 1;
        next.put(k, run);
      }
      done.addAll(open.values());
      open = next;
    }
    done.addAll(open.values());
    done.sort(java.util.Comparator.<int[]>comparingInt(a -> a[2]).thenComparingInt(a -> a[0]));
    return done;
  }

  /** A router entry without its colour: what a run repeats. */
  private static Route key(Route r) {
    return new Route(0, r.rx(), r.tx());
  }

  /**
   * layout.csl's part before {@code layout}: the hand-offs' colours, each link's runs and its
   * sending region's column per row, and {@code handoff_run}, which sets a run's entries.
   */
  static void declare(CslText c, List<Link> links, Map<Route, Integer> kinds, List<List<int[]>> runs,
      MachineSpec m) {
    c.line("// the hand-offs between regions on the fabric (meshc's Handoff): line k leaves the sending region's");
    c.line("// row k at one PE, runs along its column to the next region's row k and crosses it, every PE there");
    c.line("// taking it off the router; one colour per hand-off, none shared by two that meet at a PE");
    Set<Integer> colours = new java.util.TreeSet<>();
    links.forEach(l -> colours.add(l.color()));
    for (int k : colours) {
      c.line("const %s: color = @get_color(%d);", colour(k), m.physicalColor(k));
    }
    for (int i = 0; i < links.size(); i++) {
      Link l = links.get(i);
      c.line("// region %d to region %d on %s: runs x0, x1, y0, y1, entry of PEs with one router entry", l.from().index(),
          l.to().index(), colour(l.color()));
      List<Integer> flat = new ArrayList<>();
      runs.get(i).forEach(r -> java.util.Arrays.stream(r).forEach(flat::add));
      c.line("const handoff_%d = %s;", l.from().index(), KTreeCsl.table(flat.stream().mapToInt(Integer::intValue)
          .toArray()));
      int[] cols = new int[l.from().p()];
      for (int k = 0; k < cols.length; k++) {
        cols[k] = l.handoff().senderColumn(k);
      }
      c.line("// the column of region %d's PE that sends row k's part", l.from().index());
      c.line("const sender_%d = %s;", l.from().index(), KTreeCsl.table(cols));
    }
    c.blank();
    List<Route> byKind = new ArrayList<>(kinds.keySet());
    c.line("// a hand-off's run [x0, x1) × [y0, y1) of PEs with router entry k, on colour c");
    c.line("fn handoff_run(c: color, x0: i16, x1: i16, y0: i16, y1: i16, k: i16) void {");
    c.line("var x: i16 = x0;");
    c.line("while (x < x1) : (x += 1) {");
    c.line("var y: i16 = y0;");
    c.line("while (y < y1) : (y += 1) {");
    DecodeCsl.dispatch(c, 0, byKind.size(), k -> c.line("@set_color_config(x, y, c, %s);",
        DecodeCsl.routeName(byKind.get(k))));
    c.line("}");
    c.line("}");
    c.line("}");
    c.blank();
  }

  /** The router entries the links use (for layout.csl's named entries). */
  static List<Route> entries(Map<Route, Integer> kinds) {
    return List.copyOf(kinds.keySet());
  }

  /** Inside {@code layout}: every link's runs set. */
  static void set(CslText c, List<Link> links, List<List<int[]>> runs) {
    for (int i = 0; i < links.size(); i++) {
      Link l = links.get(i);
      String v = "h" + l.from().index();
      String t = "handoff_" + l.from().index();
      c.line("// the hand-off from region %d to region %d", l.from().index(), l.to().index());
      c.line("var %s: i16 = 0;", v);
      c.line("while (%s < %d) : (%s += 1) {", v, runs.get(i).size(), v);
      c.line("handoff_run(%s, %s[5 * %s], %s[5 * %s + 1], %s[5 * %s + 2], %s[5 * %s + 3], %s[5 * %s + 4]);",
          colour(l.color()), t, v, t, v, t, v, t, v, t, v);
      c.line("}");
    }
  }

  /**
   * A region's hand-off params (with {@code px}, {@code py} in scope): the colour it takes the
   * residual in on and whether it does, the colour it sends on and whether this PE sends.
   */
  static String params(List<Link> links, DecodeCsl.Region r) {
    Link in = r == null ? null : into(links, r.index());
    Link out = r == null ? null : outOf(links, r.index());
    String any = colour(links.get(0).color());
    return String.format(".{ .h_in = %s, .h_recv = %s, .h_out = %s, .h_send = %s }", in == null ? any
        : colour(in.color()), in != null, out == null ? any : colour(out.color()), out == null ? "false"
        : "sender_" + r.index() + "[py] == px");
  }

  /** The manifest's line (none without links): each link as ax,ay,bx,by,p,colour (logical), for check-csl. */
  static String manifest(List<Link> links) {
    if (links.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder("handoffs=");
    for (int i = 0; i < links.size(); i++) {
      Link l = links.get(i);
      b.append(i == 0 ? "" : ";").append(l.from().x()).append(',').append(l.from().y()).append(',')
          .append(l.to().x()).append(',').append(l.to().y()).append(',').append(l.from().p()).append(',')
          .append(l.color());
    }
    return b.append('\n').toString();
  }
}
