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
      boolean memcpy, int channels) {}

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

  private Simulator(Config config, MachineSpec machine, Layout layout, List<Symbol> symbols) {
    this.config = config;
    this.machine = machine;
    this.layout = layout;
    this.symbols = symbols;
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
    Layout layout = Layout.evaluate(src, c.params(), Limits.DEFAULTS.comptimeSteps(),
        Comptime.Modules.files(Limits.DEFAULTS), (name, args, loc) -> {
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
    LAYOUT(java.util.Set.of("<memcpy/get_params>")), PE(PeInterp.LIBRARIES);

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

  /** Builtins the interpreter does not run are refused when the program is built, not when it reaches them. */
  private static void refuseBuiltins(CslSource src) {
    walk(src.tree(), n -> {
      if (n instanceof CslParser.BuiltinCallContext b && !PeInterp.BUILTINS.contains(b.BUILTIN().getText())) {
        throw MeshcException.input("%s: %s is not modelled yet", at(src, b), b.BUILTIN().getText());
      }
      // a DSD op's trailing struct asks for asynchrony (.async, .activate, .unblock): microthreads come later
      if (n instanceof CslParser.BuiltinCallContext b && b.BUILTIN().getText().matches("@f[a-z]+[sh]")
          && b.args() != null && b.args().expr(b.args().expr().size() - 1) instanceof CslParser.PrimaryExprContext p
          && p.primary() instanceof CslParser.StructLitContext) {
        throw MeshcException.input("%s: %s with options (.async, .activate, .unblock) is not modelled yet", at(src, b),
            b.BUILTIN().getText());
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
          refuseLibraries(s, Layoutlibs.PE);
          refuseBuiltins(s);
          return s;
        });
        Pe pe = new Pe(x, y, tile);
        pe.interp = new PeInterp(src, pe, this, STEPS);
        pe.scope = pe.interp.fileScope(src.tree(), tile.params());
        for (CslParser.TopDeclContext d : src.tree().topDecl()) {
          if (d.constDecl() != null) {
            pe.interp.value(pe.scope, d.constDecl().ID().getText());
          } else if (d.varDecl() != null) {
            pe.interp.value(pe.scope, d.varDecl().ID().getText());
          } else if (d.comptimeBlock() != null) {
            pe.interp.run(d.comptimeBlock().block(), pe.scope);
          } else if (d.taskDecl() != null) {
            throw MeshcException.input("%s: tasks are not modelled yet", at(src, d.taskDecl()));
          }
        }
        if (pe.bytes > machine.bytesPerPe()) {
          throw MeshcException.input("%s: %s's variables take %,d bytes, more than the %,d of a PE on %s", src.name(), pe,
              pe.bytes, machine.bytesPerPe(), machine.name());
        }
        checkExports(pe, src);
        pe.cycles = 0;
        pes.put(Layout.key(x, y), pe);
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
  public enum Order { ROW_MAJOR, COL_MAJOR }

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
    copy("memcpy_h2d", s, words, x0, y0, w, h, n, order, bits, true);
  }

  /** {@code memcpy_d2h}: symbol {@code id}'s first {@code n} elements on each PE of the rectangle, as words. */
  public int[] d2h(int id, int x0, int y0, int w, int h, int n, Order order, int bits) {
    int[] words = new int[Math.multiplyExact(Math.multiplyExact(w, h), n)];
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
          int i = order == Order.ROW_MAJOR ? (py * w + px) * n + k : py + px * h + k * h * w;
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
   * {@code launch(fn, *args)}: runs exported fn {@code name} on every PE that has code. Each must
   * call {@code sys_mod.unblock_cmd_stream()}: on the SDK the next command waits for it forever.
   */
  public void launch(String name, List<Object> args) {
    Symbol s = symbol(name);
    if (!s.isFn()) {
      throw MeshcException.input("launch('%s'): it is data, not a fn", name);
    }
    for (Pe pe : pes.values()) {
      Pe.Export e = pe.exports.get(name);
      if (e == null) {
        throw MeshcException.input("launch('%s'): %s does not export it (@export_symbol)", name, pe);
      }
      Comptime.FnVal f = (Comptime.FnVal) e.value();
      pe.cmdStreamUnblocked = false;
      pe.interp.running = true;
      try {
        pe.interp.invoke(f, args);
      } catch (StackOverflowError ex) {
        throw MeshcException.input("%s: launch('%s') on %s: calls nest too deeply", e.loc(), name, pe);
      } finally {
        pe.interp.running = false;
      }
      if (!pe.cmdStreamUnblocked) {
        throw MeshcException.input("%s: launch('%s'): %s returned without sys_mod.unblock_cmd_stream(); on the SDK the "
            + "next memcpy or launch would wait forever", e.loc(), name, pe);
      }
    }
  }

  // ---- the compile output folder -------------------------------------------------------------------

  /** What cslc writes beside out.json for the simulator: the build's inputs, so it can be rebuilt at load. */
  public static final String CONFIG = "meshc-sim.properties";

  /** Writes {@value #CONFIG} into {@code out}. */
  public static void writeConfig(Config c, Path out) throws java.io.IOException {
    StringBuilder params = new StringBuilder();
    c.params().forEach((k, v) -> params.append(params.length() == 0 ? "" : ",").append(k).append(':').append(v));
    String text = "# meshc's CSL simulator (not the Cerebras SDK): what cs_python rebuilds the program from\n"
        + "layout=" + c.layout().toAbsolutePath().normalize() + "\n"
        + "arch=" + c.arch() + "\n"
        + "params=" + params + "\n"
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
        Integer.parseInt(p.getProperty("channels", "1"))));
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
