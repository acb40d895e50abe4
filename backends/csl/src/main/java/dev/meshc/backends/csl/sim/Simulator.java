package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.CslSource;
import dev.meshc.backends.csl.Layout;
import dev.meshc.grammar.CslParser;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.tree.ParseTree;

/**
 * meshc's stand-in for the Cerebras simulator: a program's layout evaluated by {@link Layout}, every
 * PE of its rectangle running its program in a {@link PeInterp}, and the host's side of memcpy in
 * copy mode ({@link #h2d}, {@link #d2h}, {@link #launch}). No fabric yet: PEs do not talk.
 */
public final class Simulator {
  /** What {@code cslc} was given: the layout file, --arch, --params, --fabric-dims/-offsets, --memcpy, --channels. */
  public record Config(Path layout, String arch, Map<String, Object> params, int[] fabricDims, int[] fabricOffsets,
      boolean memcpy, int channels, Map<String, Object> colors) {
    public Config(Path layout, String arch, Map<String, Object> params, int[] fabricDims, int[] fabricOffsets,
        boolean memcpy, int channels) {
      this(layout, arch, params, fabricDims, fabricOffsets, memcpy, channels, Map.of());
    }

    /** The layout's params: --params' integers and --colors' colours (cslc's {@code --colors=name:id}). */
    Map<String, Object> layoutParams() {
      Map<String, Object> m = new LinkedHashMap<>(params);
      colors.forEach((k, v) -> m.put(k, new Comptime.ColorVal(((Long) v).intValue(), null)));
      return m;
    }
  }

  /** {@code @export_name(name, type, mutable)} of the layout: the host's symbol {@code id}. */
  public record Symbol(int id, String name, String type, boolean mutable, Comptime.Loc loc) {
    public boolean isFn() {
      return type.startsWith("fn");
    }
  }

  /** The step budget of one program's run: generous, it only stops a runaway loop. */
  static final long STEPS = 2_000_000_000L;

  private final Config config;
  private final MachineSpec machine;
  private final Layout layout;
  private final List<Symbol> symbols;
  private final Map<Long, Pe> pes = new LinkedHashMap<>();
  private final Fabric fabric;
  /** Colours memcpy streams into PEs (h2d) and out of them to the host (d2h). */
  private final java.util.Set<Integer> h2dColors = new java.util.TreeSet<>();
  private final java.util.Set<Integer> d2hColors = new java.util.TreeSet<>();
  /** What PEs streamed to the host, per PE and colour, not yet read by memcpy_d2h. */
  private final Map<Long, java.util.ArrayDeque<Integer>> toHost = new HashMap<>();
  /** Streaming memcpy_h2d not yet delivered: per PE and colour, the words still to go. */
  private final Map<Long, java.util.ArrayDeque<Integer>> fromHost = new LinkedHashMap<>();

  private Simulator(Config config, MachineSpec machine, Layout layout, List<Symbol> symbols) {
    this.config = config;
    this.machine = machine;
    this.layout = layout;
    this.symbols = symbols;
    this.fabric = new Fabric(layout.width(), layout.height(), machine.routableColors(), config.arch().equals("wse2"));
  }

  /** Evaluates the layout, checks the SDK's rules, and loads every PE's program (what cslc checks). */
  public static Simulator build(Config c) {
    if (!c.arch().equals("wse2") && !c.arch().equals("wse3")) {
      throw MeshcException.input("--arch=%s: the simulator models wse2 and wse3", c.arch());
    }
    MachineSpec m = MachineSpec.load(c.arch());
    CslSource src = CslSource.read(c.layout());
    refuseLibraries(src, Layoutlibs.LAYOUT);
    List<Symbol> symbols = new ArrayList<>();
    Layout layout = Layout.evaluate(src, c.layoutParams(), Limits.DEFAULTS.comptimeSteps(),
        Comptime.Modules.files(Limits.DEFAULTS), (name, args, loc) -> {
          if (name.matches("@get_(input_queue|output_queue|local_task_id|control_task_id|data_task_id)")) {
            return PeInterp.ids(name, args, c.arch(), loc); // a layout passes these to its PEs as params
          }
          if (name.equals("@export_name")) {
            if (args.size() < 2 || !(args.get(0) instanceof String n) || !(args.get(1) instanceof Comptime.TypeVal t)) {
              throw MeshcException.input("%s: @export_name takes a name, a type and (for data) its mutability", loc);
            }
            boolean fn = t.name().startsWith("fn");
            if (!fn && !(args.size() > 2 && args.get(2) instanceof Boolean)) {
              throw MeshcException.input("%s: @export_name(\"%s\", %s, ...) needs its mutability (true: the host writes it)",
                  loc, n, t.name());
            }
            for (Symbol s : symbols) {
              if (s.name().equals(n)) {
                throw MeshcException.input("%s: '%s' is exported twice (first at %s)", loc, n, s.loc());
              }
            }
            symbols.add(new Symbol(symbols.size(), n, t.name(), !fn && (Boolean) args.get(2), loc));
          }
          return null;
        });
    checkFabric(c, layout, src.name());
    Simulator sim = new Simulator(c, m, layout, List.copyOf(symbols));
    sim.load();
    return sim;
  }

  /** The libraries a file may import: the layout's memcpy params, a PE program's memcpy runtime. */
  enum Layoutlibs {
    LAYOUT(java.util.Set.of("<memcpy/get_params>", "<directions>", "<math>")), PE(PeInterp.LIBRARIES);

    final java.util.Set<String> allowed;

    Layoutlibs(java.util.Set<String> allowed) {
      this.allowed = allowed;
    }
  }

  /** Any library other than the ones modelled is refused in one line naming it, where it is imported. */
  private static void refuseLibraries(CslSource src, Layoutlibs which) {
    walk(src.tree(), n -> {
      if (n instanceof CslParser.BuiltinCallContext b && b.BUILTIN().getText().equals("@import_module")
          && b.args() != null && b.args().expr(0).getText().startsWith("\"<")) {
        String lib = b.args().expr(0).getText().replace("\"", "");
        if (!which.allowed.contains(lib)) {
          throw MeshcException.input("%s: %s is not modelled yet (the simulator has %s)", at(src, b), lib,
              String.join(", ", which.allowed));
        }
      }
    });
  }

  /** A PE program or a file it imports: libraries and builtins the simulator does not model are refused at load. */
  static void refuse(CslSource src) {
    refuseLibraries(src, Layoutlibs.PE);
    refuseBuiltins(src);
  }

  /** Builtins the interpreter does not run are refused when the program is built, not when it reaches them. */
  private static void refuseBuiltins(CslSource src) {
    walk(src.tree(), n -> {
      if (n instanceof CslParser.BuiltinCallContext b && !PeInterp.BUILTINS.contains(b.BUILTIN().getText())) {
        throw MeshcException.input("%s: %s is not modelled yet", at(src, b), b.BUILTIN().getText());
      }
    });
  }

  private static Comptime.Loc at(CslSource src, ParserRuleContext c) {
    return new Comptime.Loc(src.name(), c.getStart().getLine(), c.getStart().getCharPositionInLine() + 1);
  }

  private static void walk(ParseTree t, java.util.function.Consumer<ParseTree> f) {
    f.accept(t);
    for (int i = 0; i < t.getChildCount(); i++) {
      walk(t.getChild(i), f);
    }
  }

  /** With --memcpy the kernel sits at --fabric-offsets and memcpy's columns and border fit around it. */
  private static void checkFabric(Config c, Layout l, String file) {
    int[] d = c.fabricDims();
    int[] o = c.fabricOffsets();
    int needW = o[0] + l.width() + (c.memcpy() ? 3 : 0);
    int needH = o[1] + l.height() + (c.memcpy() ? 1 : 0);
    if (d[0] < needW || d[1] < needH) {
      throw MeshcException.input("%s: the %dx%d kernel at --fabric-offsets=%d,%d needs --fabric-dims of at least %d,%d%s,"
          + " not %d,%d", file, l.width(), l.height(), o[0], o[1], needW, needH, c.memcpy() ? " with --memcpy" : "",
          d[0], d[1]);
    }
    if (c.memcpy() && (o[0] < 4 || o[1] < 1)) {
      throw MeshcException.input("%s: with --memcpy the kernel starts at --fabric-offsets=4,1 or beyond (memcpy takes "
          + "the 3 columns west of it and a border), not %d,%d", file, o[0], o[1]);
    }
  }

  /** Loads every PE: its program's top-level declarations (memory) and comptime blocks (exports). */
  private void load() {
    Path dir = config.layout().toAbsolutePath().normalize().getParent();
    Map<String, CslSource> programs = new HashMap<>();
    for (int y = 0; y < layout.height(); y++) {
      for (int x = 0; x < layout.width(); x++) {
        Layout.Tile tile = layout.tiles().get(Layout.key(x, y));
        if (tile == null) {
          continue; // a PE without code idles
        }
        CslSource src = programs.computeIfAbsent(tile.file(), f -> {
          CslSource s = CslSource.read(dir.resolve(f));
          refuse(s);
          return s;
        });
        Pe pe = new Pe(x, y, tile, fabric.colors);
        pe.interp = new PeInterp(src, pe, this, STEPS);
        pe.scope = pe.interp.fileScope(src.tree(), tile.params());
        pe.interp.load(pe.scope, src.tree());
        if (pe.bytes > machine.bytesPerPe()) {
          throw MeshcException.input("%s: %s's variables take %,d bytes, more than the %,d of a PE on %s", src.name(), pe,
              pe.bytes, machine.bytesPerPe(), machine.name());
        }
        checkExports(pe, src);
        for (Pe.Task t : pe.tasks.values()) {
          if (t.id.kind() == Pe.TaskKind.DATA && dataColor(pe, t) < 0) {
            throw MeshcException.input("%s: %s is bound to input queue %d, which no @initialize_queue gives a colour: "
                + "on WSE-3 it would never run", t.boundAt, t.name(), t.id.id());
          }
        }
        pe.cycles = 0;
        pe.started = true;
        pes.put(Layout.key(x, y), pe);
      }
    }
    for (Layout.RouteEntry r : layout.routes()) {
      reserved(r.color().id(), r.loc());
      fabric.configure(r.x(), r.y(), r.color().id(), r.config(), r.loc());
    }
    for (Pe pe : pes.values()) {
      for (Map.Entry<Integer, Map<?, ?>> e : pe.localColors.entrySet()) {
        fabric.configure(pe.x, pe.y, e.getKey(), e.getValue(), pe.localColorLocs.get(e.getKey()));
      }
      memcpyColors(pe.tile.params());
    }
  }

  /**
   * A colour the program routes or sends on: one of the machine's routable ones and, with --memcpy,
   * not one memcpy keeps for itself ({@code MachineSpec.reservedColors}).
   */
  void reserved(int color, Comptime.Loc at) {
    if (config.memcpy() && machine.reservedColors().contains(color)) {
      throw MeshcException.input("%s: colour %d is memcpy's (with --memcpy it keeps %s on %s)", at, color,
          machine.reservedColors(), machine.name());
    }
    if (color < 0 || color >= machine.routableColors()) {
      throw MeshcException.input("%s: colour %d is not one of the %d a router of %s routes", at, color,
          machine.routableColors(), machine.name());
    }
  }

  /** The colours memcpy streams on (.MEMCPYH2D_n, .MEMCPYD2H_n of the layout's get_params), found in a tile's params. */
  private void memcpyColors(Map<String, Object> params) {
    for (Object v : params.values()) {
      if (v instanceof Map<?, ?> m && "<memcpy/get_params>".equals(m.get("module"))
          && m.get("module_params") instanceof Map<?, ?> mp) {
        mp.forEach((k, c) -> {
          if (c instanceof Comptime.ColorVal color) {
            if (color.id() < 0 || color.id() >= fabric.colors) {
              throw MeshcException.input("%s: memcpy's .%s = colour %d is not one of the %d a router of %s routes",
                  color.loc(), k, color.id(), fabric.colors, machine.name());
            }
            if (String.valueOf(k).startsWith("MEMCPYH2D_")) {
              h2dColors.add(color.id());
            } else if (String.valueOf(k).startsWith("MEMCPYD2H_")) {
              d2hColors.add(color.id());
            }
          }
        });
      }
    }
  }

  /**
   * What a PE exports must be what the layout names: the same kind (pointer or fn), the same element
   * type, and for data the same mutability as its declaration. The SDK's tutorials state the rule
   * (csl-examples tutorials/gemv-01-complete-program: a {@code const} pointer is exported with
   * mutability false, "host can read y, but not write to it"; the builtin is documented at
   * https://sdk.cerebras.ai/csl/language/builtins, which could not be read here).
   */
  private void checkExports(Pe pe, CslSource src) {
    for (Pe.Export e : pe.exports.values()) {
      Symbol s = symbols.stream().filter(k -> k.name().equals(e.name())).findFirst().orElseThrow(() ->
          MeshcException.input("%s: @export_symbol(..., \"%s\"): the layout has no @export_name(\"%s\", ...)", e.loc(),
              e.name(), e.name()));
      boolean fn = e.value() instanceof Comptime.FnVal;
      if (fn != s.isFn()) {
        throw MeshcException.input("%s: '%s' is exported as %s, but the layout's @export_name at %s says %s", e.loc(),
            e.name(), fn ? "a fn" : "data", s.loc(), s.type());
      }
      if (fn) {
        continue;
      }
      if (!(e.value() instanceof Ptr p)) {
        throw MeshcException.input("%s: '%s' is exported as %s: the host reads and writes through pointers ([*]T)",
            e.loc(), e.name(), Comptime.describe(e.value()));
      }
      String elem = s.type().replace("[*]", "").replace("*", "");
      if (!elem.equals(p.buffer().type.csl())) {
        throw MeshcException.input("%s: '%s' points at %s, but the layout exports it as %s (%s)", e.loc(), e.name(),
            p.buffer().type.csl(), s.type(), s.loc());
      }
      if (s.mutable() == e.declaredConst()) {
        throw MeshcException.input("%s: '%s' is declared %s but @export_name at %s gives mutability %s: a host-writable "
            + "symbol is a var, a read-only one a const", e.loc(), e.name(), e.declaredConst() ? "const" : "var",
            s.loc(), s.mutable());
      }
    }
  }

  // ---- the host's commands -------------------------------------------------------------------------

  public List<Symbol> symbols() {
    return symbols;
  }

  public Layout layout() {
    return layout;
  }

  public String arch() {
    return config.arch();
  }

  public MachineSpec machine() {
    return machine;
  }

  public Pe pe(int x, int y) {
    return pes.get(Layout.key(x, y));
  }

  /** The symbol {@code get_id(name)} gives. */
  public Symbol symbol(String name) {
    return symbols.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() ->
        MeshcException.input("get_id('%s'): the layout exports no such symbol (it has %s)", name,
            symbols.stream().map(Symbol::name).toList()));
  }

  private Symbol symbol(int id) {
    if (id < 0 || id >= symbols.size()) {
      throw MeshcException.input("symbol id %d is not one get_id gave", id);
    }
    return symbols.get(id);
  }

  /** The host's memcpy order: ROW_MAJOR reads the host array as (h, w, n), COL_MAJOR as (n, w, h) in Fortran order. */
  public enum Order {
    ROW_MAJOR, COL_MAJOR;

    /** Where element {@code k} of PE (px, py) of a w×h rectangle, n a PE, sits in the host array. */
    int index(int px, int py, int w, int h, int n, int k) {
      return this == ROW_MAJOR ? (py * w + px) * n + k : py + px * h + k * h * w;
    }
  }

  /**
   * {@code memcpy_h2d}: {@code words} (32-bit, or 16-bit values in the low half of each word) into
   * symbol {@code id} on each PE of the rectangle, {@code n} elements each.
   */
  public void h2d(int id, int[] words, int x0, int y0, int w, int h, int n, Order order, int bits) {
    Symbol s = symbol(id);
    if (!s.mutable()) {
      throw MeshcException.input("memcpy_h2d into '%s': the layout exports it read-only (@export_name at %s, "
          + "mutability false)", s.name(), s.loc());
    }
    settle("memcpy_h2d");
    copy("memcpy_h2d", s, words, x0, y0, w, h, n, order, bits, true);
  }

  /** {@code memcpy_d2h}: symbol {@code id}'s first {@code n} elements on each PE of the rectangle, as words. */
  public int[] d2h(int id, int x0, int y0, int w, int h, int n, Order order, int bits) {
    int[] words = new int[Math.multiplyExact(Math.multiplyExact(w, h), n)];
    settle("memcpy_d2h");
    copy("memcpy_d2h", symbol(id), words, x0, y0, w, h, n, order, bits, false);
    return words;
  }

  private void copy(String what, Symbol s, int[] words, int x0, int y0, int w, int h, int n, Order order, int bits,
      boolean in) {
    if (s.isFn()) {
      throw MeshcException.input("%s: '%s' is a fn, not data", what, s.name());
    }
    if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 + w > layout.width() || y0 + h > layout.height()) {
      throw MeshcException.input("%s of '%s': the rectangle (%d, %d) %dx%d is not inside the %dx%d kernel", what,
          s.name(), x0, y0, w, h, layout.width(), layout.height());
    }
    if (words.length < (long) w * h * n) {
      throw MeshcException.input("%s of '%s': the host array has %d elements, the rectangle takes %d", what, s.name(),
          words.length, (long) w * h * n);
    }
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        Pe pe = pes.get(Layout.key(x0 + px, y0 + py));
        Pe.Export e = pe == null ? null : pe.exports.get(s.name());
        if (e == null || !(e.value() instanceof Ptr p)) {
          throw MeshcException.input("%s of '%s': PE (%d, %d) does not export it", what, s.name(), x0 + px, y0 + py);
        }
        Buffer b = p.buffer();
        if (b.type.bits != bits) {
          throw MeshcException.input("%s of '%s' with MEMCPY_%dBIT: on PE (%d, %d) it points at %s, %d-bit data", what,
              s.name(), bits, x0 + px, y0 + py, b.type.csl(), b.type.bits);
        }
        if (p.offset() + n > b.length()) {
          throw MeshcException.input("%s of %d elements of '%s': on PE (%d, %d) it points at %d (%s)", what, n, s.name(),
              x0 + px, y0 + py, b.length() - p.offset(), b);
        }
        for (int k = 0; k < n; k++) {
          int i = order.index(px, py, w, h, n, k);
          if (in) {
            b.store(p.offset() + k, b.type.fromBits(words[i]));
          } else {
            words[i] = b.type.toBits(b.load(p.offset() + k));
          }
        }
        pe.cycles += n; // memcpy moves one wavelet a cycle into the PE
      }
    }
  }

  /**
   * {@code launch(fn, *args)}: runs exported fn {@code name} on every PE that has code, then the
   * fabric until every PE has called {@code sys_mod.unblock_cmd_stream()}: on the SDK the next
   * command waits for it.
   */
  public void launch(String name, List<Object> args) {
    Symbol s = symbol(name);
    if (!s.isFn()) {
      throw MeshcException.input("launch('%s'): it is data, not a fn", name);
    }
    settle("launch('" + name + "')");
    for (Pe pe : pes.values()) {
      Pe.Export e = pe.exports.get(name);
      if (e == null) {
        throw MeshcException.input("launch('%s'): %s does not export it (@export_symbol)", name, pe);
      }
      pe.cmdStreamUnblocked = false;
    }
    for (Pe pe : pes.values()) {
      Comptime.FnVal f = (Comptime.FnVal) pe.exports.get(name).value();
      runOn(pe, name, () -> pe.interp.invoke(f, args));
    }
    launched = name;
    settle("launch('" + name + "')");
  }

  /** The fn launched last, whose PEs must all release the command stream before the next command. */
  private String launched;

  /** {@code run()}: the tasks the programs activated at comptime run until the fabric is quiet. */
  public void run() {
    settle("run()");
  }

  /** {@code stop()}: the fabric runs until it is quiet; the last launch must have released the command stream. */
  public void stop() {
    settle("stop()");
    for (Pe pe : pes.values()) {
      if (pe.strand != null) {
        pe.strand.close();
      }
    }
  }

  /**
   * Streaming {@code memcpy_h2d} into colour {@code color}: each PE of the rectangle receives its
   * {@code n} words on its ramp, as memcpy's routes deliver them. With {@code nonblock} the host goes
   * on at once; else the fabric runs until every word is taken.
   */
  public void h2dStream(int color, int[] words, int x0, int y0, int w, int h, int n, Order order, boolean nonblock) {
    if (!h2dColors.contains(color)) {
      throw MeshcException.input("streaming memcpy_h2d into colour %d: the layout's memcpy params stream h2d on %s",
          color, h2dColors.isEmpty() ? "no colour (.MEMCPYH2D_1 = ...)" : "colours " + h2dColors);
    }
    rectangle("memcpy_h2d (streaming)", x0, y0, w, h, words.length, n);
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        Pe pe = pes.get(Layout.key(x0 + px, y0 + py));
        java.util.ArrayDeque<Integer> q = fromHost.computeIfAbsent(port(pe, color), k -> new java.util.ArrayDeque<>());
        for (int k = 0; k < n; k++) {
          q.add(words[order.index(px, py, w, h, n, k)]);
        }
      }
    }
    if (!nonblock) {
      settleUntil(() -> fromHost.values().stream().allMatch(java.util.ArrayDeque::isEmpty), "memcpy_h2d (streaming)");
    }
  }

  /** Streaming {@code memcpy_d2h} from colour {@code color}: the fabric runs until each PE of the rectangle has sent {@code n} words. */
  public int[] d2hStream(int color, int x0, int y0, int w, int h, int n, Order order) {
    if (!d2hColors.contains(color)) {
      throw MeshcException.input("streaming memcpy_d2h from colour %d: the layout's memcpy params stream d2h on %s",
          color, d2hColors.isEmpty() ? "no colour (.MEMCPYD2H_1 = ...)" : "colours " + d2hColors);
    }
    int[] words = new int[Math.multiplyExact(Math.multiplyExact(w, h), n)];
    rectangle("memcpy_d2h (streaming)", x0, y0, w, h, words.length, n);
    List<java.util.ArrayDeque<Integer>> qs = new ArrayList<>();
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        qs.add(toHost.computeIfAbsent(port(pes.get(Layout.key(x0 + px, y0 + py)), color),
            k -> new java.util.ArrayDeque<>()));
      }
    }
    settleUntil(() -> qs.stream().allMatch(q -> q.size() >= n), "memcpy_d2h (streaming) of " + n + " words a PE");
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        java.util.ArrayDeque<Integer> q = qs.get(py * w + px);
        for (int k = 0; k < n; k++) {
          words[order.index(px, py, w, h, n, k)] = q.poll();
        }
      }
    }
    return words;
  }

  private void rectangle(String what, int x0, int y0, int w, int h, int have, int n) {
    if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 + w > layout.width() || y0 + h > layout.height()) {
      throw MeshcException.input("%s: the rectangle (%d, %d) %dx%d is not inside the %dx%d kernel", what, x0, y0, w, h,
          layout.width(), layout.height());
    }
    if (have < (long) w * h * n) {
      throw MeshcException.input("%s: the host array has %d elements, the rectangle takes %d", what, have,
          (long) w * h * n);
    }
    for (int py = 0; py < h; py++) {
      for (int px = 0; px < w; px++) {
        if (pes.get(Layout.key(x0 + px, y0 + py)) == null) {
          throw MeshcException.input("%s: PE (%d, %d) has no code", what, x0 + px, y0 + py);
        }
      }
    }
  }

  /** A host port's key: the PE's place y · 2²¹ + x, times the colours, plus the colour (read back by {@link #portPe}). */
  private long port(Pe pe, int color) {
    return (((long) pe.y << 21) + pe.x) * fabric.colors + color;
  }

  private Pe portPe(long port) {
    long place = port / fabric.colors;
    return pes.get(Layout.key((int) (place & ((1 << 21) - 1)), (int) (place >> 21)));
  }

  // ---- the engine: PEs, their tasks and operations, the fabric between them -------------------------

  /** Wavelets a ramp holds for its PE before the fabric behind it stalls (input queue and router buffers). */
  static final int RAMP_CAPACITY = 64;

  /** Before a host command: the fabric runs until it is quiet and the last launch released the command stream. */
  private void settle(String command) {
    settleUntil(() -> launched == null || pes.values().stream().allMatch(p -> p.cmdStreamUnblocked), command);
    launched = null;
  }

  /** Runs every PE until {@code goal} holds and nothing moves; a standstill before the goal is a deadlock. */
  private void settleUntil(java.util.function.BooleanSupplier goal, String command) {
    while (true) {
      boolean moved = false;
      for (Map.Entry<Long, java.util.ArrayDeque<Integer>> e : fromHost.entrySet()) {
        java.util.ArrayDeque<Integer> q = e.getValue();
        Pe pe = portPe(e.getKey());
        java.util.ArrayDeque<Fabric.Wavelet> in = pe.inbox((int) (e.getKey() % fabric.colors));
        while (!q.isEmpty() && in.size() < RAMP_CAPACITY) {
          in.add(new Fabric.Wavelet(q.poll(), false, pe.cycles));
          moved = true;
        }
      }
      for (Pe pe : pes.values()) {
        moved |= step(pe);
      }
      if (!moved) {
        if (goal.getAsBoolean()) {
          return;
        }
        throw deadlock(command);
      }
    }
  }

  /** One turn of a PE: its async operations move, its waiting task resumes, or a ready task starts. */
  private boolean step(Pe pe) {
    boolean moved = false;
    for (int i = 0; i < pe.ops.size(); i++) {
      Op op = pe.ops.get(i);
      moved |= op.advance(this);
      if (op.finished()) {
        pe.ops.remove(i--);
        finish(op);
        moved = true;
      }
    }
    for (int c = 0; c < fabric.colors; c++) {
      Fabric.Wavelet w = pe.inbox(c).peek();
      if (w != null && w.control() && pe.interp.control(w, c)) {
        pe.inbox(c).poll();
        moved = true;
      }
    }
    if (pe.waiting != null) {
      moved |= pe.waiting.advance(this);
      if (pe.waiting.finished()) {
        Op op = pe.waiting;
        pe.waiting = null;
        finish(op);
        pe.strand.resume();
        moved = true;
      }
    } else if (!pe.busy()) {
      Pe.Task t = ready(pe);
      if (t != null) {
        List<Object> args = new ArrayList<>();
        if (t.id.kind() == Pe.TaskKind.DATA) {
          Fabric.Wavelet w = pe.inbox(dataColor(pe, t)).poll();
          pe.cycles = Math.max(pe.cycles, w.time());
          args.add(w);
        } else {
          t.active = false;
        }
        runOn(pe, t.name(), () -> pe.interp.runTask(t, args));
        moved = true;
      }
    }
    return moved;
  }

  /** The bound task with the lowest ID that can run: activated (local, control) or with a data wavelet, and not blocked. */
  private Pe.Task ready(Pe pe) {
    for (Pe.Task t : pe.tasks.values()) {
      if (t.blocked) {
        continue;
      }
      if (t.id.kind() == Pe.TaskKind.DATA) {
        int c = dataColor(pe, t);
        Fabric.Wavelet w = c < 0 ? null : pe.inbox(c).peek();
        if (w != null && !w.control() && !readByOp(pe, c)) {
          return t;
        }
      } else if (t.active) {
        return t;
      }
    }
    return null;
  }

  /** The colour a data task takes its wavelets from: its ID on WSE-2, its input queue's colour on WSE-3 (-1: unbound). */
  int dataColor(Pe pe, Pe.Task t) {
    if (arch().equals("wse2")) {
      return t.id.id();
    }
    Integer c = pe.queueColors.get(new Pe.Queue(true, t.id.id()));
    return c == null ? -1 : c;
  }

  private static boolean readByOp(Pe pe, int color) {
    for (Op op : pe.ops) {
      for (Object o : op.operands.subList(1, op.operands.size())) {
        if (o instanceof Op.Fab f && f.color() == color) {
          return true;
        }
      }
    }
    return false;
  }

  /** Starts {@code job} on the PE's strand; it runs until it returns or waits in a synchronous operation. */
  private void runOn(Pe pe, String what, Runnable job) {
    if (pe.strand == null) {
      pe.strand = new Strand("meshc-sim " + pe);
    }
    pe.running = what;
    pe.cycles = Math.max(pe.cycles, pe.readyAt) + 1; // a task switch, after what made it ready
    pe.strand.start(job);
  }

  /** An operation is done: its .activate and .unblock take effect. */
  private void finish(Op op) {
    if (op.async) {
      for (int t : op.threads) {
        op.pe.threadFree.merge(t, op.clock, Math::max);
      }
    } else {
      op.pe.cycles = Math.max(op.pe.cycles, op.clock);
    }
    op.pe.readyAt = Math.max(op.pe.readyAt, op.clock); // what it activates or unblocks starts after it
    if (op.activate != null) {
      op.pe.interp.activate(op.activate, op.loc);
    }
    if (op.unblock != null) {
      op.pe.interp.setBlocked(op.unblock, false, op.loc);
    }
  }

  /** Called from a PE's strand: a synchronous operation waits until it is done; an async one joins the PE's. */
  void start(Op op) {
    Pe pe = op.pe;
    if (op.async) {
      for (int t : op.threads) {
        Long free = pe.threadFree.get(t);
        if (t >= 0 && free != null && free > pe.cycles) { // done in the model already, but not yet in time
          throw MeshcException.input("%s: %s .async on microthread %d at cycle %d, while the operation before it on "
              + "that microthread runs until cycle %d: %s", op.loc, op.name, t, pe.cycles, free, arch().equals("wse2")
                  ? "on WSE-2 an async operation runs on the microthread of its fabric queue's ID, so two at once need "
                      + "queues with different IDs"
                  : "give each concurrent async operation its own .ut_id");
        }
      }
      for (Op other : pe.ops) {
        for (int t : op.threads) {
          if (t >= 0 && other.threads.contains(t)) {
            throw MeshcException.input("%s: %s .async on microthread %d while %s still runs on it: %s", op.loc, op.name,
                t, other, arch().equals("wse2")
                    ? "on WSE-2 an async operation runs on the microthread of its fabric queue's ID, so two at once "
                        + "need queues with different IDs"
                    : "give each concurrent async operation its own .ut_id");
          }
        }
      }
    }
    op.advance(this);
    if (op.finished()) {
      finish(op);
    } else if (!op.async) {
      pe.waiting = op;
      pe.strand.park();
    } else {
      pe.ops.add(op);
    }
  }

  /** Where {@code <simprint>} writes: standard error, so the host's protocol on standard output stays clean. */
  private java.io.PrintStream printOut = System.err;

  public void printTo(java.io.PrintStream out) {
    this.printOut = out;
  }

  void print(String text) {
    printOut.print(text);
    printOut.flush();
  }

  /** {@code <debug>}'s trace {@code key} of the PE at fabric place (x, y) (the kernel starts at --fabric-offsets). */
  public List<Object> trace(int x, int y, String key) {
    Pe pe = pes.get(Layout.key(x - config.fabricOffsets()[0], y - config.fabricOffsets()[1]));
    if (pe == null) {
      throw MeshcException.input("read_trace(%d, %d, '%s'): no PE of the kernel is there (it starts at %d, %d)", x, y,
          key, config.fabricOffsets()[0], config.fabricOffsets()[1]);
    }
    return pe.traces.getOrDefault(key, List.of());
  }

  /** Every PE's traces, by fabric place: what cslc's output folder keeps for debug_util after a run. */
  public Map<String, Map<String, List<Object>>> traces() {
    Map<String, Map<String, List<Object>>> all = new java.util.TreeMap<>();
    for (Pe pe : pes.values()) {
      if (!pe.traces.isEmpty()) {
        all.put((pe.x + config.fabricOffsets()[0]) + "," + (pe.y + config.fabricOffsets()[1]), pe.traces);
      }
    }
    return all;
  }

  /** {@code <tile_config>}'s {@code color_config.reset_routes}: PE {@code pe}'s router takes a new route for {@code color}. */
  void reconfigure(Pe pe, int color, Map<?, ?> routes, Comptime.Loc at) {
    reserved(color, at);
    fabric.configure(pe.x, pe.y, color, Map.of("routes", routes), at);
  }

  /** Why PE {@code pe} cannot put a wavelet on {@code f}'s colour now (a ramp full, no route on the way), or null. */
  String blocked(Pe pe, Op.Fab f, Comptime.Loc at) {
    try {
      return canSendNow(pe, f, at) ? null : "room to send on colour " + f.color() + " (output queue " + f.queue() + ")";
    } catch (Fabric.NoRoute e) {
      return "a route: " + e.getMessage();
    }
  }

  /** Whether every ramp a wavelet on {@code f}'s colour reaches has room (a router without a route throws NoRoute). */
  private boolean canSendNow(Pe pe, Op.Fab f, Comptime.Loc at) {
    if (toHostColor(pe, f.color())) {
      return true;
    }
    // a control wavelet's payload is not known yet: room is checked as for a NOP (the ramps the routes reach now)
    for (Fabric.Hit hit : fabric.trace(pe.x, pe.y, f.color(), new Fabric.Wavelet(0, f.control(), 0), at)) {
      Pe to = pes.get(Layout.key(hit.x(), hit.y()));
      if (to == null) {
        throw MeshcException.input("%s: a wavelet on colour %d sent by %s reaches PE (%d, %d), which has no code",
            at, f.color(), pe, hit.x(), hit.y());
      }
      if (to.inbox(hit.color()).size() >= RAMP_CAPACITY) {
        return false;
      }
    }
    return true;
  }

  /** Sends one wavelet on {@code f}'s colour from PE {@code pe} (its room checked by {@link #blocked}). */
  void send(Pe pe, Op.Fab f, int bits, long time, Comptime.Loc at) {
    if (f.control() && (Fabric.command(bits) & 3) == 3) {
      throw MeshcException.input("%s: a TEARDOWN control wavelet is not modelled yet", at);
    }
    if (toHostColor(pe, f.color())) {
      toHost.computeIfAbsent(port(pe, f.color()), k -> new java.util.ArrayDeque<>()).add(bits);
      return;
    }
    Fabric.Wavelet w = new Fabric.Wavelet(bits, f.control(), 0);
    for (Fabric.Hit hit : fabric.trace(pe.x, pe.y, f.color(), w, at)) {
      pes.get(Layout.key(hit.x(), hit.y())).inbox(hit.color()).add(new Fabric.Wavelet(hit.bits(), f.control(),
          time + (long) Math.ceil(hit.hops() * Math.max(1, machine.alpha()))));
    }
    fabric.commit(pe.x, pe.y, f.color(), w, at);
  }

  /** A d2h streaming colour that the PE has no route for goes to the host, as memcpy routes it. */
  private boolean toHostColor(Pe pe, int color) {
    return d2hColors.contains(color) && fabric.route(pe.x, pe.y, color) == null;
  }

  /** No PE can move and the host waits: who waits on what, in one line. */
  private MeshcException deadlock(String command) {
    List<String> waits = new ArrayList<>();
    Comptime.Loc first = null;
    for (Pe pe : pes.values()) { // a task blocked with work waiting is most often the cause: it leads
      for (Pe.Task t : pe.tasks.values()) {
        int c = t.id.kind() == Pe.TaskKind.DATA ? dataColor(pe, t) : -1;
        if (t.blocked && (t.active || (c >= 0 && !pe.inbox(c).isEmpty()))) {
          waits.add(pe + ": " + t.name() + " (" + t.id + ") is blocked" + (t.blockedAt == null ? ""
              : " (by " + t.blockedAt + ")") + " with work waiting, and nothing left to unblock it");
          first = first == null ? (t.blockedAt != null ? t.blockedAt : t.fn.owner().loc(t.fn.decl())) : first;
        }
      }
    }
    for (Pe pe : pes.values()) {
      if (pe.waiting != null) {
        waits.add(pe + " in " + pe.running + " waits in " + pe.waiting + " for " + pe.waiting.waitingFor(this));
        first = first == null ? pe.waiting.loc : first;
      }
      for (Op op : pe.ops) {
        waits.add(pe + ": " + op + " waits for " + op.waitingFor(this));
        first = first == null ? op.loc : first;
      }
      if (launched != null && !pe.cmdStreamUnblocked) {
        waits.add(pe + " has not called sys_mod.unblock_cmd_stream() since launch('" + launched + "')");
        if (first == null && pe.exports.get(launched) != null) {
          Comptime.FnVal f = (Comptime.FnVal) pe.exports.get(launched).value();
          first = f.owner().loc(f.decl());
        }
      }
    }
    for (Map.Entry<Long, java.util.ArrayDeque<Integer>> e : fromHost.entrySet()) {
      if (!e.getValue().isEmpty()) {
        Pe pe = portPe(e.getKey());
        waits.add(pe + " does not take the " + e.getValue().size() + " streamed words left on colour "
            + e.getKey() % fabric.colors);
      }
    }
    return MeshcException.input("%s%s waits forever: no PE can move (deadlock); %s", first == null ? "" : first + ": ",
        command, waits.isEmpty() ? "every PE is idle and nothing is in flight" : String.join("; ", waits));
  }


  // ---- the compile output folder -------------------------------------------------------------------

  /** What cslc writes beside out.json for the simulator: the build's inputs, so it can be rebuilt at load. */
  public static final String CONFIG = "meshc-sim.properties";

  /** Writes {@value #CONFIG} into {@code out}. */
  public static void writeConfig(Config c, Path out) throws java.io.IOException {
    StringBuilder params = new StringBuilder();
    c.params().forEach((k, v) -> params.append(params.length() == 0 ? "" : ",").append(k).append(':').append(v));
    StringBuilder colors = new StringBuilder();
    c.colors().forEach((k, v) -> colors.append(colors.length() == 0 ? "" : ",").append(k).append(':').append(v));
    String text = "# meshc's CSL simulator (not the Cerebras SDK): what cs_python rebuilds the program from\n"
        + "layout=" + c.layout().toAbsolutePath().normalize() + "\n"
        + "arch=" + c.arch() + "\n"
        + "params=" + params + "\n"
        + "colors=" + colors + "\n"
        + "fabric_dims=" + c.fabricDims()[0] + "," + c.fabricDims()[1] + "\n"
        + "fabric_offsets=" + c.fabricOffsets()[0] + "," + c.fabricOffsets()[1] + "\n"
        + "memcpy=" + c.memcpy() + "\n"
        + "channels=" + c.channels() + "\n";
    java.nio.file.Files.createDirectories(out);
    java.nio.file.Files.writeString(out.resolve(CONFIG), text, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Reads a compile output folder cslc wrote and builds its program. */
  public static Simulator open(Path out) {
    Path f = out.resolve(CONFIG);
    if (!java.nio.file.Files.isRegularFile(f)) {
      throw MeshcException.input("%s: no %s: not a folder meshc's cslc wrote (run cslc ... -o %s)", out, CONFIG, out);
    }
    java.util.Properties p = new java.util.Properties();
    try (java.io.Reader r = java.nio.file.Files.newBufferedReader(f, java.nio.charset.StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (java.io.IOException e) {
      throw MeshcException.input("%s: cannot read (%s)", f, e.getMessage());
    }
    return build(new Config(Path.of(p.getProperty("layout")), p.getProperty("arch"),
        parseParams(List.of(p.getProperty("params", ""))), pair(p.getProperty("fabric_dims"), "fabric_dims"),
        pair(p.getProperty("fabric_offsets"), "fabric_offsets"), Boolean.parseBoolean(p.getProperty("memcpy")),
        Integer.parseInt(p.getProperty("channels", "1")), parseParams(List.of(p.getProperty("colors", "")))));
  }

  /** cslc's {@code --params=a:1,b:2} (repeatable): integer values, as the examples pass them. */
  public static Map<String, Object> parseParams(List<String> flags) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (String flag : flags) {
      for (String kv : flag.split(",")) {
        if (kv.isBlank()) {
          continue;
        }
        String[] a = kv.split(":", 2);
        if (a.length != 2) {
          throw MeshcException.input("--params=%s: each param is NAME:VALUE", flag);
        }
        try {
          m.put(a[0].trim(), Long.decode(a[1].trim()));
        } catch (NumberFormatException e) {
          throw MeshcException.input("--params: %s:%s is not an integer (the simulator takes integer params)", a[0], a[1]);
        }
      }
    }
    return m;
  }

  /** {@code W,H}. */
  public static int[] pair(String v, String what) {
    String[] a = v == null ? new String[0] : v.split(",");
    try {
      if (a.length == 2) {
        return new int[] {Integer.parseInt(a[0].trim()), Integer.parseInt(a[1].trim())};
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw MeshcException.input("--%s=%s: two integers W,H", what.replace('_', '-'), v);
  }
}
