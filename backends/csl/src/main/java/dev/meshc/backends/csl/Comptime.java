package dev.meshc.backends.csl;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Dir;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.tree.ParseTree;

/**
 * An interpreter for the comptime part of CSL: what a {@code layout} block and a PE file's
 * top-level declarations compute before anything runs. Integers, booleans, strings, colours,
 * directions, types, struct and tuple literals, arrays; {@code const}/{@code var}, assignment,
 * {@code if}, {@code while} with a continue clause, {@code for} over {@code @range}, {@code switch},
 * functions with {@code return}. Builtins it does not model yield an opaque value, and the layout
 * builtins ({@code @set_rectangle}, {@code @set_tile_code}, {@code @set_color_config}) go to a
 * {@link Hooks}. A step budget stops runaway loops.
 *
 * <p>Given {@link Modules}, {@code @import_module("file.csl", .{...})} evaluates that file with
 * those params, and its consts and fns are read and called (a layout's routes are often set by a
 * library file's fn); a library module ({@code "<memcpy/get_params>"}) stays a {@link ModuleVal}.
 */
public class Comptime {
  /** Where something was written: {@code file:line:col}. */
  public record Loc(String file, int line, int col) {
    @Override
    public String toString() {
      return file + ":" + line + ":" + col;
    }
  }

  /** A routable colour and where its ID was chosen. */
  public record ColorVal(int id, Loc loc) {}

  /** A scalar type and its size in bytes (0 for types that take no PE memory). */
  public record TypeVal(String name, long bytes) {}

  /** An array type: dims × element. */
  public record ArrayTypeVal(List<Long> dims, Object elem) {
    public long bytes() {
      long n = elem instanceof TypeVal t ? t.bytes() : elem instanceof ArrayTypeVal a ? a.bytes() : 0;
      for (long d : dims) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }
  }

  /** A value the checker does not model (a DSD, a task ID …). */
  public record Opaque(String what) {}

  /** A function, the file scope it was declared in, and the interpreter of that file (for its locations). */
  public record FnVal(CslParser.FnDeclContext decl, Scope scope, Comptime owner) {}

  /** An imported library module the checker does not have: its name and parameters. */
  public record ModuleVal(String name, Map<String, Object> params) {}

  /** An imported CSL file, evaluated with the params its importer gave: its top-level names. */
  public record FileModule(String name, Scope scope, Comptime owner) {}

  /** Reads the file {@code path} that {@code importer} imports (as written, relative to the importer). */
  public interface Modules {
    CslSource read(String importer, String path, Loc at);

    /** Files on disk, relative to the importing file's folder, each parsed once and within {@code limits}. */
    static Modules files(Limits limits) {
      Map<java.nio.file.Path, CslSource> cache = new HashMap<>();
      return (importer, path, at) -> {
        java.nio.file.Path base = java.nio.file.Path.of(importer).toAbsolutePath().getParent();
        java.nio.file.Path f = base.resolve(path).normalize();
        if (!java.nio.file.Files.isRegularFile(f)) {
          throw MeshcException.input("%s: @import_module(\"%s\"): no such file %s", at, path, f);
        }
        return cache.computeIfAbsent(f, k -> CslSource.read(k, limits));
      };
    }
  }

  /** What the layout builtins do. */
  public interface Hooks {
    /** Handles builtin {@code name}, or returns null to let the interpreter handle it. */
    Object builtin(String name, List<Object> args, Loc loc);
  }

  private static final Map<String, Long> SCALARS = Map.ofEntries(Map.entry("i8", 1L), Map.entry("u8", 1L),
      Map.entry("i16", 2L), Map.entry("u16", 2L), Map.entry("f16", 2L), Map.entry("bf16", 2L),
      Map.entry("cb16", 2L), Map.entry("i32", 4L), Map.entry("u32", 4L), Map.entry("f32", 4L),
      Map.entry("i64", 8L), Map.entry("u64", 8L), Map.entry("bool", 1L), Map.entry("color", 0L),
      Map.entry("void", 0L), Map.entry("comptime_int", 0L), Map.entry("comptime_float", 0L),
      Map.entry("comptime_struct", 0L), Map.entry("type", 0L), Map.entry("direction", 0L),
      Map.entry("imported_module", 0L), Map.entry("local_task_id", 0L), Map.entry("data_task_id", 0L),
      Map.entry("control_task_id", 0L), Map.entry("input_queue", 0L), Map.entry("output_queue", 0L),
      Map.entry("ut_id", 0L), Map.entry("mem1d_dsd", 0L), Map.entry("mem4d_dsd", 0L), Map.entry("fabin_dsd", 0L),
      Map.entry("fabout_dsd", 0L), Map.entry("dsr_dest", 0L), Map.entry("dsr_src0", 0L), Map.entry("dsr_src1", 0L));

  private final String file;
  private final Hooks hooks;
  private final long budget;
  private final Modules modules;
  private final long[] steps; // shared with the interpreters of imported files: one budget in all
  /** Integer literals as values, once each: a layout's loop body is read once per PE. */
  private final Map<CslParser.IntLitContext, Long> literals = new java.util.IdentityHashMap<>();
  /** Places in this file, once each (every builtin call carries one). */
  private final Map<ParserRuleContext, Loc> locs = new java.util.IdentityHashMap<>();

  public Comptime(String file, Hooks hooks, long budget) {
    this(file, hooks, budget, null);
  }

  /** An interpreter that evaluates the files {@code @import_module} names, read through {@code modules}. */
  public Comptime(String file, Hooks hooks, long budget, Modules modules) {
    this(file, hooks, budget, modules, new long[1]);
  }

  private Comptime(String file, Hooks hooks, long budget, Modules modules, long[] steps) {
    this.file = file;
    this.hooks = hooks;
    this.budget = budget;
    this.modules = modules;
    this.steps = steps;
  }

  // ---- scopes -------------------------------------------------------------------------------------

  /** Names in one block; a file scope resolves its top-level declarations lazily. */
  public static final class Scope {
    final Scope parent;
    final Map<String, Object> values = new HashMap<>();
    final Map<String, ParserRuleContext> lazy = new HashMap<>();

    public Scope(Scope parent) {
      this.parent = parent;
    }

    /** Binds {@code name} in this scope (a loop capture, a fn argument). */
    public void define(String name, Object v) {
      values.put(name, v);
    }
  }

  /**
   * The file scope of {@code src}: its params take {@code params} (a param without one keeps its
   * default, or stays unknown), its consts, vars and fns are evaluated when first read.
   */
  public Scope fileScope(CslParser.FileContext src, Map<String, Object> params) {
    Scope s = new Scope(null);
    for (CslParser.TopDeclContext d : src.topDecl()) {
      if (d.paramDecl() != null) {
        String name = d.paramDecl().ID().getText();
        if (params.containsKey(name)) {
          s.values.put(name, params.get(name));
        } else {
          s.lazy.put(name, d.paramDecl());
        }
      } else if (d.constDecl() != null) {
        s.lazy.put(d.constDecl().ID().getText(), d.constDecl());
      } else if (d.varDecl() != null) {
        s.lazy.put(d.varDecl().ID().getText(), d.varDecl());
      } else if (d.fnDecl() != null) {
        s.values.put(d.fnDecl().ID().getText(), new FnVal(d.fnDecl(), s, this));
      }
    }
    return s;
  }

  /** The value {@code name} has in {@code scope} (evaluating it if it has not been read yet), or null. */
  public Object value(Scope scope, String name) {
    for (Scope s = scope; s != null; s = s.parent) {
      if (s.values.containsKey(name) || s.lazy.containsKey(name)) {
        return lookup(s, name, null);
      }
    }
    return null;
  }

  protected Object lookup(Scope scope, String name, ParserRuleContext at) {
    for (Scope s = scope; s != null; s = s.parent) {
      Object bound = s.values.get(name); // one probe for the common case; null may be a bound value
      if (bound != null || s.values.containsKey(name)) {
        return bound;
      }
      ParserRuleContext d = s.lazy.isEmpty() ? null : s.lazy.remove(name);
      if (d != null) {
        Object v = declValue(s, d);
        s.values.put(name, v);
        return v;
      }
    }
    if (SCALARS.containsKey(name)) {
      return new TypeVal(name, SCALARS.get(name));
    }
    for (Dir d : Dir.values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    throw error(at, "'%s' is not defined", name);
  }

  protected Object declValue(Scope s, ParserRuleContext d) {
    if (d instanceof CslParser.ParamDeclContext p) {
      if (p.value == null) {
        throw error(p, "param '%s' has no value: it is not set by the importer and has no default", p.ID().getText());
      }
      return eval(p.value, s);
    }
    if (d instanceof CslParser.ConstDeclContext c) {
      return eval(c.value, s);
    }
    CslParser.VarDeclContext v = (CslParser.VarDeclContext) d;
    return v.value != null ? eval(v.value, s) : v.type != null ? eval(v.type, s) : new Opaque("var");
  }

  /** The type a top-level {@code var} is declared with (evaluated in {@code scope}), or null. */
  public Object varType(CslParser.VarDeclContext v, Scope scope) {
    return v.type == null ? null : eval(v.type, scope);
  }

  public Loc loc(ParserRuleContext c) {
    return locs.computeIfAbsent(c, k -> new Loc(file, k.getStart().getLine(), k.getStart().getCharPositionInLine() + 1));
  }

  protected MeshcException error(ParserRuleContext at, String fmt, Object... args) {
    return MeshcException.input("%s: %s", loc(at), String.format(java.util.Locale.ROOT, fmt, args));
  }

  private void step(ParserRuleContext at) {
    if (++steps[0] > budget) {
      throw Limits.exceeded(loc(at), "comptime evaluation's step count", "more than "
          + String.format(java.util.Locale.ROOT, "%,d", budget), "comptime-steps", budget);
    }
  }

  // ---- statements ---------------------------------------------------------------------------------

  protected static final class Return extends RuntimeException {
    final Object value;

    Return(Object value) {
      super(null, null, false, false);
      this.value = value;
    }
  }

  private static final class Break extends RuntimeException {
    Break() {
      super(null, null, false, false);
    }
  }

  private static final class Continue extends RuntimeException {
    Continue() {
      super(null, null, false, false);
    }
  }

  /** Runs a block (a layout block, a comptime block) in a new scope under {@code outer}. */
  public void run(CslParser.BlockContext block, Scope outer) {
    Scope s = new Scope(outer);
    for (CslParser.StmtContext st : children(block, CslParser.StmtContext.class)) {
      exec(st, s);
    }
  }

  /**
   * A node's children of one kind, without the list ANTLR's accessors build on every call (a
   * layout's loop body runs once per PE: a wafer's million times).
   */
  static <T extends ParserRuleContext> Iterable<T> children(ParserRuleContext node, Class<T> kind) {
    List<org.antlr.v4.runtime.tree.ParseTree> cs = node.children == null ? List.of() : node.children;
    return () -> new java.util.Iterator<T>() {
      private int i = skip(0);

      private int skip(int from) {
        while (from < cs.size() && !kind.isInstance(cs.get(from))) {
          from++;
        }
        return from;
      }

      @Override
      public boolean hasNext() {
        return i < cs.size();
      }

      @Override
      public T next() {
        if (i >= cs.size()) {
          throw new java.util.NoSuchElementException();
        }
        T t = kind.cast(cs.get(i));
        i = skip(i + 1);
        return t;
      }
    };
  }

  protected void exec(CslParser.StmtContext st, Scope s) {
    step(st);
    if (st instanceof CslParser.ConstStmtContext c) {
      s.values.put(c.constDecl().ID().getText(), eval(c.constDecl().value, s));
    } else if (st instanceof CslParser.VarStmtContext v) {
      CslParser.VarDeclContext d = v.varDecl();
      s.values.put(d.ID().getText(), d.value != null ? eval(d.value, s) : new Opaque("var"));
    } else if (st instanceof CslParser.BlockStmtContext b) {
      run(b.block(), s);
    } else if (st instanceof CslParser.ComptimeStmtContext c) {
      run(c.comptimeBlock().block(), s);
    } else if (st instanceof CslParser.IfStmtContext i) {
      if (truth(eval(i.cond, s), i.cond)) {
        if (i.then != null) {
          run(i.then, s);
        } else if (i.bare.assign() != null) {
          assign(i.bare.assign(), s);
        } else {
          eval(i.bare.expr(), s);
        }
      } else if (i.elseIf != null) {
        exec(i.elseIf, s);
      }
    } else if (st instanceof CslParser.WhileStmtContext w) {
      while (truth(eval(w.cond, s), w.cond)) {
        step(w);
        try {
          run(w.body, s);
        } catch (Break e) {
          break;
        } catch (Continue e) {
          // the continue clause still runs
        }
        if (w.step != null) {
          assign(w.step, s);
        }
      }
    } else if (st instanceof CslParser.ForStmtContext f) {
      Object over = eval(f.expr(), s);
      if (!(over instanceof List<?> items)) {
        throw error(f.expr(), "for loops over a @range or an array, not %s", describe(over));
      }
      String name = f.capture().ID(0).getText();
      for (Object item : items) {
        step(f);
        Scope body = new Scope(s);
        body.values.put(name, item);
        try {
          run(f.body, body);
        } catch (Break e) {
          break;
        } catch (Continue e) {
          // next item
        }
      }
    } else if (st instanceof CslParser.SwitchStmtContext sw) {
      Object v = eval(sw.expr(), s);
      for (CslParser.SwitchArmContext arm : sw.switchArm()) {
        boolean hit = arm.getChild(0).getText().equals("else");
        for (int k = 0; !hit && k < arm.expr().size() - (arm.block() == null ? 1 : 0); k++) {
          hit = java.util.Objects.equals(eval(arm.expr(k), s), v);
        }
        if (hit) {
          if (arm.block() != null) {
            run(arm.block(), s);
          } else {
            eval(arm.expr(arm.expr().size() - 1), s);
          }
          break;
        }
      }
    } else if (st instanceof CslParser.ReturnStmtContext r) {
      throw new Return(r.expr() == null ? null : eval(r.expr(), s));
    } else if (st instanceof CslParser.BreakStmtContext) {
      throw new Break();
    } else if (st instanceof CslParser.ContinueStmtContext) {
      throw new Continue();
    } else if (st instanceof CslParser.AssignStmtContext a) {
      assign(a.assign(), s);
    } else if (st instanceof CslParser.ExprStmtContext e) {
      eval(e.expr(), s);
    }
  }

  protected void assign(CslParser.AssignContext a, Scope s) {
    if (!(a.target instanceof CslParser.PrimaryExprContext p && p.primary() instanceof CslParser.NameContext n)) {
      eval(a.value, s); // assignments into memory are run-time matters
      return;
    }
    String name = n.ID().getText();
    Scope owner = s;
    while (owner != null && !owner.values.containsKey(name)) {
      owner = owner.parent;
    }
    if (owner == null) {
      throw error(a, "'%s' is not defined", name);
    }
    Object v = eval(a.value, s);
    String op = a.op.getText();
    if (!op.equals("=")) {
      v = binary(op.substring(0, op.length() - 1), owner.values.get(name), v, a);
    }
    owner.values.put(name, v);
  }

  // ---- expressions --------------------------------------------------------------------------------

  public Object eval(CslParser.ExprContext e, Scope s) {
    step(e);
    if (e instanceof CslParser.PrimaryExprContext p) {
      return primary(p.primary(), s);
    } else if (e instanceof CslParser.IfExprContext i) {
      // without an 'else', a false condition gives void
      return truth(eval(i.cond, s), i.cond) ? eval(i.then, s) : i.other == null ? null : eval(i.other, s);
    } else if (e instanceof CslParser.UnaryExprContext u) {
      Object v = eval(u.expr(), s);
      return switch (u.op.getText()) {
        case "-" -> v instanceof Long l ? (Object) (-l) : v instanceof Double d ? (Object) (-d) : new Opaque("-");
        case "!" -> !truth(v, u);
        case "~" -> v instanceof Long l ? (Object) (~l) : new Opaque("~");
        default -> new Opaque(u.op.getText() + "pointer"); // & and *: addresses and pointer types
      };
    } else if (e instanceof CslParser.AndExprContext a) {
      return truth(eval(a.expr(0), s), a) && truth(eval(a.expr(1), s), a);
    } else if (e instanceof CslParser.OrExprContext o) {
      return truth(eval(o.expr(0), s), o) || truth(eval(o.expr(1), s), o);
    } else if (e instanceof CslParser.PostfixExprContext p) {
      return postfix(p, s);
    }
    // binary operators share a shape: expr op expr
    ParseTree opNode = e.getChild(1);
    return binary(opNode.getText(), eval((CslParser.ExprContext) e.getChild(0), s),
        eval((CslParser.ExprContext) e.getChild(2), s), e);
  }

  protected Object binary(String op, Object a, Object b, ParserRuleContext at) {
    if (op.equals("==") || op.equals("!=")) {
      boolean eq = a instanceof ColorVal ca && b instanceof ColorVal cb ? ca.id() == cb.id()
          : java.util.Objects.equals(a, b);
      return op.equals("==") == eq;
    }
    if (a instanceof Long x && b instanceof Long y) {
      return switch (op) {
        case "+" -> Math.addExact(x, y);
        case "-" -> Math.subtractExact(x, y);
        case "*" -> Math.multiplyExact(x, y);
        case "/" -> {
          if (y == 0) {
            throw error(at, "division by zero");
          }
          yield x / y;
        }
        case "%" -> {
          if (y == 0) {
            throw error(at, "division by zero");
          }
          yield x % y;
        }
        case "<<" -> x << Math.min(63, y);
        case ">>" -> x >> Math.min(63, y);
        case "&" -> x & y;
        case "|" -> x | y;
        case "^" -> x ^ y;
        case "<" -> x < y;
        case ">" -> x > y;
        case "<=" -> x <= y;
        case ">=" -> x >= y;
        default -> throw error(at, "operator %s on integers", op);
      };
    }
    if (a instanceof Number x && b instanceof Number y) {
      double p = x.doubleValue();
      double q = y.doubleValue();
      return switch (op) {
        case "+" -> p + q;
        case "-" -> p - q;
        case "*" -> p * q;
        case "/" -> p / q;
        case "<" -> p < q;
        case ">" -> p > q;
        case "<=" -> p <= q;
        case ">=" -> p >= q;
        default -> new Opaque(op);
      };
    }
    return new Opaque(op);
  }

  protected Object postfix(CslParser.PostfixExprContext p, Scope s) {
    CslParser.PostfixContext op = p.postfix();
    if (op instanceof CslParser.CallContext call) {
      List<Object> args = args(call.args(), s);
      // module functions: memcpy.get_params(px) and the like
      if (p.expr() instanceof CslParser.PostfixExprContext inner
          && inner.postfix() instanceof CslParser.FieldContext f) {
        Object target = eval(inner.expr(), s);
        if (target instanceof ModuleVal m) {
          return moduleCall(m, f.ID().getText(), args, call);
        }
        if (target instanceof FileModule m) {
          Object fn = member(m, f.ID().getText(), f);
          if (!(fn instanceof FnVal fv)) {
            throw error(f, "%s.%s is not a fn", m.name(), f.ID().getText());
          }
          return call(fv, args, call);
        }
      }
      Object fn = eval(p.expr(), s);
      if (fn instanceof FnVal f) {
        return call(f, args, call);
      }
      return new Opaque("call");
    }
    Object v = eval(p.expr(), s);
    if (op instanceof CslParser.FieldContext f) {
      String name = f.ID().getText();
      if (v instanceof Map<?, ?> m) {
        if (!m.containsKey(name)) {
          throw error(f, "the struct has no field '%s'", name);
        }
        return m.get(name);
      }
      if (v instanceof ModuleVal m) {
        return new Opaque(m.name() + "." + name);
      }
      if (v instanceof FileModule m) {
        return member(m, name, f);
      }
      return new Opaque("." + name);
    }
    if (op instanceof CslParser.IndexContext ix) {
      Object i = eval(ix.expr(0), s);
      if (v instanceof List<?> list && i instanceof Long k) {
        if (k < 0 || k >= list.size()) {
          throw error(ix, "index %d is outside [0, %d)", k, list.size());
        }
        return list.get(k.intValue());
      }
      return new Opaque("index");
    }
    return new Opaque("deref");
  }

  /** A top-level name of an imported file, evaluated (in that file) when first read. */
  private Object member(FileModule m, String name, ParserRuleContext at) {
    if (!m.scope().values.containsKey(name) && !m.scope().lazy.containsKey(name)) {
      throw error(at, "%s declares no '%s'", m.name(), name);
    }
    return m.owner().value(m.scope(), name);
  }

  /** Evaluates the file {@code path} as a module with {@code params}: its names, read lazily. */
  private FileModule importFile(String path, Map<String, Object> params, Loc at) {
    CslSource src = modules.read(file, path, at);
    Comptime ct = imported(src);
    return ct.loaded(new FileModule(path, ct.fileScope(src.tree(), params), ct), src);
  }

  /** The interpreter for a file this one imports: same hooks, modules and step budget (a subclass keeps its kind). */
  protected Comptime imported(CslSource src) {
    return new Comptime(src.name(), hooks, budget, modules, steps);
  }

  /** An imported file, its scope made: a subclass that runs programs loads its declarations here. */
  protected FileModule loaded(FileModule m, CslSource src) {
    return m;
  }

  /** A sibling interpreter for {@code name} sharing this one's hooks, modules and step count. */
  protected Comptime(Comptime parent, String name) {
    this(name, parent.hooks, parent.budget, parent.modules, parent.steps);
  }

  /**
   * A call into a library module: the few pure fns layouts compute with are modelled ({@code
   * <math>}'s floor, {@code <directions>}'s flip); any other call is recorded as its module, fn and
   * args (memcpy's get_params gives a tile its params that way).
   */
  protected Object moduleCall(ModuleVal m, String fn, List<Object> args, ParserRuleContext at) {
    if (m.name().equals("<math>") && (fn.equals("floor_f16") || fn.equals("floor_f32")) && args.size() == 1
        && args.get(0) instanceof Number x) {
      return Math.floor(x.doubleValue());
    }
    if (m.name().equals("<directions>") && fn.equals("flip") && args.size() == 1 && args.get(0) instanceof Dir d) {
      return d.opposite();
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("module", m.name());
    r.put("fn", fn);
    r.put("args", List.copyOf(args));
    r.put("module_params", m.params()); // memcpy's colours (.MEMCPYH2D_1, ...) reach the PE's sys_mod this way
    return r;
  }

  protected Object call(FnVal f, List<Object> args, ParserRuleContext at) {
    CslParser.FnDeclContext d = f.decl();
    List<CslParser.FnParamContext> ps = d.params() == null ? List.of() : d.params().fnParam();
    if (ps.size() != args.size()) {
      throw error(at, "%s takes %d arguments, not %d", d.ID().getText(), ps.size(), args.size());
    }
    Scope body = new Scope(f.scope());
    for (int i = 0; i < ps.size(); i++) {
      body.values.put(ps.get(i).ID().getText(), args.get(i));
    }
    try {
      for (CslParser.StmtContext st : children(d.block(), CslParser.StmtContext.class)) {
        f.owner().exec(st, body); // the body runs in its own file: locations name that file
      }
    } catch (Return r) {
      return r.value;
    }
    return null;
  }

  protected List<Object> args(CslParser.ArgsContext a, Scope s) {
    List<Object> r = new ArrayList<>();
    if (a != null) {
      for (CslParser.ExprContext e : children(a, CslParser.ExprContext.class)) {
        r.add(eval(e, s));
      }
    }
    return r;
  }

  protected Object primary(CslParser.PrimaryContext p, Scope s) {
    if (p instanceof CslParser.IntLitContext i) {
      Long known = literals.get(i);
      if (known != null) {
        return known;
      }
      String t = i.INT().getText().replace("_", "");
      try {
        long v = t.startsWith("0x") ? Long.parseLong(t.substring(2), 16) : t.startsWith("0b")
            ? Long.parseLong(t.substring(2), 2) : t.startsWith("0o") ? Long.parseLong(t.substring(2), 8)
            : Long.parseLong(t);
        literals.put(i, v);
        return v;
      } catch (NumberFormatException e) {
        throw error(p, "integer %s is out of range", t);
      }
    } else if (p instanceof CslParser.FloatLitContext f) {
      return Double.parseDouble(f.FLOAT().getText());
    } else if (p instanceof CslParser.BoolLitContext b) {
      return b.getText().equals("true");
    } else if (p instanceof CslParser.StringLitContext str) {
      return dev.meshc.ir.text.TirSyntax.unquote(str.STRING().getText()); // Zig's escapes, as TIR's strings have them
    } else if (p instanceof CslParser.CharLitContext) {
      return new Opaque("char");
    } else if (p instanceof CslParser.NameContext n) {
      return lookup(s, n.ID().getText(), n);
    } else if (p instanceof CslParser.ParensContext par) {
      return eval(par.expr(), s);
    } else if (p instanceof CslParser.StructLitContext st) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (CslParser.FieldInitContext f : children(st, CslParser.FieldInitContext.class)) {
        m.put(f.ID().getText(), eval(f.expr(), s));
      }
      return m;
    } else if (p instanceof CslParser.TupleLitContext t) {
      List<Object> l = new ArrayList<>();
      for (CslParser.ExprContext e : children(t, CslParser.ExprContext.class)) {
        l.add(eval(e, s));
      }
      return l;
    } else if (p instanceof CslParser.ArrayLitContext a) {
      List<Object> l = new ArrayList<>();
      for (CslParser.ExprContext e : children(a, CslParser.ExprContext.class)) {
        l.add(eval(e, s));
      }
      return l;
    } else if (p instanceof CslParser.VoidLitContext) {
      return null; // void, as a fn without a return value gives
    } else if (p instanceof CslParser.EnumLitContext e) {
      return new Opaque("." + e.ID().getText());
    } else if (p instanceof CslParser.TypeLitContext t) {
      return type(t.typeExpr(), s);
    } else if (p instanceof CslParser.TensorAccessContext) {
      return new Opaque("tensor access");
    } else if (p instanceof CslParser.BuiltinCallContext b) {
      return builtin(b, s);
    }
    throw error(p, "cannot evaluate %s at comptime", p.getText());
  }

  private Object type(CslParser.TypeExprContext t, Scope s) {
    if (t instanceof CslParser.ArrayTypeExprContext a) {
      return arrayType(a.arrayType(), s);
    }
    // pointers, fn types, structs and enums take no array memory; the name is the type as written
    // ("[*]f32", "fn()void"), so @export_name's types can be compared with what a PE exports; a
    // pointer's element named by a type param or const is written as what it names
    if (t instanceof CslParser.ManyPtrTypeContext mp && eval(mp.expr(), s) instanceof TypeVal e) {
      return new TypeVal("[*]" + (mp.getText().startsWith("[*]const") ? "const " : "") + e.name(), 0);
    }
    return new TypeVal(t.getText(), 0);
  }

  /** A value known at comptime as an integer (a subclass's sized integers too), else the value itself. */
  protected Object integer(Object v) {
    return v;
  }

  protected Object arrayType(CslParser.ArrayTypeContext a, Scope s) {
    List<Long> dims = new ArrayList<>();
    for (CslParser.ExprContext e : children(a, CslParser.ExprContext.class)) {
      Object d = integer(eval(e, s));
      if (!(d instanceof Long l) || l < 0) {
        throw error(e, "an array dimension must be a non-negative integer, not %s", describe(d));
      }
      dims.add(l);
    }
    return new ArrayTypeVal(dims, primary(a.elem, s));
  }

  protected Object builtin(CslParser.BuiltinCallContext b, Scope s) {
    String name = b.BUILTIN().getText();
    List<Object> args = args(b.args(), s);
    Loc at = loc(b);
    if (hooks != null) {
      Object r = hooks.builtin(name, args, at);
      if (r != null) {
        return r;
      }
    }
    return switch (name) {
      case "@get_color" -> {
        if (args.size() != 1 || !(args.get(0) instanceof Long id)) {
          throw error(b, "@get_color takes one integer");
        }
        yield new ColorVal(id.intValue(), at);
      }
      case "@as" -> args.size() == 2 ? as(args.get(0), args.get(1), b) : new Opaque("@as");
      case "@concat_structs" -> {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Object a : args) {
          if (a instanceof Map<?, ?> part) {
            part.forEach((k, v) -> m.put((String) k, v));
          }
        }
        yield m;
      }
      case "@import_module" -> {
        Map<String, Object> ps = new LinkedHashMap<>();
        if (args.size() > 1 && args.get(1) instanceof Map<?, ?> m) {
          m.forEach((k, v) -> ps.put((String) k, v));
        }
        String path = args.isEmpty() ? "?" : String.valueOf(args.get(0));
        yield modules != null && !path.startsWith("<") ? importFile(path, ps, at) : new ModuleVal(path, ps);
      }
      case "@range" -> {
        long start = 0;
        long stop;
        long stepBy = 1;
        if (args.size() == 2 && args.get(1) instanceof Long n) {
          stop = n;
        } else if (args.size() >= 3 && args.get(1) instanceof Long a && args.get(2) instanceof Long z) {
          start = a;
          stop = z;
          stepBy = args.size() > 3 && args.get(3) instanceof Long st ? st : 1;
        } else {
          yield new Opaque("@range");
        }
        if (stepBy <= 0 || (stop - start) / stepBy > budget) {
          throw error(b, "@range(%d, %d, %d) is not a range the checker walks", start, stop, stepBy);
        }
        List<Object> l = new ArrayList<>();
        for (long i = start; i < stop; i += stepBy) {
          l.add(i);
        }
        yield l;
      }
      case "@zeros", "@constants" -> args.isEmpty() ? new Opaque(name) : args.get(0);
      default -> new Opaque(name);
    };
  }

  /** {@code @as(T, v)} for a number: an integer type takes a whole float, a float type any number. */
  private Object as(Object type, Object v, ParserRuleContext at) {
    if (!(type instanceof TypeVal t) || !(v instanceof Number n)) {
      return v;
    }
    if (t.name().matches("[iu][0-9]+") && v instanceof Double d) {
      if (d != Math.rint(d) || Double.isInfinite(d)) {
        throw error(at, "@as(%s, %s) would lose the fraction", t.name(), d);
      }
      return (long) d.doubleValue();
    }
    return t.name().matches("f[0-9]+|bf16|comptime_float") ? (Object) n.doubleValue() : v;
  }

  protected boolean truth(Object v, ParserRuleContext at) {
    if (v instanceof Boolean b) {
      return b;
    }
    throw error(at, "a condition must be a bool known at comptime, not %s", describe(v));
  }

  public static String describe(Object v) {
    if (v == null) {
      return "void";
    }
    if (v instanceof Opaque o) {
      return "a run-time value (" + o.what() + ")";
    }
    return v.getClass().getSimpleName().replace("Val", "").toLowerCase(java.util.Locale.ROOT) + " " + v;
  }
}
