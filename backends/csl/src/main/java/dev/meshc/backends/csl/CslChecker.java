package dev.meshc.backends.csl;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.jgrapht.Graph;
import org.jgrapht.alg.cycle.CycleDetector;
import org.jgrapht.graph.DefaultEdge;

/**
 * Checks an evaluated {@link Layout} against the machine and, for a meshc project, against the
 * kernel template it was rendered from: colours routable and not reserved; no more colours on a
 * PE than the budget; every colour that leaves a PE toward a neighbour is received or forwarded
 * there, none leaves the rectangle, none is expected from a neighbour that does not send it, none
 * goes round in a circle (per colour, a JGraphT graph of the PE-to-PE hops); each PE's arrays fit
 * its memory; and each PE's router entries are the template's.
 */
public final class CslChecker {
  /** One problem, at the place in the source that caused it. */
  public record Finding(Comptime.Loc loc, String message) implements Comparable<Finding> {
    @Override
    public String toString() {
      return loc + ": " + message;
    }

    @Override
    public int compareTo(Finding o) {
      int c = loc.file().compareTo(o.loc.file());
      c = c != 0 ? c : Integer.compare(loc.line(), o.loc.line());
      c = c != 0 ? c : Integer.compare(loc.col(), o.loc.col());
      return c != 0 ? c : message.compareTo(o.message);
    }
  }

  private CslChecker() {}

  /**
   * PE (x, y)'s key in this class's maps: y · width + x, its index in the rectangle (read back as x, y).
   */
  private static long at(Layout layout, int x, int y) {
    return (long) y * layout.width() + x;
  }

  /**
   * Each PE's router entry per colour, in an array by PE index ({@link #at}) and colour ID, of
   * the machine's routable IDs (one beyond them is reported as such and checked no further): a
   * wafer's layout has millions of entries, which maps of maps hold in seconds and gigabytes.
   */
  private static final class Routers {
    final int width;
    final int colours;
    private final Layout.RouteEntry[] entries;

    Routers(Layout layout, int colours) {
      this(layout.width(), colours, new Layout.RouteEntry[Math.toIntExact((long) layout.width() * layout.height()
          * colours)]);
    }

    private Routers(int width, int colours, Layout.RouteEntry[] entries) {
      this.width = width;
      this.colours = colours;
      this.entries = entries;
    }

    Routers copy() {
      return new Routers(width, colours, entries.clone());
    }

    boolean routable(int id) {
      return id >= 0 && id < colours;
    }

    /** The entry of colour {@code id} at PE index {@code pe}, or null. */
    Layout.RouteEntry get(long pe, int id) {
      return routable(id) ? entries[(int) pe * colours + id] : null;
    }

    Layout.RouteEntry get(int x, int y, int id) {
      return get((long) y * width + x, id);
    }

    void put(Layout.RouteEntry r) {
      entries[(r.y() * width + r.x()) * colours + r.color().id()] = r;
    }

    void remove(long pe, int id) {
      entries[(int) pe * colours + id] = null;
    }

    /** PE index {@code pe}'s entries, in colour order. */
    List<Layout.RouteEntry> at(long pe) {
      List<Layout.RouteEntry> l = new ArrayList<>(4);
      for (int id = 0; id < colours; id++) {
        Layout.RouteEntry r = entries[(int) pe * colours + id];
        if (r != null) {
          l.add(r);
        }
      }
      return l;
    }
  }

  /**
   * The findings, in source order, the most bytes of arrays any PE holds, and how many colours
   * each PE's router takes, at load or in any run-time configuration.
   */
  public record Checked(List<Finding> findings, long maxPeBytes, PeColours colours) {}

  /** Colours per PE of a layout's rectangle (read only). */
  public static final class PeColours {
    private final int width;
    private final int[] counts; // by PE index y · width + x

    PeColours(int width, int[] counts) {
      this.width = width;
      this.counts = counts;
    }

    /** The most colours one PE of the square of side {@code p} at ({@code x}, {@code y}) routes. */
    public int most(int x, int y, int p) {
      int most = 0;
      for (int py = y; py < y + p; py++) {
        for (int px = x; px < x + p; px++) {
          most = Math.max(most, counts[py * width + px]);
        }
      }
      return most;
    }
  }

  /** The routes a kernel template gives PE (x, y), in physical colour IDs: as its program loads, and per run-time configuration. */
  public interface Template {
    List<Route> routes(int x, int y);

    /** The configurations the program switches to at run time ({@link Layout#configs}). */
    default List<String> configurations() {
      return List.of();
    }

    default List<Route> routes(String config, int x, int y) {
      throw new IllegalArgumentException("no configuration " + config);
    }
  }

  /**
   * Checks {@code layout}; {@code programs} resolves a {@code @set_tile_code} file name to its
   * parsed source; {@code template} (or null) gives the routes each PE should have.
   */
  public static Checked check(Layout layout, MachineSpec m, java.util.function.Function<String, CslSource> programs,
      Template template, long budget) {
    Map<String, Raw> out = new java.util.LinkedHashMap<>();
    Routers byPe = new Routers(layout, m.routableColors());
    int[] counts = new int[layout.width() * layout.height()];
    for (Layout.RouteEntry r : layout.routes()) {
      int id = r.color().id();
      if (!routable(r, m, out)) {
        continue;
      }
      Layout.RouteEntry first = byPe.get(r.x(), r.y(), id);
      if (first != null) {
        add(out, r.loc(), r, String.format("configures colour %d twice (first at %s)", id, first.loc()));
        continue;
      }
      byPe.put(r);
      int n = ++counts[(int) at(layout, r.x(), r.y())];
      if (n == m.colorBudget() + 1) {
        add(out, r.loc(), r, String.format("routes %d colours; %s has %d (%d less the reserved)", n, m.name(),
            m.colorBudget(), m.routableColors()));
      }
      if (r.tx().isEmpty()) {
        add(out, r.loc(), r, String.format("colour %d goes nowhere (.tx is empty)", id));
      }
    }
    hops(layout, layout.routes(), byPe, "", out);
    if (template != null) {
      routesEqualTemplate(layout, byPe, template::routes, "", out);
    }
    int[] colours = configurations(layout, m, byPe, counts, template, out);
    long maxBytes = memory(layout, m, programs, budget, out);
    List<Finding> findings = new ArrayList<>();
    for (Raw r : out.values()) {
      String where = r.x < 0 ? "" : String.format("PE (%d, %d)%s: ", r.x, r.y, r.more == 0 ? ""
          : String.format(" and %,d other%s", r.more, r.more == 1 ? "" : "s"));
      findings.add(new Finding(r.loc, where + r.message));
    }
    findings.sort(null);
    return new Checked(List.copyOf(findings), maxBytes, new PeColours(layout.width(), colours));
  }

  /** One problem found at one place, for the first PE it showed on and how many more. */
  private static final class Raw {
    final Comptime.Loc loc;
    final String message;
    final int x;
    final int y;
    int more;

    Raw(Comptime.Loc loc, String message, int x, int y) {
      this.loc = loc;
      this.message = message;
      this.x = x;
      this.y = y;
    }
  }

  /** Records a problem; the same one at the same place on many PEs is one finding. */
  private static Raw add(Map<String, Raw> out, Comptime.Loc loc, Object pe, String message) {
    int[] xy = pe instanceof Layout.RouteEntry r ? new int[] {r.x(), r.y()} : pe instanceof int[] a ? a : new int[] {-1, -1};
    String key = loc + "\u0000" + message;
    Raw raw = out.get(key);
    if (raw == null) {
      raw = new Raw(loc, message, xy[0], xy[1]);
      out.put(key, raw);
    } else {
      raw.more++;
    }
    return raw;
  }

  /** False for an ID the machine's routers do not have (reported; its routes are checked no further). */
  private static boolean routable(Layout.RouteEntry r, MachineSpec m, Map<String, Raw> out) {
    int id = r.color().id();
    if (id < 0 || id >= m.routableColors()) {
      add(out, r.color().loc(), null, String.format("colour %d is not routable on %s (IDs 0–%d)", id, m.name(),
          m.routableColors() - 1));
      return false;
    } else if (m.reservedColors().contains(id)) {
      add(out, r.color().loc(), null, String.format("colour %d is reserved on %s (memcpy keeps %s)", id,
          m.name(), m.reservedColors()));
    }
    return true;
  }

  /**
   * Each run-time configuration, checked as the routers stand once every PE has switched to it:
   * its routes replace the load-time ones of the colours it names. The colours a PE routes in any
   * configuration count against its budget together (each needs its own queue).
   */
  private static int[] configurations(Layout layout, MachineSpec m, Routers loaded, int[] counts, Template template,
      Map<String, Raw> out) {
    int pes = layout.width() * layout.height();
    int colours = loaded.colours;
    boolean[] routed = new boolean[layout.configs().isEmpty() ? 0 : pes * colours]; // at load or in any configuration
    for (int i = 0; i < routed.length; i++) {
      routed[i] = loaded.get(i / colours, i % colours) != null;
    }
    for (Map.Entry<String, List<Layout.RouteEntry>> c : layout.configs().entrySet()) {
      String in = "in run-time configuration '" + c.getKey() + "': ";
      boolean[] named = new boolean[colours];
      for (Layout.RouteEntry r : c.getValue()) {
        if (loaded.routable(r.color().id())) {
          named[r.color().id()] = true;
        }
      }
      Routers byPe = loaded.copy();
      for (long pe = 0; pe < pes; pe++) {
        for (int id = 0; id < colours; id++) {
          if (named[id]) {
            byPe.remove(pe, id);
          }
        }
      }
      for (Layout.RouteEntry r : c.getValue()) {
        if (routable(r, m, out)) {
          byPe.put(r); // a later entry of the same PE and colour replaces an earlier one
          routed[(int) at(layout, r.x(), r.y()) * colours + r.color().id()] = true;
        }
      }
      List<Layout.RouteEntry> entries = new ArrayList<>();
      for (long pe = 0; pe < pes; pe++) {
        entries.addAll(byPe.at(pe));
      }
      hops(layout, entries, byPe, in, out);
      if (template != null) {
        if (template.configurations().contains(c.getKey())) {
          routesEqualTemplate(layout, byPe, (x, y) -> template.routes(c.getKey(), x, y), in, out);
        } else if (!c.getValue().isEmpty()) {
          add(out, c.getValue().get(0).loc(), null, String.format("run-time configuration '%s' is not in the kernel "
              + "template (it has %s)", c.getKey(), template.configurations()));
        }
      }
    }
    if (template != null) {
      Comptime.Loc anyTile = layout.tiles().values().stream().findFirst().map(Layout.Tile::loc).orElse(null);
      for (String c : template.configurations()) {
        if (anyTile != null && !layout.configs().containsKey(c)) {
          add(out, anyTile, null, String.format("the kernel template switches to configuration '%s' at run time, "
              + "but no PE gets a param %s%s", c, Layout.CONFIG_PARAM, c));
        }
      }
    }
    int[] union = routed.length == 0 ? counts : new int[pes];
    for (int pe = 0; pe < routed.length / colours; pe++) {
      int n = 0;
      for (int id = 0; id < colours; id++) {
        n += routed[pe * colours + id] ? 1 : 0;
      }
      union[pe] = n;
      if (n > m.colorBudget() && counts[pe] <= m.colorBudget()) {
        Layout.Tile t = layout.tiles().get(Layout.key(pe % layout.width(), pe / layout.width()));
        add(out, t == null ? null : t.loc(), t == null ? null : new int[] {t.x(), t.y()}, String.format(
            "routes %d colours over its run-time configurations; %s has %d", n, m.name(), m.colorBudget()));
      }
    }
    return union;
  }

  /** Every hop of every colour has a router at its far end that takes it, and no colour circles. */
  private static void hops(Layout layout, List<Layout.RouteEntry> entries, Routers byPe,
      String in, Map<String, Raw> out) {
    Map<Integer, List<Layout.RouteEntry>> byColour = new TreeMap<>();
    for (Layout.RouteEntry r : entries) {
      if (byPe.get(r.x(), r.y(), r.color().id()) != r) {
        continue; // a duplicate or not routable, reported already
      }
      byColour.computeIfAbsent(r.color().id(), k -> new java.util.ArrayList<>()).add(r);
      for (Dir d : r.tx()) {
        if (d == Dir.RAMP) {
          continue;
        }
        int nx = r.x() + d.dx();
        int ny = r.y() + d.dy();
        if (nx < 0 || ny < 0 || nx >= layout.width() || ny >= layout.height()) {
          add(out, r.loc(), r, in + String.format("colour %d leaves toward %s, off the %dx%d mesh", r.color().id(), d,
              layout.width(), layout.height()));
          continue;
        }
        Layout.RouteEntry there = byPe.get(nx, ny, r.color().id());
        if (there == null || !there.rx().contains(d.opposite())) {
          add(out, r.loc(), r, in + String.format("colour %d leaves toward %s, but the PE there %s", r.color().id(), d,
              there == null ? "does not route that colour" : "takes it only from " + there.rx()));
        }
      }
      for (Dir d : r.rx()) {
        if (d == Dir.RAMP) {
          continue;
        }
        int nx = r.x() + d.dx();
        int ny = r.y() + d.dy();
        Layout.RouteEntry from = nx < 0 || ny < 0 || nx >= layout.width() || ny >= layout.height() ? null
            : byPe.get(nx, ny, r.color().id());
        if (from == null || !from.tx().contains(d.opposite())) {
          add(out, r.loc(), r, in + String.format("takes colour %d from %s, but nothing sends it that way",
              r.color().id(), d));
        }
      }
    }
    // the colours' graphs are independent: built and searched on every core, reported in colour order
    List<Map.Entry<Integer, List<Layout.RouteEntry>>> colours = new ArrayList<>(byColour.entrySet());
    List<java.util.Optional<Layout.RouteEntry>> circles = colours.parallelStream()
        .map(e -> java.util.Optional.ofNullable(circle(layout, e.getValue(), byPe, e.getKey()))).toList();
    for (int i = 0; i < colours.size(); i++) {
      int colour = colours.get(i).getKey();
      circles.get(i).ifPresent(r -> add(out, r.loc(), r, in + String.format("colour %d goes round in a circle "
          + "through this PE", colour)));
    }
  }

  /**
   * A PE on a circle of {@code colour}'s hops (PE to neighbour, where the neighbour takes the
   * colour from that side) among {@code routes} (that colour's entries), the least in key order of
   * the circles JGraphT finds, or null. One colour's graph at a time, so a wafer's million PEs are
   * never all in memory at once.
   */
  private static Layout.RouteEntry circle(Layout layout, List<Layout.RouteEntry> routes,
      Routers byPe, int colour) {
    Graph<Long, DefaultEdge> g = new Hops();
    for (Layout.RouteEntry r : routes) {
      long here = at(layout, r.x(), r.y());
      for (Dir d : r.tx()) {
        int nx = r.x() + d.dx();
        int ny = r.y() + d.dy();
        if (d == Dir.RAMP || nx < 0 || ny < 0 || nx >= layout.width() || ny >= layout.height()) {
          continue;
        }
        long next = at(layout, nx, ny);
        Layout.RouteEntry there = byPe.get(next, colour);
        if (there != null && there.rx().contains(d.opposite())) {
          g.addVertex(here);
          g.addVertex(next);
          g.addEdge(here, next);
        }
      }
    }
    CycleDetector<Long, DefaultEdge> cycles = new CycleDetector<>(g);
    if (!cycles.detectCycles()) {
      return null;
    }
    return byPe.get(new java.util.TreeSet<>(cycles.findCycles()).first(), colour);
  }

  /**
   * A colour's hops as a directed graph with JGraphT's plain specifics: a PE has at most four
   * neighbours, so looking an edge up among them beats the default's index of every edge.
   */
  private static final class Hops extends org.jgrapht.graph.AbstractBaseGraph<Long, DefaultEdge> {
    Hops() {
      super(null, org.jgrapht.util.SupplierUtil.DEFAULT_EDGE_SUPPLIER,
          org.jgrapht.graph.DefaultGraphType.directedSimple(),
          new org.jgrapht.graph.DefaultGraphSpecificsStrategy<>());
    }
  }

  /** A variable's bytes by its type: an array's, a scalar's, else none. */
  static long bytes(Object type) {
    return type instanceof Comptime.ArrayTypeVal a ? a.bytes() : type instanceof Comptime.TypeVal s ? s.bytes() : 0;
  }

  /**
   * The distinct input and output queues, {@code {inputs, outputs}}, tile {@code t}'s program
   * {@code src} names ({@code @get_input_queue(n)}, {@code @get_output_queue(n)} anywhere in it,
   * n evaluated with its params): what the SDK must give the PE beside memcpy's.
   */
  static int[] queues(Layout.Tile t, CslSource src, long budget) {
    Comptime ct = new Comptime(src.name(), null, budget);
    Comptime.Scope scope = ct.fileScope(src.tree(), t.params());
    java.util.Set<Object> in = new java.util.HashSet<>();
    java.util.Set<Object> out = new java.util.HashSet<>();
    java.util.ArrayDeque<org.antlr.v4.runtime.tree.ParseTree> todo = new java.util.ArrayDeque<>(List.of(src.tree()));
    while (!todo.isEmpty()) {
      org.antlr.v4.runtime.tree.ParseTree n = todo.pop();
      if (n instanceof CslParser.BuiltinCallContext b && b.args() != null && b.args().expr().size() == 1) {
        String name = b.BUILTIN().getText();
        if (name.equals("@get_input_queue") || name.equals("@get_output_queue")) {
          (name.equals("@get_input_queue") ? in : out).add(ct.eval(b.args().expr(0), scope));
        }
      }
      for (int i = 0; i < n.getChildCount(); i++) {
        todo.push(n.getChild(i));
      }
    }
    return new int[] {in.size(), out.size()};
  }

  /** The bytes of the arrays (and scalars) tile {@code t}'s program {@code src} declares, with its params. */
  static long bytes(Layout.Tile t, CslSource src, long budget) {
    Comptime ct = new Comptime(src.name(), null, budget);
    Comptime.Scope scope = ct.fileScope(src.tree(), t.params());
    long total = 0;
    for (CslParser.TopDeclContext d : src.tree().topDecl()) {
      if (d.varDecl() != null) {
        total += bytes(ct.varType(d.varDecl(), scope));
      }
    }
    return total;
  }

  /**
   * The sum of each PE program's arrays, with that PE's params, against the PE's memory. A
   * program is evaluated once per distinct value of the params its array types read (a 750×750
   * region whose sizes do not depend on the PE's coordinates is evaluated once).
   */
  private static long memory(Layout layout, MachineSpec m, java.util.function.Function<String, CslSource> programs,
      long budget, Map<String, Raw> out) {
    long maxBytes = 0;
    Map<List<Object>, Raw> seen = new HashMap<>(); // file and the values it sizes by → its finding, or null when it fits
    Map<String, java.util.Set<String>> reads = new HashMap<>();
    for (Layout.Tile t : layout.tiles().values()) {
      CslSource src = programs.apply(t.file());
      java.util.Set<String> names = reads.computeIfAbsent(t.file(), f -> sizeNames(src));
      List<Object> key = new ArrayList<>(names.size() + 1);
      key.add(t.file());
      for (String n : names) {
        key.add(t.params().get(n));
      }
      if (seen.containsKey(key)) {
        Raw known = seen.get(key);
        if (known != null) {
          known.more++;
        }
        continue;
      }
      Comptime ct = new Comptime(src.name(), null, budget);
      Comptime.Scope scope = ct.fileScope(src.tree(), t.params());
      long total = 0;
      long largest = -1;
      CslParser.VarDeclContext where = null;
      for (CslParser.TopDeclContext d : src.tree().topDecl()) {
        if (d.varDecl() != null) {
          long bytes = bytes(ct.varType(d.varDecl(), scope));
          total += bytes;
          if (bytes > largest) {
            largest = bytes;
            where = d.varDecl();
          }
        }
      }
      maxBytes = Math.max(maxBytes, total);
      Raw f = null;
      if (total > m.bytesPerPe()) {
        f = add(out, ct.loc(where), new int[] {t.x(), t.y()}, String.format("%s's arrays take %,d bytes, more than "
            + "the %,d a PE has (the largest, '%s', takes %,d)", t.file(), total, m.bytesPerPe(), where.ID().getText(),
            largest));
      }
      seen.put(key, f);
    }
    return maxBytes;
  }

  /** The names a file's array types read, directly or through its consts (params among them). */
  private static java.util.Set<String> sizeNames(CslSource src) {
    Map<String, CslParser.ConstDeclContext> consts = new HashMap<>();
    List<CslParser.ExprContext> todo = new ArrayList<>();
    for (CslParser.TopDeclContext d : src.tree().topDecl()) {
      if (d.constDecl() != null) {
        consts.put(d.constDecl().ID().getText(), d.constDecl());
      } else if (d.varDecl() != null && d.varDecl().type != null) {
        todo.add(d.varDecl().type);
      }
    }
    java.util.Set<String> names = new java.util.TreeSet<>();
    while (!todo.isEmpty()) {
      List<org.antlr.v4.runtime.tree.ParseTree> stack = new ArrayList<>(List.of(todo.remove(todo.size() - 1)));
      while (!stack.isEmpty()) {
        org.antlr.v4.runtime.tree.ParseTree node = stack.remove(stack.size() - 1);
        if (node instanceof org.antlr.v4.runtime.tree.TerminalNode tn) {
          if (tn.getSymbol().getType() == CslParser.ID && names.add(tn.getText()) && consts.containsKey(tn.getText())) {
            todo.add(consts.get(tn.getText()).value);
          }
        }
        for (int i = 0; i < node.getChildCount(); i++) {
          stack.add(node.getChild(i));
        }
      }
    }
    return names;
  }

  private static void routesEqualTemplate(Layout layout, Routers byPe,
      BiFunction<Integer, Integer, List<Route>> template, String in, Map<String, Raw> out) {
    Comptime.Loc anyTile = layout.tiles().values().stream().findFirst().map(Layout.Tile::loc).orElse(null);
    for (int y = 0; y < layout.height(); y++) {
      for (int x = 0; x < layout.width(); x++) {
        Map<Integer, Route> want = new TreeMap<>();
        for (Route r : template.apply(x, y)) {
          want.put(r.color(), r);
        }
        Layout.Tile tile = layout.tiles().get(Layout.key(x, y));
        Comptime.Loc at = tile != null ? tile.loc() : anyTile;
        for (Map.Entry<Integer, Route> e : want.entrySet()) {
          Layout.RouteEntry h = byPe.get(x, y, e.getKey());
          Route r = e.getValue();
          if (h == null) {
            add(out, at, new int[] {x, y}, in + String.format("the kernel template routes colour %d %s, the layout does not "
                + "configure it", e.getKey(), show(EnumSet.of(r.rx()), r.tx())));
          } else if (h.rx().size() != 1 || !h.rx().contains(r.rx()) || !h.tx().equals(r.tx())) {
            add(out, h.loc(), h, in + String.format("colour %d is routed %s, the kernel template routes it %s",
                e.getKey(), show(h.rx(), h.tx()), show(EnumSet.of(r.rx()), r.tx())));
          }
        }
        for (Layout.RouteEntry h : byPe.at(at(layout, x, y))) {
          if (!want.containsKey(h.color().id())) {
            add(out, h.loc(), h, in + String.format("colour %d (%s) is not in the kernel template", h.color().id(),
                show(h.rx(), h.tx())));
          }
        }
      }
    }
  }

  static String show(Set<Dir> rx, Set<Dir> tx) {
    return rx + "→" + tx;
  }
}
