package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.CslSource;
import dev.meshc.grammar.CslParser;
import dev.meshc.ir.MeshcException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.antlr.v4.runtime.ParserRuleContext;

/**
 * Runs a PE program: {@link Comptime} extended with memory. Top-level and local {@code var}s of
 * sized types are {@link Buffer}s, {@code &x} a {@link Ptr}, numbers of sized types {@link Num}s
 * rounded as their type stores them; {@code @get_dsd(mem1d_dsd, ...)} gives a {@link Dsd} and the
 * DSD ops run element by element, each costing its length in cycles. What it does not model is
 * refused at its {@code file:line:col}.
 */
final class PeInterp extends Comptime {
  /** Builtins the PE interpreter runs (Comptime evaluates @get_color, @concat_structs and @import_module of files). */
  static final Set<String> BUILTINS = Set.of("@get_color", "@concat_structs", "@import_module", "@as", "@range",
      "@zeros", "@constants", "@get_dsd", "@increment_dsd_offset", "@set_dsd_base_addr", "@set_dsd_length",
      "@set_dsd_stride", "@export_symbol", "@comptime_assert", "@assert", "@is_arch", "@get_rectangle",
      "@fmacs", "@fmach", "@fadds", "@faddh", "@fsubs", "@fsubh", "@fmuls", "@fmulh", "@fmovs", "@fmovh",
      "@fnegs", "@fnegh", "@fmaxs", "@fmaxh", "@mov16", "@mov32", "@add16", "@map", "@bitcast",
      "@get_input_queue", "@get_output_queue", "@get_local_task_id", "@get_data_task_id", "@get_control_task_id",
      "@bind_local_task", "@bind_data_task", "@bind_control_task", "@activate", "@block", "@unblock",
      "@initialize_queue", "@allocate_fifo", "@set_local_color_config", "@type_of", "@is_same_type", "@get_ut_id", "@ptrcast", "@get_dsr",
      "@load_to_dsr", "@rpc");

  /** Libraries a PE program may import: memcpy's copy mode and launch. */
  static final Set<String> LIBRARIES = Set.of("<memcpy/memcpy>", "<layout>", "<control>", "<math>", "<time>",
      "<random>", "<directions>", "<tile_config>", "<debug>", "<simprint>");

  private final Pe pe;
  private final CslSource src;
  private final Simulator sim;

  private final long budget;

  PeInterp(CslSource src, Pe pe, Simulator sim, long budget) {
    super(src.name(), null, budget, Modules.files(dev.meshc.ir.Limits.DEFAULTS));
    this.budget = budget;
    this.src = src;
    this.pe = pe;
    this.sim = sim;
  }

  // ---- declarations: memory ------------------------------------------------------------------------

  @Override
  protected Object declValue(Scope s, ParserRuleContext d) {
    if (d instanceof CslParser.VarDeclContext v) {
      Object type = v.type == null ? null : eval(v.type, s);
      return allocate(v.ID().getText(), type, v.value == null ? null : eval(v.value, s), v);
    }
    return super.declValue(s, d);
  }

  /** A var's storage: an array or a cell for sized types, else (pointers, DSDs) the value itself. */
  private Object allocate(String name, Object type, Object init, ParserRuleContext at) {
    if (type instanceof ArrayTypeVal a) {
      Scalar t = a.elem() instanceof TypeVal e ? Scalar.of(e.name()) : null;
      if (t == null) {
        throw error(at, "arrays of %s are not modelled yet", Comptime.describe(a.elem()));
      }
      int[] dims = a.dims().stream().mapToInt(Math::toIntExact).toArray();
      Buffer b = new Buffer(name, t, dims, false);
      if (init instanceof Buffer from) {
        if (from.length() != b.length()) {
          throw error(at, "'%s' has %d elements; its initializer %d", name, b.length(), from.length());
        }
        for (int i = 0; i < b.length(); i++) {
          b.store(i, from.load(i));
        }
      } else if (init != null) {
        throw error(at, "initializing array '%s' with %s is not modelled yet", name, Comptime.describe(init));
      }
      return held(b);
    }
    Scalar t = type instanceof TypeVal tv ? Scalar.of(tv.name()) : null;
    if (t == null && type == null) {
      if (init instanceof Buffer b && !b.cell) {
        return held(b.copy(name));
      }
      t = init instanceof Num n ? n.type() : init instanceof Boolean ? Scalar.BOOL : null;
    }
    if (t == null) {
      return init; // pointers, DSDs, comptime values
    }
    Buffer cell = new Buffer(name, t, 1, true);
    if (init != null) {
      cell.store(0, number(init, at));
    }
    return held(cell);
  }

  private Buffer held(Buffer b) {
    pe.bytes += b.bytes();
    if (pe.started && pe.bytes > sim.machine().bytesPerPe()) {
      throw MeshcException.input("%s: %s's variables take %,d bytes with '%s', more than the %,d of a PE on %s",
          src.name(), pe, pe.bytes, b.name, sim.machine().bytesPerPe(), sim.machine().name());
    }
    return b;
  }

  // ---- statements ----------------------------------------------------------------------------------

  @Override
  protected void exec(CslParser.StmtContext st, Scope s) {
    pe.cycles++;
    if (st instanceof CslParser.VarStmtContext v) {
      CslParser.VarDeclContext d = v.varDecl();
      Object type = d.type == null ? null : eval(d.type, s);
      long before = pe.bytes;
      s.define(d.ID().getText(), allocate(d.ID().getText(), type, d.value == null ? null : eval(d.value, s), d));
      pe.bytes = before; // a local lives on the stack while its block runs: it is not the PE's memory
      return;
    }
    if (st instanceof CslParser.ConstStmtContext c && c.constDecl().type != null) {
      Object type = eval(c.constDecl().type, s);
      Object v = eval(c.constDecl().value, s);
      Scalar t = type instanceof TypeVal tv ? Scalar.of(tv.name()) : null;
      s.define(c.constDecl().ID().getText(), t != null && (pe.started || v instanceof Num) ? new Num(t, number(v, c)) : v);
      return;
    }
    super.exec(st, s);
  }

  @Override
  protected void assign(CslParser.AssignContext a, Scope s) {
    CslParser.ExprContext t = strip(a.target);
    if (t instanceof CslParser.PrimaryExprContext p && p.primary() instanceof CslParser.NameContext n) {
      Object raw = lookup(s, n.ID().getText(), n);
      if (raw instanceof Buffer b && b.cell) {
        store(new Ptr(b, 0), a, s);
      } else {
        super.assign(a, s); // a DSD, a pointer, a comptime value: the name takes the new value
      }
      return;
    }
    store(place(t, s), a, s);
  }

  private void store(Ptr at, CslParser.AssignContext a, Scope s) {
    Object v = eval(a.value, s);
    String op = a.op.getText();
    if (!op.equals("=")) {
      v = binary(op.substring(0, op.length() - 1), element(at, a), v, a);
    }
    at.buffer().store(at.offset(), number(v, a));
  }

  /** The element an lvalue ({@code a[i]}, {@code p.*}, {@code &x}'s target) names. */
  private Ptr place(CslParser.ExprContext t, Scope s) {
    t = strip(t);
    if (t instanceof CslParser.PostfixExprContext p && p.postfix() instanceof CslParser.IndexContext ix) {
      return indexed(eval(p.expr(), s), ix, s);
    }
    if (t instanceof CslParser.PostfixExprContext p && p.postfix() instanceof CslParser.DerefContext) {
      if (eval(p.expr(), s) instanceof Ptr ptr) {
        return checked(ptr, p);
      }
      throw error(p, "%s is not a pointer", p.expr().getText());
    }
    if (t instanceof CslParser.PrimaryExprContext p && p.primary() instanceof CslParser.NameContext n
        && lookup(s, n.ID().getText(), n) instanceof Buffer b) {
      return new Ptr(b, 0);
    }
    throw error(t, "assigning to %s is not modelled yet", t.getText());
  }

  private Ptr indexed(Object base, CslParser.IndexContext ix, Scope s) {
    int[] idx = new int[ix.expr().size()];
    for (int k = 0; k < idx.length; k++) {
      idx[k] = toInt(eval(ix.expr(k), s), ix.expr(k));
    }
    if (idx.length > 1 && !(base instanceof Buffer)) {
      throw error(ix, "indexing %s with %d indices", Comptime.describe(base), idx.length);
    }
    int i = base instanceof Buffer b ? b.index(idx) : idx[0];
    if (i < 0) {
      throw error(ix, "%s is outside the array's dimensions", java.util.Arrays.toString(idx));
    }
    Ptr p = base instanceof Buffer b ? new Ptr(b, i, true)
        : base instanceof Ptr q ? new Ptr(q.buffer(), q.offset() + i, true) : null;
    if (p == null) {
      throw error(ix, "indexing %s at run time is not modelled yet", Comptime.describe(base));
    }
    return checked(p, ix);
  }

  private Ptr checked(Ptr p, ParserRuleContext at) {
    if (p.offset() < 0 || p.offset() >= p.buffer().length()) {
      throw error(at, "element %d of '%s' is outside its %d elements", p.offset(), p.buffer().name,
          p.buffer().length());
    }
    return p;
  }

  private Object element(Ptr p, ParserRuleContext at) {
    checked(p, at);
    double v = p.buffer().load(p.offset());
    return p.buffer().type == Scalar.BOOL ? (Object) (v != 0) : new Num(p.buffer().type, v);
  }

  private static CslParser.ExprContext strip(CslParser.ExprContext e) {
    while (e instanceof CslParser.PrimaryExprContext p && p.primary() instanceof CslParser.ParensContext par) {
      e = par.expr();
    }
    return e;
  }

  // ---- expressions ---------------------------------------------------------------------------------

  @Override
  public Object eval(CslParser.ExprContext e, Scope s) {
    if (e instanceof CslParser.UnaryExprContext u && !u.op.getText().equals("*")) {
      String op = u.op.getText();
      if (op.equals("&")) {
        CslParser.ExprContext t = strip(u.expr());
        if (t instanceof CslParser.PrimaryExprContext p && p.primary() instanceof CslParser.NameContext n) {
          Object raw = lookup(s, n.ID().getText(), n);
          return raw instanceof Buffer b ? new Ptr(b, 0) : raw; // &fn is the fn
        }
        return place(t, s);
      }
      Object v = eval(u.expr(), s);
      if (v instanceof Num n) {
        return switch (op) {
          case "-" -> new Num(n.type(), -n.value());
          case "~" -> new Num(n.type(), ~(long) n.value());
          default -> throw error(u, "%s on a number", op);
        };
      }
      return switch (op) {
        case "-" -> v instanceof Long l ? (Object) (-l) : v instanceof Double d ? (Object) (-d) : bad(u, v);
        case "~" -> v instanceof Long l ? (Object) (~l) : bad(u, v);
        default -> !truth(v, u);
      };
    }
    return super.eval(e, s);
  }

  private Object bad(ParserRuleContext at, Object v) {
    throw error(at, "%s on %s is not modelled yet", at.getText(), Comptime.describe(v));
  }

  @Override
  protected Object primary(CslParser.PrimaryContext p, Scope s) {
    if (p instanceof CslParser.NameContext n) {
      Object v = lookup(s, n.ID().getText(), n);
      return v instanceof Buffer b && b.cell ? b.read() : v;
    }
    if (p instanceof CslParser.TensorAccessContext t) {
      return new Access(t, s);
    }
    if (p instanceof CslParser.ArrayLitContext lit) {
      return arrayLiteral(lit, s);
    }
    return super.primary(p, s);
  }

  /** A {@code .tensor_access} as written, and the scope to evaluate it in (made a DSD by @get_dsd). */
  record Access(CslParser.TensorAccessContext ctx, Scope scope) {}

  @Override
  protected Object postfix(CslParser.PostfixExprContext p, Scope s) {
    CslParser.PostfixContext op = p.postfix();
    if (op instanceof CslParser.IndexContext ix) {
      Object base = eval(p.expr(), s);
      if (base instanceof List<?> list) {
        int i = toInt(eval(ix.expr(0), s), ix);
        if (i < 0 || i >= list.size()) {
          throw error(ix, "index %d is outside [0, %d)", i, list.size());
        }
        return list.get(i);
      }
      return element(indexed(base, ix, s), ix);
    }
    if (op instanceof CslParser.DerefContext) {
      if (!(eval(p.expr(), s) instanceof Ptr ptr)) {
        throw error(p, "%s is not a pointer", p.expr().getText());
      }
      if (ptr.buffer().cell || ptr.element()) {
        return element(ptr, p);
      }
      if (ptr.offset() != 0) {
        throw error(p, "dereferencing a pointer into the middle of '%s' is not modelled yet", ptr.buffer().name);
      }
      return ptr.buffer();
    }
    if (op instanceof CslParser.FieldContext f) {
      Object target = eval(p.expr(), s);
      if (target instanceof ModuleVal m) {
        return moduleField(m, f.ID().getText(), f);
      }
      if (target instanceof Map<?, ?> rec && "<memcpy/get_params>".equals(rec.get("module"))
          && f.ID().getText().startsWith("MEMCPY") && rec.get("module_params") instanceof Map<?, ?> mp) {
        return mp.get(f.ID().getText()); // a colour memcpy was not given is void, as the SDK's params default
      }
    }
    if (op instanceof CslParser.CallContext call && !(p.expr() instanceof CslParser.PostfixExprContext q
        && q.postfix() instanceof CslParser.FieldContext) && eval(p.expr(), s) instanceof LibFn l) {
      return moduleCall(new ModuleVal(l.module(), Map.of()), l.name(), args(call.args(), s), call);
    }
    Object r = super.postfix(p, s);
    if (op instanceof CslParser.CallContext && r instanceof Opaque) {
      throw error(p, "calling %s is not modelled yet", p.expr().getText());
    }
    return r;
  }

  @Override
  protected Object call(FnVal f, List<Object> args, ParserRuleContext at) {
    // arguments take the types of the fn's params: a comptime 2 passed as f32 becomes an f32
    List<CslParser.FnParamContext> ps = f.decl().params() == null ? List.of() : f.decl().params().fnParam();
    List<Object> typed = new ArrayList<>(args);
    for (int i = 0; i < Math.min(ps.size(), args.size()); i++) {
      Object t = f.owner().eval(ps.get(i).expr(), f.scope());
      Scalar sc = t instanceof TypeVal tv ? Scalar.of(tv.name()) : null;
      if (sc != null && sc != Scalar.BOOL && (args.get(i) instanceof Number || args.get(i) instanceof Num)) {
        typed.set(i, new Num(sc, number(args.get(i), at)));
      }
    }
    pe.cycles++;
    return super.call(f, typed, at);
  }

  @Override
  protected Object binary(String op, Object a, Object b, ParserRuleContext at) {
    if (!(a instanceof Num) && !(b instanceof Num)) {
      return super.binary(op, a, b, at);
    }
    Scalar t = resultType(a, b);
    double x = number(a, at);
    double y = number(b, at);
    switch (op) {
      case "==": return x == y;
      case "!=": return x != y;
      case "<": return x < y;
      case ">": return x > y;
      case "<=": return x <= y;
      case ">=": return x >= y;
      default: break;
    }
    if (t.isFloat) {
      // both operands are exact in double and double has more than 2p+2 bits of f32's and f16's
      // precision p, so one rounding of the double result to the type is the type's own rounding
      return new Num(t, switch (op) {
        case "+" -> x + y;
        case "-" -> x - y;
        case "*" -> x * y;
        case "/" -> x / y;
        default -> throw error(at, "operator %s on %s", op, t.csl());
      });
    }
    long p = (long) x;
    long q = (long) y;
    return new Num(t, switch (op) {
      case "+" -> p + q;
      case "-" -> p - q;
      case "*" -> p * q;
      case "/", "%" -> {
        if (q == 0) {
          throw error(at, "division by zero");
        }
        yield op.equals("/") ? p / q : p % q;
      }
      case "<<" -> p << Math.min(63, q);
      case ">>" -> p >> Math.min(63, q);
      case "&" -> p & q;
      case "|" -> p | q;
      case "^" -> p ^ q;
      default -> throw error(at, "operator %s on %s", op, t.csl());
    });
  }

  /** Two sized numbers: the float one, else the wider; a sized number and a comptime one: the sized one's. */
  private static Scalar resultType(Object a, Object b) {
    if (a instanceof Num x && b instanceof Num y) {
      if (x.type() == y.type()) {
        return x.type();
      }
      if (x.type().isFloat != y.type().isFloat) {
        return x.type().isFloat ? x.type() : y.type();
      }
      return y.type().bits > x.type().bits ? y.type() : x.type();
    }
    return a instanceof Num x ? x.type() : ((Num) b).type();
  }

  double number(Object v, ParserRuleContext at) {
    if (v instanceof Num n) {
      return n.value();
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    throw error(at, "%s is not a number", Comptime.describe(v));
  }

  private int toInt(Object v, ParserRuleContext at) {
    if (v instanceof Long l) {
      return Math.toIntExact(l);
    }
    if (v instanceof Num n && !n.type().isFloat) {
      return (int) n.value();
    }
    throw error(at, "an index must be an integer, not %s", Comptime.describe(v));
  }

  @Override
  protected Object moduleCall(ModuleVal m, String fn, List<Object> args, ParserRuleContext at) {
    switch (m.name()) {
      case "<memcpy/memcpy>":
        if (fn.equals("unblock_cmd_stream")) {
          pe.cmdStreamUnblocked = true;
          return null;
        }
        break;
      case "<layout>":
        if (fn.equals("get_x_coord") || fn.equals("get_y_coord")) {
          return new Num(Scalar.U16, fn.equals("get_x_coord") ? pe.x : pe.y);
        }
        break;
      case "<control>":
        return control(fn, args, at);
      case "<math>":
        return math(fn, args, at);
      case "<time>":
        return time(fn, args, at);
      case "<random>":
        return random(fn, args, at);
      case "<directions>":
        return super.moduleCall(m, fn, args, at); // flip, as layouts use it
      case "<debug>":
        return debug(m, fn, args, at);
      case "<simprint>":
        return simprint(fn, args, at);
      case "<tile_config>.color_config":
        if (fn.equals("reset_routes") && args.size() == 2 && args.get(0) instanceof ColorVal c
            && args.get(1) instanceof Map<?, ?> routes) {
          // the router takes the colour's new route now: wavelets sent from here on follow it
          sim.reconfigure(pe, c.id(), routes, loc(at));
          return null;
        }
        throw error(at, "<tile_config>'s color_config.%s is not modelled yet (the simulator has reset_routes(colour, "
            + ".{ .rx, .tx }))", fn);
      default:
        break;
    }
    throw error(at, "%s's %s is not modelled yet", m.name(), fn);
  }

  /** A library module's names that are not fns: memcpy's streaming colours, <control>'s opcodes, <math>'s fns. */
  private Object moduleField(ModuleVal m, String name, ParserRuleContext at) {
    if (m.name().equals("<memcpy/memcpy>") && m.params().get("module_params") instanceof Map<?, ?> mp
        && name.startsWith("MEMCPY")) {
      return mp.get(name);
    }
    if (m.name().equals("<memcpy/memcpy>") && name.equals("LAUNCH")) {
      return LAUNCH; // the colour memcpy launches fns on; the simulator's launch calls them directly
    }
    if (m.name().equals("<tile_config>") && name.equals("color_config")) {
      return new ModuleVal("<tile_config>.color_config", Map.of());
    }
    if (m.name().equals("<control>") && name.equals("opcode")) {
      return OPCODES;
    }
    if (m.name().equals("<math>") || m.name().equals("<memcpy/memcpy>") && name.equals("unblock_cmd_stream")) {
      return new LibFn(m.name(), name); // a library fn as a value: @map's fn, a module's callback param
    }
    if (m.name().equals("<time>") && name.equals("tsc_size_words")) {
      return 3L;
    }
    throw error(at, "%s.%s is not modelled yet", m.name(), name);
  }

  @Override
  protected Comptime imported(CslSource file) {
    Simulator.refuse(file);
    PeInterp in = new PeInterp(file, pe, sim, budget);
    return in;
  }

  @Override
  protected FileModule loaded(FileModule m, CslSource file) {
    ((PeInterp) m.owner()).load(m.scope(), file.tree());
    return m;
  }

  /**
   * Loads a file's declarations into the PE: its tasks are named and its comptime blocks run
   * (bindings, exports, local colour configs). Consts and vars are made when first reached, so a
   * PE holds only the variables its program uses, as the SDK's compiler drops the rest.
   */
  void load(Scope scope, CslParser.FileContext tree) {
    for (CslParser.TopDeclContext d : tree.topDecl()) {
      if (d.taskDecl() != null) {
        scope.define(d.taskDecl().ID().getText(), new TaskVal(d.taskDecl(), scope, this));
      }
    }
    for (CslParser.TopDeclContext d : tree.topDecl()) {
      if (d.constDecl() != null && d.constDecl().value.getText().startsWith("@import_module(")) {
        value(scope, d.constDecl().ID().getText()); // an imported file's comptime runs whether or not it is used
      } else if (d.comptimeBlock() != null) {
        run(d.comptimeBlock().block(), scope);
      }
    }
    for (CslParser.TopDeclContext d : tree.topDecl()) { // DSDs are made at load: their fields are checked there
      if (d.constDecl() != null && d.constDecl().value.getText().startsWith("@get_dsd(")) {
        value(scope, d.constDecl().ID().getText());
      } else if (d.varDecl() != null && d.varDecl().value != null
          && d.varDecl().value.getText().startsWith("@get_dsd(")) {
        value(scope, d.varDecl().ID().getText());
      }
    }
  }

  /** {@code [n]T{a, b, ...}} of a sized T: an array in the PE's memory (a const one too: DSDs read it). */
  private Object arrayLiteral(CslParser.ArrayLitContext lit, Scope s) {
    Object t = arrayType(lit.arrayType(), s);
    if (!(t instanceof ArrayTypeVal a && a.elem() instanceof TypeVal e && Scalar.of(e.name()) != null)) {
      return super.primary(lit, s);
    }
    int[] dims = a.dims().stream().mapToInt(Math::toIntExact).toArray();
    Buffer b = new Buffer("[" + lit.getText().length() + "]" + e.name(), Scalar.of(e.name()), dims, false);
    if (lit.expr().size() != b.length()) {
      throw error(lit, "the array literal has %d elements; its type %d", lit.expr().size(), b.length());
    }
    for (int i = 0; i < b.length(); i++) {
      b.store(i, number(eval(lit.expr(i), s), lit.expr(i)));
    }
    return held(b);
  }

  /**
   * {@code @get_input_queue(n)}, {@code @get_output_queue(n)}, {@code @get_local_task_id(n)},
   * {@code @get_control_task_id(n)}, {@code @get_data_task_id(colour or queue)}: the same values in a
   * layout (passed to PEs as params) and in a PE program.
   */
  static Object ids(String name, List<Object> a, String arch, Comptime.Loc at) {
    Object v = a.size() == 1 ? a.get(0) : null;
    long n = v instanceof Long l ? l : v instanceof Num x && !x.type().isFloat ? (long) x.value() : -1;
    switch (name) {
      case "@get_input_queue":
      case "@get_output_queue":
        if (n < 0 || n > 7) {
          throw MeshcException.input("%s: %s(%s): queues are numbered 0 to 7", at, name, Comptime.describe(v));
        }
        return new Pe.Queue(name.equals("@get_input_queue"), (int) n);
      case "@get_local_task_id":
      case "@get_control_task_id":
        if (n < 0 || n > 63) {
          throw MeshcException.input("%s: %s(%s): task IDs are 0 to 63", at, name, Comptime.describe(v));
        }
        return new Pe.TaskId(name.equals("@get_local_task_id") ? Pe.TaskKind.LOCAL : Pe.TaskKind.CONTROL, (int) n);
      default:
        if (arch.equals("wse2") && v instanceof ColorVal c) {
          return new Pe.TaskId(Pe.TaskKind.DATA, c.id());
        }
        if (arch.equals("wse3") && v instanceof Pe.Queue q && q.input()) {
          return new Pe.TaskId(Pe.TaskKind.DATA, q.id());
        }
        throw MeshcException.input("%s: @get_data_task_id takes %s on %s, not %s", at,
            arch.equals("wse2") ? "a colour" : "an input queue", arch, Comptime.describe(v));
    }
  }

  /** The name of a value's type, as @type_of gives it (void for {}, the empty param default). */
  private static String typeName(Object v) {
    if (v == null) {
      return "void";
    }
    if (v instanceof Num n) {
      return n.type().csl();
    }
    if (v instanceof ColorVal) {
      return "color";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Long) {
      return "comptime_int";
    }
    if (v instanceof Double) {
      return "comptime_float";
    }
    if (v instanceof dev.meshc.ir.kernel.Dir) {
      return "direction";
    }
    if (v instanceof Map<?, ?>) {
      return "comptime_struct";
    }
    return v.getClass().getSimpleName();
  }

  @Override
  protected Object integer(Object v) {
    return v instanceof Num n && !n.type().isFloat ? (Object) (long) n.value() : v;
  }

  /** The source file this PE's program is. */
  String file() {
    return src.name();
  }

  // ---- tasks ---------------------------------------------------------------------------------------

  /** A {@code task} declaration, as its name evaluates. */
  record TaskVal(CslParser.TaskDeclContext decl, Scope scope, PeInterp owner) {}

  /** Runs a bound task's body; a data task's wavelet is its argument, read as its parameter's type. */
  void runTask(Pe.Task t, List<Object> args) {
    CslParser.TaskDeclContext d = t.fn.decl();
    List<CslParser.FnParamContext> ps = d.params() == null ? List.of() : d.params().fnParam();
    Scope body = new Scope(t.fn.scope());
    if (!args.isEmpty()) {
      Fabric.Wavelet w = (Fabric.Wavelet) args.get(0);
      if (ps.size() == 1) {
        body.define(ps.get(0).ID().getText(), wavelet(w.data(), 0, ps.get(0), t, 32));
      } else if (ps.size() == 2) { // two 16-bit halves: the low one first
        for (int i = 0; i < 2; i++) {
          body.define(ps.get(i).ID().getText(), wavelet(w.data() >>> (16 * i), i, ps.get(i), t, 16));
        }
      } else if (!ps.isEmpty()) {
        throw error(d, "a data task takes its wavelet as one 32-bit or two 16-bit parameters");
      }
    } else if (t.id.kind() == Pe.TaskKind.CONTROL && ps.size() == 1) { // the control wavelet's 16 data bits
      body.define(ps.get(0).ID().getText(), wavelet(t.data, 0, ps.get(0), t, 16));
    } else if (!ps.isEmpty()) {
      throw error(d, "%s takes parameters, but %s passes none", d.ID().getText(), t.id);
    }
    try {
      for (CslParser.StmtContext st : d.block().stmt()) {
        t.fn.owner().exec(st, body);
      }
    } catch (Return r) {
      // a task returns nothing
    }
  }

  /** A data task's parameter: the wavelet's bits as the parameter's type (a 16-bit type reads the low half). */
  private Num wavelet(int bits, int i, CslParser.FnParamContext p, Pe.Task t, int most) {
    Object ty = t.fn.owner().eval(p.expr(), t.fn.scope());
    Scalar sc = ty instanceof TypeVal tv ? Scalar.of(tv.name()) : null;
    if (sc == null || sc == Scalar.BOOL || sc.bits > most) {
      throw error(p, "a data task's parameter of %s is not modelled yet", Comptime.describe(ty));
    }
    return new Num(sc, sc.fromBits(bits));
  }

  private Pe.TaskId taskId(Object v, ParserRuleContext at) {
    return taskId(v, loc(at));
  }

  /** A task ID, a bound task's name, or (for @block and @unblock) the colour or input queue of a data task. */
  private Pe.TaskId taskId(Object v, Comptime.Loc at) {
    if (v instanceof Pe.TaskId id) {
      return id;
    }
    if (v instanceof ColorVal c && sim.arch().equals("wse2")) {
      return new Pe.TaskId(Pe.TaskKind.DATA, c.id());
    }
    if (v instanceof Pe.Queue q && q.input() && sim.arch().equals("wse3")) {
      return new Pe.TaskId(Pe.TaskKind.DATA, q.id());
    }
    if (v instanceof TaskVal tv) {
      for (Pe.Task t : pe.tasks.values()) {
        if (t.fn.decl() == tv.decl()) {
          return t.id;
        }
      }
      throw MeshcException.input("%s: task %s is not bound to a task ID", at, tv.decl().ID().getText());
    }
    throw MeshcException.input("%s: %s is not a task ID", at, Comptime.describe(v));
  }

  private static int key(Pe.TaskId id) {
    return id.id() * 4 + id.kind().ordinal();
  }

  private Pe.Task task(Object v, Comptime.Loc loc) {
    Pe.TaskId id = taskId(v, loc);
    Pe.Task t = pe.tasks.get(key(id));
    if (t == null && (!pe.started || id.kind() == Pe.TaskKind.DATA)) {
      // comptime: the binding may come later; a colour with no data task: blocking it only holds its wavelets
      return pe.unbound.computeIfAbsent(key(id), k -> new Pe.Task(id, null));
    }
    if (t == null) {
      throw MeshcException.input("%s: no task is bound to %s on %s", loc, id, pe);
    }
    return t;
  }

  /** {@code @activate(id)} or an operation's {@code .activate}. */
  void activate(Object id, Comptime.Loc loc) {
    Pe.Task t = task(id, loc);
    if (t.id.kind() == Pe.TaskKind.DATA) {
      throw MeshcException.input("%s: @activate of %s: a data task runs when its wavelets arrive", loc, t.id);
    }
    t.active = true;
  }

  /** {@code @block(id)}, {@code @unblock(id)} or an operation's {@code .unblock}. */
  void setBlocked(Object id, boolean blocked, Comptime.Loc loc) {
    Pe.Task t = task(id, loc);
    t.blocked = blocked;
    t.blockedAt = blocked ? loc : null;
  }

  /**
   * A control wavelet reached this PE's ramp on {@code color}: it activates the control task its
   * task ID names if the PE binds one (a wavelet that only moves switches names none). False when
   * that task has not yet run for the last one: this one waits.
   */
  boolean control(Fabric.Wavelet w, int color) {
    int id = (w.data() >>> 16) & 0x3f;
    Pe.Task t = pe.tasks.get(key(new Pe.TaskId(Pe.TaskKind.CONTROL, id)));
    if (t == null) {
      return true;
    }
    if (t.active) {
      return false;
    }
    t.active = true;
    t.data = w.data() & 0xffff;
    return true;
  }

  static final Map<String, Object> OPCODES = Map.of("NOP", (long) Fabric.NOP, "SWITCH_ADV", (long) Fabric.SWITCH_ADV,
      "SWITCH_RST", (long) Fabric.SWITCH_RST, "TEARDOWN", 3L);

  private Object control(String fn, List<Object> a, ParserRuleContext at) {
    switch (fn) {
      case "encode_single_payload": {
        if (a.size() != 4) {
          throw error(at, "encode_single_payload(opcode, ce, entrypoint, data) takes 4 arguments");
        }
        long op = (long) number(a.get(0), at) & 3;
        if (op == 3) {
          throw error(at, "a TEARDOWN control wavelet is not modelled yet");
        }
        long noCe = Boolean.TRUE.equals(a.get(1)) ? 0 : 4;
        long entry = a.get(2) == null ? 0 : taskId(a.get(2), at).id() & 0x3f;
        // the first command, then a NOP; the same NO_CE on both
        return new Num(Scalar.U32, ((noCe | op) << Fabric.CMD_SHIFT) | (noCe << (Fabric.CMD_SHIFT + 3)) | (entry << 16)
            | ((long) number(a.get(3), at) & 0xffff));
      }
      case "encode_control_task_payload":
        if (a.size() != 1) {
          throw error(at, "encode_control_task_payload(task_id) takes 1 argument");
        }
        return new Num(Scalar.U32, (long) (taskId(a.get(0), at).id() & 0x3f) << 16);
      default:
        throw error(at, "<control>'s %s is not modelled yet", fn);
    }
  }

  /**
   * {@code <time>}: the PE's timestamp counter is its cycle count, 48 bits in three 16-bit words,
   * lowest first ({@code tsc_size_words} is 3). {@code enable_tsc} starts it, {@code disable_tsc}
   * stops it (a stopped counter reads what it last had).
   */
  private Object time(String fn, List<Object> a, ParserRuleContext at) {
    switch (fn) {
      case "enable_tsc":
        pe.tscOn = true;
        return null;
      case "disable_tsc":
        pe.tscFrozen = pe.tscOn ? pe.cycles - pe.tscBase : pe.tscFrozen;
        pe.tscOn = false;
        return null;
      case "reset_tsc_counter":
        pe.tscBase = pe.cycles;
        return null;
      case "get_timestamp": {
        if (a.size() != 1 || !(a.get(0) instanceof Ptr p) || p.buffer().type.bits != 16
            || p.offset() + 3 > p.buffer().length()) {
          throw error(at, "get_timestamp takes a pointer to three 16-bit words ([3]u16)");
        }
        long t = pe.tscOn ? pe.cycles - pe.tscBase : pe.tscFrozen;
        for (int i = 0; i < 3; i++) {
          p.buffer().store(p.offset() + i, (t >>> (16 * i)) & 0xffff);
        }
        return null;
      }
      default:
        throw error(at, "<time>'s %s is not modelled yet (the simulator has enable_tsc, disable_tsc, "
            + "reset_tsc_counter, get_timestamp, tsc_size_words)", fn);
    }
  }

  /**
   * {@code <random>}: a PE's generator, xorshift32 seeded from the PE's coordinates unless
   * {@code set_global_prng_seed} gives the seed (meshc's generator: the SDK does not publish its own,
   * so the numbers differ from a wafer's, their range does not).
   */
  private Object random(String fn, List<Object> a, ParserRuleContext at) {
    switch (fn) {
      case "set_global_prng_seed":
        pe.prng = (int) number(a.isEmpty() ? null : a.get(0), at) | 1;
        return null;
      case "random_f32":
      case "random_f16": {
        Scalar t = fn.endsWith("f32") ? Scalar.F32 : Scalar.F16;
        double lo = a.size() == 2 ? number(a.get(0), at) : 0;
        double hi = a.size() == 2 ? number(a.get(1), at) : 1;
        double r = t.round(lo + (hi - lo) * ((pe.nextRandom() >>> 8) / (double) (1 << 24)));
        return new Num(t, r >= hi ? lo : r); // rounding to the type can reach hi: [lo, hi) holds
      }
      case "random_u16":
        return new Num(Scalar.U16, pe.nextRandom() >>> 16);
      case "random_u32":
        return new Num(Scalar.U32, pe.nextRandom() & 0xffffffffL);
      default:
        throw error(at, "<random>'s %s is not modelled yet (the simulator has set_global_prng_seed, random_f32, "
            + "random_f16, random_u16, random_u32)", fn);
    }
  }

  /**
   * A data structure register ({@code @get_dsr(dsr_dest, n)}): the DSD {@code @load_to_dsr} put in
   * it, which an operation given the DSR uses; with {@code .save_address} the register then holds
   * the address the operation ended at.
   */
  static final class Dsr {
    final String name;
    Object dsd;
    boolean save;
    Integer ut;

    Dsr(String name) {
      this.name = name;
    }
  }

  /**
   * {@code <debug>}: each {@code trace_*} appends its value to the PE's trace named by the module's
   * {@code .key} (at most {@code .buffer_size} entries kept, the first ones), which the host reads
   * with {@code debug_util.read_trace(x, y, key)}; {@code trace_timestamp} records the cycle count.
   */
  private Object debug(ModuleVal m, String fn, List<Object> a, ParserRuleContext at) {
    String key = String.valueOf(m.params().getOrDefault("key", "trace"));
    long size = m.params().get("buffer_size") instanceof Long l ? l : Long.MAX_VALUE;
    Object v;
    if (fn.equals("trace_timestamp") && a.isEmpty()) {
      v = pe.cycles;
    } else if (fn.equals("trace_string") && a.size() == 1 && a.get(0) instanceof String str) {
      v = str;
    } else if (fn.equals("trace_bool") && a.size() == 1 && a.get(0) instanceof Boolean bo) {
      v = bo;
    } else if (fn.matches("trace_(u8|i8|u16|i16|u32|i32|f16|f32)") && a.size() == 1) {
      Scalar t = Scalar.of(fn.substring(6));
      double x = number(a.get(0), at);
      v = t == null ? (Object) (long) x : t.isFloat ? (Object) t.round(x) : (Object) (long) t.round(x);
    } else {
      throw error(at, "<debug>'s %s is not modelled yet (the simulator has trace_string, trace_bool, trace_u16, "
          + "trace_i16, trace_u32, trace_i32, trace_f16, trace_f32, trace_timestamp)", fn);
    }
    List<Object> trace = pe.traces.computeIfAbsent(key, k -> new ArrayList<>());
    if (trace.size() < size) {
      trace.add(v);
    }
    return null;
  }

  /** {@code <simprint>}: what a PE prints goes to the simulator's standard error, as simfabric's log has it. */
  private Object simprint(String fn, List<Object> a, ParserRuleContext at) {
    if (a.size() != 1) {
      throw error(at, "<simprint>'s %s takes one value", fn);
    }
    Object v = a.get(0);
    String text = switch (fn) {
      case "print_string" -> String.valueOf(v);
      case "print_u16_decimal", "print_u32_decimal", "print_i16_decimal", "print_i32_decimal" ->
          Long.toString((long) number(v, at));
      case "print_u16_hex", "print_u32_hex" -> Long.toHexString((long) number(v, at));
      case "print_f32", "print_f16" -> Double.toString(number(v, at));
      default -> throw error(at, "<simprint>'s %s is not modelled yet", fn);
    };
    sim.print(text);
    return null;
  }

  /** memcpy's launch colour (a stand-in ID above any router's), whose data task {@code @rpc} names. */
  static final ColorVal LAUNCH = new ColorVal(1024, null);

  /** A fn of a library module, as {@code @map} takes it. */
  record LibFn(String module, String name) {}

  private Object math(String fn, List<Object> a, ParserRuleContext at) {
    Scalar t = fn.endsWith("_f16") ? Scalar.F16 : fn.endsWith("_f32") ? Scalar.F32 : null;
    String f = t == null ? fn : fn.substring(0, fn.length() - 4);
    boolean generic = t == null && a.size() == 1; // math.sqrt(x): the argument's float type, or comptime
    if (generic && a.get(0) instanceof Num n) {
      t = n.type().isFloat ? n.type() : Scalar.F32;
    }
    if (generic && t == null && (a.get(0) instanceof Long || a.get(0) instanceof Double)) {
      double x = number(a.get(0), at);
      return switch (f) {
        case "sqrt" -> Math.sqrt(x);
        case "exp" -> Math.exp(x);
        case "log" -> Math.log(x);
        case "abs" -> Math.abs(x);
        case "floor" -> Math.floor(x);
        case "ceil" -> Math.ceil(x);
        default -> throw error(at, "<math>'s %s of a comptime number is not modelled yet", fn);
      };
    }
    if (t == null || a.size() != 1) {
      throw error(at, "<math>'s %s is not modelled yet (the simulator has sqrt, invsqrt, exp, log, tanh, abs, "
          + "floor, ceil _f16 and _f32 of one argument)", fn);
    }
    double x = t.round(number(a.get(0), at));
    double r = switch (f) {
      case "sqrt" -> Math.sqrt(x);
      case "invsqrt" -> 1 / Math.sqrt(x);
      case "exp" -> Math.exp(x);
      case "log" -> Math.log(x);
      case "tanh" -> Math.tanh(x);
      case "abs" -> Math.abs(x);
      case "floor" -> Math.floor(x);
      case "ceil" -> Math.ceil(x);
      default -> throw error(at, "<math>'s %s is not modelled yet", fn);
    };
    return new Num(t, r);
  }

  // ---- builtins ------------------------------------------------------------------------------------

  @Override
  protected Object builtin(CslParser.BuiltinCallContext b, Scope s) {
    String name = b.BUILTIN().getText();
    if (!BUILTINS.contains(name)) {
      throw error(b, "%s is not modelled yet", name);
    }
    if (name.equals("@get_dsr")) {
      List<CslParser.ExprContext> es = b.args() == null ? List.of() : b.args().expr();
      String kind = es.isEmpty() ? "?" : es.get(0).getText();
      if (es.size() != 2 || !kind.matches("dsr_(dest|src0|src1)")) {
        throw error(b, "@get_dsr takes dsr_dest, dsr_src0 or dsr_src1 and a number");
      }
      int n = toInt(eval(es.get(1), s), es.get(1));
      return pe.dsrs.computeIfAbsent(kind + n, k -> new Dsr(k));
    }
    if (name.equals("@get_dsd")) {
      return getDsd(b, s);
    }
    if (name.equals("@import_module")) {
      List<Object> a = args(b.args(), s);
      String lib = a.isEmpty() ? "?" : String.valueOf(a.get(0));
      if (lib.startsWith("<") && !LIBRARIES.contains(lib)) {
        throw error(b, "%s is not modelled yet (the simulator has %s)", lib, String.join(", ", new java.util.TreeSet<>(LIBRARIES)));
      }
      return super.builtin(b, s);
    }
    List<Object> a = args(b.args(), s);
    switch (name) {
      case "@as":
        if (a.size() == 2 && a.get(0) instanceof TypeVal t && Scalar.of(t.name()) != null
            && (a.get(1) instanceof Num || a.get(1) instanceof Double
                || (a.get(1) instanceof Long && (pe.started || Scalar.of(t.name()).isFloat)))) {
          return new Num(Scalar.of(t.name()), number(a.get(1), b));
        }
        return super.builtin(b, s);
      case "@range":
        if (pe.started && !a.isEmpty() && a.get(0) instanceof TypeVal t && Scalar.of(t.name()) != null) {
          long start = a.size() > 2 ? (long) number(a.get(1), b) : 0;
          long stop = (long) number(a.get(a.size() > 2 ? 2 : 1), b);
          long step = a.size() > 3 ? (long) number(a.get(3), b) : 1;
          if (step <= 0) {
            throw error(b, "@range with step %d", step);
          }
          List<Object> l = new ArrayList<>();
          for (long i = start; i < stop; i += step) {
            l.add(new Num(Scalar.of(t.name()), i));
          }
          return l;
        }
        return super.builtin(b, s);
      case "@zeros":
      case "@constants":
        return filled(name, a, b);
      case "@increment_dsd_offset": {
        Dsd d = dsd(a, 0, b);
        return d.moved(toInt(a.size() > 1 ? a.get(1) : null, b));
      }
      case "@set_dsd_base_addr": {
        Dsd d = dsd(a, 0, b);
        if (!(a.size() > 1 && a.get(1) instanceof Ptr p)) {
          throw error(b, "@set_dsd_base_addr takes a DSD and a pointer");
        }
        return new Dsd(p.buffer(), p.offset(), d.length(), d.stride());
      }
      case "@set_dsd_length": {
        if (!a.isEmpty() && a.get(0) instanceof Op.Fab f) { // a fabric DSD's length is its extent
          int n = toInt(a.size() > 1 ? a.get(1) : null, b);
          checkLength(n, b);
          return new Op.Fab(f.in(), f.color(), f.queue(), n, f.control(), f.loc());
        }
        Dsd d = dsd(a, 0, b);
        return new Dsd(d.buffer(), d.offset(), toInt(a.size() > 1 ? a.get(1) : null, b), d.stride());
      }
      case "@set_dsd_stride": {
        Dsd d = dsd(a, 0, b);
        return new Dsd(d.buffer(), d.offset(), d.length(), toInt(a.size() > 1 ? a.get(1) : null, b));
      }
      case "@export_symbol":
        exportSymbol(b, a);
        return null;
      case "@comptime_assert":
      case "@assert":
        if (a.isEmpty() || !Boolean.TRUE.equals(a.get(0))) {
          throw error(b, "%s failed", name);
        }
        return null;
      case "@is_arch":
        return sim.arch().equals(a.isEmpty() ? null : a.get(0));
      case "@get_rectangle":
        return Map.of("width", (long) sim.layout().width(), "height", (long) sim.layout().height());
      case "@get_ut_id": {
        // WSE-3 exposes microthread IDs 0 to 7 apart from queues (csl-examples tutorials/topic-15-wse3-microthreads)
        if (!sim.arch().equals("wse3")) {
          throw error(b, "@get_ut_id is WSE-3's: on WSE-2 an async operation runs on its fabric queue's microthread");
        }
        int u = toInt(a.isEmpty() ? null : a.get(0), b);
        if (u < 0 || u > 7) {
          throw error(b, "@get_ut_id(%d): microthreads are numbered 0 to 7", u);
        }
        return new Pe.Ut(u);
      }
      case "@get_input_queue":
      case "@get_output_queue":
      case "@get_local_task_id":
      case "@get_control_task_id":
      case "@get_data_task_id":
        return ids(name, a, sim.arch(), loc(b));
      case "@bind_local_task":
      case "@bind_data_task":
      case "@bind_control_task": {
        if (a.size() != 2 || !(a.get(0) instanceof TaskVal tv) || !(a.get(1) instanceof Pe.TaskId id)) {
          throw error(b, "%s takes a task and a task ID", name);
        }
        Pe.TaskKind want = name.equals("@bind_local_task") ? Pe.TaskKind.LOCAL
            : name.equals("@bind_data_task") ? Pe.TaskKind.DATA : Pe.TaskKind.CONTROL;
        if (id.kind() != want) {
          throw error(b, "%s of %s: it needs a %s task ID", name, id, want.name().toLowerCase(java.util.Locale.ROOT));
        }
        Pe.Task t = new Pe.Task(id, tv);
        t.boundAt = loc(b);
        Pe.Task early = pe.unbound.remove(key(id));
        if (early != null) {
          t.active = early.active;
          t.blocked = early.blocked;
        }
        if (pe.tasks.putIfAbsent(key(id), t) != null) {
          throw error(b, "%s is bound twice", id);
        }
        return null;
      }
      case "@activate":
        activate(a.isEmpty() ? null : a.get(0), loc(b));
        return null;
      case "@block":
      case "@unblock":
        setBlocked(a.isEmpty() ? null : a.get(0), name.equals("@block"), loc(b));
        return null;
      case "@initialize_queue": {
        if (a.size() != 2 || !(a.get(0) instanceof Pe.Queue q) || !(a.get(1) instanceof Map<?, ?> cfg)
            || !(cfg.get("color") instanceof ColorVal c)) {
          throw error(b, "@initialize_queue takes a queue and .{ .color = c }");
        }
        Integer was = pe.queueColors.put(q, c.id());
        if (was != null && was != c.id()) {
          throw error(b, "%s queue %d is bound to colour %d and now to colour %d: a queue serves one colour",
              q.input() ? "input" : "output", q.id(), was, c.id());
        }
        return null;
      }
      case "@allocate_fifo":
        if (a.size() != 1 || !(a.get(0) instanceof Buffer buf) || buf.cell) {
          throw error(b, "@allocate_fifo takes an array");
        }
        return new Fifo(buf);
      case "@set_local_color_config": {
        if (a.size() != 2 || !(a.get(0) instanceof ColorVal c) || !(a.get(1) instanceof Map<?, ?> cfg)) {
          throw error(b, "@set_local_color_config takes a colour and a config");
        }
        sim.reserved(c.id(), loc(b));
        pe.localColors.put(c.id(), cfg);
        pe.localColorLocs.put(c.id(), loc(b));
        return null;
      }
      case "@bitcast": {
        if (a.size() == 2 && a.get(0) instanceof TypeVal tv && Scalar.of(tv.name()) != null && a.get(1) instanceof Long l
            && !Scalar.of(tv.name()).isFloat) { // a comptime integer takes the type's width
          return new Num(Scalar.of(tv.name()), Scalar.of(tv.name()).fromBits((int) (long) l));
        }
        if (a.size() != 2 || !(a.get(0) instanceof TypeVal tv) || Scalar.of(tv.name()) == null
            || !(a.get(1) instanceof Num n)) {
          throw error(b, "@bitcast takes a sized type and a number of a sized type");
        }
        Scalar to = Scalar.of(tv.name());
        if (to.bits != n.type().bits) {
          throw error(b, "@bitcast(%s, %s): the sizes differ", to.csl(), n.type().csl());
        }
        return new Num(to, to.fromBits(n.type().toBits(n.value())));
      }
      case "@map":
        map(a, b);
        return null;
      case "@rpc":
        // older memcpy: exported fns are launched through the data task of memcpy's LAUNCH colour;
        // the simulator's launch calls them directly, so the binding only has to name that task
        if (a.size() != 1 || !(a.get(0) instanceof Pe.TaskId id) || id.kind() != Pe.TaskKind.DATA
            || id.id() != LAUNCH.id()) {
          throw error(b, "@rpc takes @get_data_task_id(sys_mod.LAUNCH)");
        }
        return null;
      case "@load_to_dsr": {
        if (a.size() < 2 || !(a.get(0) instanceof Dsr r) || !(a.get(1) instanceof Dsd || a.get(1) instanceof Op.Fab)) {
          throw error(b, "@load_to_dsr takes a DSR and a DSD");
        }
        r.dsd = a.get(1);
        r.save = a.size() > 2 && a.get(2) instanceof Map<?, ?> o && Boolean.TRUE.equals(o.get("save_address"));
        r.ut = null;
        if (a.size() > 2 && a.get(2) instanceof Map<?, ?> o) {
          for (Map.Entry<?, ?> e : o.entrySet()) { // .async, .activate, .unblock: the operation says them too
            String k = String.valueOf(e.getKey());
            if (k.equals("ut_id") && e.getValue() instanceof Pe.Ut ut) {
              r.ut = ut.id();
            } else if (!k.matches("save_address|async|activate|unblock")) {
              throw error(b, "@load_to_dsr option .%s is not modelled yet", k);
            }
          }
        }
        return null;
      }
      case "@ptrcast": {
        if (a.size() != 2 || !(a.get(0) instanceof TypeVal tv) || !(a.get(1) instanceof Ptr p)) {
          throw error(b, "@ptrcast takes a pointer type and a pointer");
        }
        Scalar to = Scalar.of(tv.name().replaceAll("^\\[\\*\\](const )?|^\\*(const )?", ""));
        if (to == null || to.bits != p.buffer().type.bits) {
          throw error(b, "@ptrcast(%s, ...) of a pointer to %s: only to a pointer of another type of the same width "
              + "is modelled", tv.name(), p.buffer().type.csl());
        }
        return new Ptr(p.buffer().view(to), p.offset(), p.element());
      }
      case "@type_of":
        return new TypeVal(typeName(a.isEmpty() ? null : a.get(0)), 0);
      case "@is_same_type":
        if (a.size() != 2 || !(a.get(0) instanceof TypeVal x) || !(a.get(1) instanceof TypeVal y)) {
          throw error(b, "@is_same_type takes two types");
        }
        return x.name().equals(y.name());
      default:
        return name.matches("@f[a-z]+[sh]|@(mov|add)(16|32)") ? dsdOp(name, a, b) : super.builtin(b, s);
    }
  }

  private Object filled(String name, List<Object> a, ParserRuleContext at) {
    Object t = a.isEmpty() ? null : a.get(0);
    double v = name.equals("@constants") ? number(a.size() > 1 ? a.get(1) : null, at) : 0;
    if (t instanceof ArrayTypeVal arr && arr.elem() instanceof TypeVal e && Scalar.of(e.name()) != null) {
      Buffer buf = new Buffer(name, Scalar.of(e.name()), arr.dims().stream().mapToInt(Math::toIntExact).toArray(),
          false);
      buf.fill(v);
      return buf;
    }
    if (t instanceof TypeVal e && Scalar.of(e.name()) != null) {
      return new Num(Scalar.of(e.name()), v);
    }
    throw error(at, "%s of %s is not modelled yet", name, Comptime.describe(t));
  }

  private void exportSymbol(CslParser.BuiltinCallContext b, List<Object> a) {
    if (a.isEmpty()) {
      throw error(b, "@export_symbol takes a symbol and a name");
    }
    Object v = a.get(0);
    String name = a.size() > 1 ? String.valueOf(a.get(1)) : v instanceof FnVal f ? f.decl().ID().getText() : null;
    if (name == null) {
      throw error(b, "@export_symbol of %s needs a name", Comptime.describe(v));
    }
    boolean isConst = false;
    String declared = strip(b.args().expr(0)).getText();
    for (CslParser.TopDeclContext d : src.tree().topDecl()) {
      if (d.constDecl() != null && d.constDecl().ID().getText().equals(declared)) {
        isConst = true;
      }
    }
    if (pe.exports.put(name, new Pe.Export(name, v, isConst, loc(b))) != null) {
      throw error(b, "'%s' is exported twice", name);
    }
  }

  // ---- DSDs ----------------------------------------------------------------------------------------

  private Dsd dsd(List<Object> a, int i, ParserRuleContext at) {
    if (a.size() > i && a.get(i) instanceof Dsd d) {
      return d;
    }
    throw error(at, "argument %d is not a mem1d_dsd", i + 1);
  }

  private Object getDsd(CslParser.BuiltinCallContext b, Scope s) {
    List<CslParser.ExprContext> es = b.args() == null ? List.of() : b.args().expr();
    String kind = es.isEmpty() ? "?" : es.get(0).getText();
    if (!kind.equals("mem1d_dsd") && !kind.equals("fabin_dsd") && !kind.equals("fabout_dsd")) {
      throw error(b, "@get_dsd(%s, ...) is not modelled yet (the simulator has mem1d_dsd, fabin_dsd, fabout_dsd)", kind);
    }
    if (es.size() < 2 || !(eval(es.get(1), s) instanceof Map<?, ?> f)) {
      throw error(b, "@get_dsd(%s, .{ ... }) takes a struct of fields", kind);
    }
    if (!kind.equals("mem1d_dsd")) {
      return fabric(kind.equals("fabin_dsd"), f, b);
    }
    if (f.get("tensor_access") instanceof Access acc) {
      return fromAccess(acc, b);
    }
    if (!(f.get("base_address") instanceof Ptr p)) {
      throw error(b, "a mem1d_dsd needs .tensor_access or .base_address = &array");
    }
    int extent = toInt(f.get("extent"), b);
    int offset = f.containsKey("offset") ? toInt(f.get("offset"), b) : 0;
    int stride = f.containsKey("stride") ? toInt(f.get("stride"), b) : 1;
    checkLength(extent, b);
    checkStride(stride, b);
    return new Dsd(p.buffer(), p.offset() + offset, extent, stride);
  }

  /** {@code |i|{n} -> A[f(i)]} with f affine: A, f(0), n and f(1) - f(0), f checked at 2 and n - 1. */
  private Dsd fromAccess(Access acc, ParserRuleContext at) {
    CslParser.TensorAccessContext t = acc.ctx();
    if (t.ID().size() != 1) {
      throw error(t, "a %d-dimensional tensor access (mem4d_dsd) is not modelled yet", t.ID().size());
    }
    List<CslParser.ExprContext> es = t.expr();
    int extent = toInt(eval(es.get(0), acc.scope()), es.get(0));
    CslParser.ExprContext target = strip(es.get(es.size() - 1));
    if (!(target instanceof CslParser.PostfixExprContext p && p.postfix() instanceof CslParser.IndexContext ix
        && eval(p.expr(), acc.scope()) instanceof Buffer base)) {
      throw error(target, "a tensor access reads an array element, A[f(i)]");
    }
    String var = t.ID(0).getText();
    java.util.function.IntUnaryOperator f = i -> {
      Scope c = new Scope(acc.scope());
      c.define(var, (long) i);
      int[] idx = new int[ix.expr().size()];
      for (int k = 0; k < idx.length; k++) {
        idx[k] = toInt(eval(ix.expr(k), c), ix.expr(k));
      }
      int el = base.index(idx);
      if (el < 0) {
        throw error(ix, "the tensor access reaches %s, outside '%s'", java.util.Arrays.toString(idx), base.name);
      }
      return el;
    };
    int o = f.applyAsInt(0);
    int stride = extent > 1 ? f.applyAsInt(1) - o : 1;
    for (int i : new int[] {2, extent - 1}) {
      if (i > 1 && i < extent && f.applyAsInt(i) != o + i * stride) {
        throw error(ix, "the tensor access is not affine in %s: a mem1d_dsd cannot walk it", var);
      }
    }
    checkLength(extent, t);
    checkStride(stride, t);
    return new Dsd(base, o, extent, stride);
  }

  /** A {@code fabin_dsd} or {@code fabout_dsd} from its fields. */
  private Op.Fab fabric(boolean in, Map<?, ?> f, ParserRuleContext at) {
    for (Object key : f.keySet()) {
      // .simd_mode sets how many words a cycle the DSD moves, not what arrives: values are modelled as sent
      if (!String.valueOf(key).matches("extent|fabric_color|input_queue|output_queue|control|simd_mode")) {
        throw error(at, "%s field .%s is not modelled yet", in ? "fabin_dsd" : "fabout_dsd", key);
      }
    }
    if (f.get("fabric_color") == null) { // void, as an unset param is: an error only where an operation uses it
      return new Op.Fab(in, -1, -1, 0, false, loc(at));
    }
    if (!(f.get("fabric_color") instanceof ColorVal c)) {
      throw error(at, "a %s needs .fabric_color", in ? "fabin_dsd" : "fabout_dsd");
    }
    sim.reserved(c.id(), loc(at));
    String qf = in ? "input_queue" : "output_queue";
    Pe.Queue q;
    if (f.get(qf) == null && sim.arch().equals("wse2")) {
      // WSE-2 lets the compiler pick the queue: one of its own, apart from the program's 0-7
      q = new Pe.Queue(in, 8 + pe.anonymousQueues++);
    } else if (f.get(qf) instanceof Pe.Queue given && given.input() == in) {
      q = given;
    } else {
      throw error(at, "a %s needs .%s = @get_%s(n)", in ? "fabin_dsd" : "fabout_dsd", qf, qf);
    }
    int extent = toInt(f.get("extent"), at);
    checkLength(extent, at);
    Integer bound = pe.queueColors.get(q);
    if (bound != null && bound != c.id()) {
      throw error(at, "%s queue %d is initialized for colour %d, but this DSD uses colour %d", in ? "input" : "output",
          q.id(), bound, c.id());
    }
    return new Op.Fab(in, c.id(), q.id(), extent, Boolean.TRUE.equals(f.get("control")), loc(at));
  }

  /**
   * DSD fields the hardware holds in fixed widths: a length in 16 bits, a stride in a signed byte.
   * (SDK documentation, "Data Structure Descriptors": extent is a u16, stride an i8 in words.)
   */
  private void checkLength(int extent, ParserRuleContext at) {
    if (extent < 0 || extent > 0xffff) {
      throw error(at, "a DSD's length is 16 bits (0 to 65535), not %d", extent);
    }
  }

  private void checkStride(int stride, ParserRuleContext at) {
    if (stride < -128 || stride > 127) {
      throw error(at, "a DSD's stride is a signed byte (-128 to 127), not %d", stride);
    }
  }

  /**
   * The DSD operations: {@code @fmacs(dst, a, b, c)}: dst = a + b·c; {@code @fadds}, {@code @fsubs},
   * {@code @fmuls}, {@code @fmaxs} (dst, a, b); {@code @fmovs}, {@code @fnegs} (dst, a); the h forms on
   * f16; {@code @mov16}, {@code @mov32} and {@code @add16} on raw 16- and 32-bit words. Operands are
   * memory DSDs, fabric DSDs, FIFOs or scalars; a trailing {@code .{ .async, .activate, .unblock }}
   * runs it on a microthread. The multiply of fmac is rounded before the add (not fused).
   */
  private Object dsdOp(String name, List<Object> a, CslParser.BuiltinCallContext at) {
    Map<?, ?> opts = !a.isEmpty() && a.get(a.size() - 1) instanceof Map<?, ?> m ? m : null;
    List<Object> ops = new ArrayList<>(opts == null ? a : a.subList(0, a.size() - 1));
    List<Dsr> saved = new ArrayList<>();
    Integer[] utOf = new Integer[ops.size()]; // a DSR loaded with .ut_id runs its operations on that microthread
    for (int i = 0; i < ops.size(); i++) {
      if (ops.get(i) instanceof Dsr r) {
        utOf[i] = r.ut;
        if (r.dsd == null) {
          throw error(at, "%s: DSR %s was never loaded (@load_to_dsr)", name, r.name);
        }
        ops.set(i, r.dsd);
        if (r.save) {
          saved.add(r);
        }
      }
    }
    Op.Kind kind;
    Scalar t;
    if (name.matches("@f[a-z]+[sh]")) {
      t = name.endsWith("h") ? Scalar.F16 : Scalar.F32;
      kind = switch (name.substring(2, name.length() - 1)) {
        case "mov" -> Op.Kind.MOV;
        case "neg" -> Op.Kind.NEG;
        case "add" -> Op.Kind.ADD;
        case "sub" -> Op.Kind.SUB;
        case "mul" -> Op.Kind.MUL;
        case "max" -> Op.Kind.MAX;
        default -> Op.Kind.MAC;
      };
    } else {
      int bits = name.endsWith("32") ? 32 : 16;
      kind = name.startsWith("@add") ? Op.Kind.ADD : Op.Kind.MOV;
      t = bits == 32 ? Scalar.U32 : Scalar.U16;
      for (Object o : ops) { // raw words: the memory operand's own type reads and writes them
        if (o instanceof Dsd d && d.buffer().type.bits == bits && d.buffer().type != Scalar.BOOL) {
          t = d.buffer().type;
        }
      }
    }
    if (ops.size() != kind.arity) {
      throw error(at, "%s takes %d operands, not %d", name, kind.arity, ops.size());
    }
    Object dst = ops.get(0);
    if (dst instanceof Ptr p && opts == null) {
      return reduce(name, kind, t, p, ops, at);
    }
    if (!(dst instanceof Dsd || dst instanceof Op.Fab f && !f.in() || dst instanceof Fifo)) {
      throw error(at, "%s's destination is a mem1d_dsd, a fabout_dsd or a FIFO, not %s", name, Comptime.describe(dst));
    }
    // the operation's length: the shortest of its memory DSDs (it ends when one runs out); with no
    // memory DSD, the shortest fabric extent. (csl-examples: cholesky writes a row shorter than its
    // source column; topic-13 sends a 5-element array through a fabout_dsd of extent 1; WaferLLM's
    // prefill adds half-length temporaries into full-length rows.)
    int n = -1;
    for (Object o : ops) {
      if (o instanceof Dsd d) {
        n = n < 0 ? d.length() : Math.min(n, d.length());
      }
    }
    for (Object o : n < 0 ? ops : List.of()) {
      if (o instanceof Op.Fab f) {
        n = n < 0 ? f.extent() : Math.min(n, f.extent());
      }
    }
    if (n < 0) {
      throw error(at, "%s needs a DSD to take its length from", name);
    }
    List<Object> operands = new ArrayList<>();
    List<Integer> threads = new ArrayList<>();
    for (int i = 0; i < ops.size(); i++) {
      Object o = ops.get(i);
      if (o instanceof Dsd d) {
        if (name.startsWith("@f") && kind != Op.Kind.MOV && d.buffer().type != t) { // a move moves words
          throw error(at, "%s works on %s; a DSD here walks '%s', an array of %s", name, t.csl(), d.buffer().name,
              d.buffer().type.csl());
        }
        if (d.buffer().type.bits < t.bits) {
          throw error(at, "%s moves %d-bit words; a DSD here walks '%s', an array of %s", name, t.bits,
              d.buffer().name, d.buffer().type.csl());
        }
        checkStride(d.stride(), at);
        for (int k : new int[] {0, n - 1}) {
          if (n > 0 && (d.at(k) < 0 || d.at(k) >= d.buffer().length())) {
            throw error(at, "%s: the DSD over '%s' reaches element %d, outside its %d", name, d.buffer().name,
                d.at(k), d.buffer().length());
          }
        }
      } else if (o instanceof Op.Fab f) {
        if (f.color() < 0) {
          throw error(at, "%s: the %s defined at %s has no .fabric_color (void)", name, f.in() ? "fabin_dsd" : "fabout_dsd",
              f.loc());
        }
        if (i > 0 && !f.in()) {
          throw error(at, "%s: a fabout_dsd is only a destination", name);
        }
        threads.add(utOf[i] != null ? utOf[i] : f.queue()); // its extent counts only where no memory DSD is
        if (sim.arch().equals("wse3") && !pe.queueColors.containsKey(new Pe.Queue(f.in(), f.queue()))) {
          throw error(at, "%s: on WSE-3 %s queue %d needs @initialize_queue(q, .{ .color = ... }) before an operation "
              + "uses it (the DSD at %s)", name, f.in() ? "input" : "output", f.queue(), f.loc());
        }
      } else if (o instanceof Num || o instanceof Number) {
        if (i == 0) {
          throw error(at, "%s's destination cannot be a number", name);
        }
        o = t.round(number(o, at));
      } else if (!(o instanceof Fifo)) {
        throw error(at, "%s: an operand that is %s is not modelled yet", name, Comptime.describe(o));
      }

      operands.add(o);
    }
    boolean async = false;
    Object activate = null;
    Object unblock = null;
    if (opts != null) {
      for (Map.Entry<?, ?> e : opts.entrySet()) {
        switch (String.valueOf(e.getKey())) {
          case "async" -> async = Boolean.TRUE.equals(e.getValue());
          case "activate" -> activate = taskId(e.getValue(), at);
          case "unblock" -> unblock = taskId(e.getValue(), at);
          case "ut_id" -> {
            if (!(e.getValue() instanceof Pe.Ut ut)) {
              throw error(at, "%s: .ut_id takes @get_ut_id(n)", name);
            }
            threads.clear(); // WSE-3: the operation runs on the microthread named, whatever its queues
            threads.add(ut.id());
          }
          default -> throw error(at, "%s option .%s is not modelled yet", name, e.getKey());
        }
      }
      if (!async && (activate != null || unblock != null)) {
        throw error(at, "%s: .activate and .unblock take effect when an .async operation ends; add .async = true", name);
      }
    }
    if (!async) {
      threads.clear();
    } else if (threads.isEmpty()) {
      threads.add(-1); // memory and FIFOs only: the microthread is not a queue's
    }
    sim.start(new Op(name, kind, t, List.copyOf(operands), n, pe, loc(at), activate, unblock, List.copyOf(threads),
        async));
    for (Dsr r : saved) { // .save_address: the DSR keeps the address the operation ended at
      if (r.dsd instanceof Dsd d) {
        r.dsd = d.moved(n * d.stride());
      }
    }
    return null;
  }

  /**
   * An operation into a scalar ({@code @faddh(&sum, sum, x_dsd)}): a reduction. The scalar source is
   * where it starts; each element of the DSD operands (memory ones) folds into it, rounded to the
   * type at each step; the result is stored where the destination points.
   */
  private Object reduce(String name, Op.Kind kind, Scalar t, Ptr to, List<Object> ops, ParserRuleContext at) {
    if (!(kind == Op.Kind.ADD || kind == Op.Kind.SUB || kind == Op.Kind.MAX || kind == Op.Kind.MAC)) {
      throw error(at, "%s into a scalar is not modelled yet (the simulator reduces with add, sub, max, mac)", name);
    }
    if (!(ops.get(1) instanceof Num || ops.get(1) instanceof Number)) {
      throw error(at, "%s into a scalar starts from a scalar (its second operand), not %s", name,
          Comptime.describe(ops.get(1)));
    }
    int n = -1;
    for (Object o : ops.subList(2, ops.size())) {
      if (o instanceof Dsd d) {
        n = n < 0 ? d.length() : Math.min(n, d.length());
      } else if (!(o instanceof Num || o instanceof Number)) {
        throw error(at, "%s into a scalar reads memory DSDs and scalars, not %s", name, Comptime.describe(o));
      }
    }
    if (n < 0) {
      throw error(at, "%s into a scalar needs a DSD to fold", name);
    }
    double acc = t.round(number(ops.get(1), at));
    for (int k = 0; k < n; k++) {
      double[] v = new double[ops.size()];
      for (int i = 2; i < ops.size(); i++) {
        Object o = ops.get(i);
        v[i] = o instanceof Dsd d ? d.buffer().load(checked(new Ptr(d.buffer(), d.at(k)), at).offset())
            : t.round(number(o, at));
      }
      v[1] = acc;
      acc = t.round(kind.apply(t, v));
    }
    checked(to, at).buffer().store(to.offset(), acc);
    pe.cycles += n;
    return null;
  }

  /**
   * {@code @map(fn, in..., out)}: fn of each element of the input DSDs (scalars and pointers passed
   * as they are) written to the output DSD, or to the element an output pointer names.
   */
  private void map(List<Object> a, ParserRuleContext at) {
    if (a.size() < 2) {
      throw error(at, "@map takes a fn, its inputs and an output");
    }
    a = new ArrayList<>(a);
    for (int i = 1; i < a.size(); i++) {
      a.set(i, a.get(i) instanceof Dsr r ? r.dsd : a.get(i));
    }
    Object fn = a.get(0);
    // a fn that returns void is called for its effect: every argument is an input
    boolean effect = fn instanceof FnVal f && f.decl().ret.getText().equals("void");
    Object out = effect ? null : a.get(a.size() - 1);
    List<Object> ins = a.subList(1, effect ? a.size() : a.size() - 1);
    int n = -1;
    for (Object o : a.subList(1, a.size())) {
      if (o instanceof Dsd d) {
        if (n >= 0 && d.length() != n) {
          throw error(at, "@map: one DSD has %d elements, another %d", n, d.length());
        }
        n = d.length();
      }
    }
    if (n < 0) {
      throw error(at, "@map needs a DSD to walk");
    }
    for (int k = 0; k < n; k++) {
      List<Object> args = new ArrayList<>();
      for (Object o : ins) {
        args.add(o instanceof Dsd d ? element(new Ptr(d.buffer(), d.at(k)), at) : o);
      }
      Object r = fn instanceof FnVal f ? call(f, args, at)
          : fn instanceof LibFn l ? moduleCall(new ModuleVal(l.module(), Map.of()), l.name(), args, at)
          : null;
      pe.cycles++;
      if (effect) {
        continue;
      }
      if (r == null) {
        throw error(at, "@map's first argument is a fn that returns a value, not %s", Comptime.describe(fn));
      }
      Ptr to = out instanceof Dsd d ? new Ptr(d.buffer(), d.at(k)) : out instanceof Ptr p ? p : null;
      if (to == null) {
        throw error(at, "@map's output is a DSD or a pointer, not %s", Comptime.describe(out));
      }
      checked(to, at).buffer().store(to.offset(), number(r, at));
    }
  }


  /** Calls exported fn {@code f} with the host's arguments (launch). */
  void invoke(FnVal f, List<Object> args) {
    int want = f.decl().params() == null ? 0 : f.decl().params().fnParam().size();
    if (want != args.size()) {
      throw error(f.decl(), "%s takes %d arguments; launch gave %d", f.decl().ID().getText(), want, args.size());
    }
    call(f, args, f.decl());
  }
}
