package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.CslSource;
import dev.meshc.grammar.CslParser;
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
      "@fnegs", "@fnegh", "@fmaxs", "@fmaxh");

  /** Libraries a PE program may import: memcpy's copy mode and launch. */
  static final Set<String> LIBRARIES = Set.of("<memcpy/memcpy>");

  private final Pe pe;
  private final CslSource src;
  private final Simulator sim;
  /** True while a launched fn runs: @range then yields numbers of its type, not comptime integers. */
  boolean running;

  PeInterp(CslSource src, Pe pe, Simulator sim, long budget) {
    super(src.name(), null, budget, Modules.files(dev.meshc.ir.Limits.DEFAULTS));
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
      long n = 1;
      for (long dim : a.dims()) {
        n *= dim;
      }
      Buffer b = new Buffer(name, t, Math.toIntExact(n), false);
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
    return b;
  }

  // ---- statements ----------------------------------------------------------------------------------

  @Override
  protected void exec(CslParser.StmtContext st, Scope s) {
    pe.cycles++;
    if (st instanceof CslParser.VarStmtContext v) {
      CslParser.VarDeclContext d = v.varDecl();
      Object type = d.type == null ? null : eval(d.type, s);
      s.define(d.ID().getText(), allocate(d.ID().getText(), type, d.value == null ? null : eval(d.value, s), d));
      return;
    }
    if (st instanceof CslParser.ConstStmtContext c && c.constDecl().type != null) {
      Object type = eval(c.constDecl().type, s);
      Object v = eval(c.constDecl().value, s);
      Scalar t = type instanceof TypeVal tv ? Scalar.of(tv.name()) : null;
      s.define(c.constDecl().ID().getText(), t != null && (running || v instanceof Num) ? new Num(t, number(v, c)) : v);
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
    if (ix.expr().size() != 1) {
      throw error(ix, "indexing with %d indices is not modelled yet", ix.expr().size());
    }
    int i = toInt(eval(ix.expr(0), s), ix.expr(0));
    Ptr p = base instanceof Buffer b ? new Ptr(b, i) : base instanceof Ptr q ? new Ptr(q.buffer(), q.offset() + i) : null;
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
      if (ptr.buffer().cell) {
        return element(ptr, p);
      }
      if (ptr.offset() != 0) {
        throw error(p, "dereferencing a pointer into the middle of '%s' is not modelled yet", ptr.buffer().name);
      }
      return ptr.buffer();
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
    if (m.name().equals("<memcpy/memcpy>") && fn.equals("unblock_cmd_stream")) {
      pe.cmdStreamUnblocked = true;
      return null;
    }
    throw error(at, "%s's %s is not modelled yet", m.name(), fn);
  }

  @Override
  protected Comptime imported(String name) {
    throw new IllegalStateException("unreachable: PE programs importing CSL files are refused at load");
  }

  // ---- builtins ------------------------------------------------------------------------------------

  @Override
  protected Object builtin(CslParser.BuiltinCallContext b, Scope s) {
    String name = b.BUILTIN().getText();
    if (!BUILTINS.contains(name)) {
      throw error(b, "%s is not modelled yet", name);
    }
    if (name.equals("@get_dsd")) {
      return getDsd(b, s);
    }
    if (name.equals("@import_module")) {
      List<Object> a = args(b.args(), s);
      String lib = a.isEmpty() ? "?" : String.valueOf(a.get(0));
      if (!LIBRARIES.contains(lib)) {
        throw error(b, "%s %s", lib, lib.startsWith("<") ? "is not modelled yet (the simulator has <memcpy/memcpy>)"
            : "is a CSL file: importing files from a PE program is not modelled yet");
      }
      return super.builtin(b, s);
    }
    List<Object> a = args(b.args(), s);
    switch (name) {
      case "@as":
        if (a.size() == 2 && a.get(0) instanceof TypeVal t && Scalar.of(t.name()) != null
            && (a.get(1) instanceof Num || a.get(1) instanceof Double
                || (a.get(1) instanceof Long && (running || Scalar.of(t.name()).isFloat)))) {
          return new Num(Scalar.of(t.name()), number(a.get(1), b));
        }
        return super.builtin(b, s);
      case "@range":
        if (running && !a.isEmpty() && a.get(0) instanceof TypeVal t && Scalar.of(t.name()) != null) {
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
      default:
        return dsdOp(name, a, b);
    }
  }

  private Object filled(String name, List<Object> a, ParserRuleContext at) {
    Object t = a.isEmpty() ? null : a.get(0);
    double v = name.equals("@constants") ? number(a.size() > 1 ? a.get(1) : null, at) : 0;
    if (t instanceof ArrayTypeVal arr && arr.elem() instanceof TypeVal e && Scalar.of(e.name()) != null) {
      long n = 1;
      for (long d : arr.dims()) {
        n *= d;
      }
      Buffer buf = new Buffer(name, Scalar.of(e.name()), Math.toIntExact(n), false);
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
    if (!kind.equals("mem1d_dsd")) {
      throw error(b, "@get_dsd(%s, ...) is not modelled yet (the simulator has mem1d_dsd)", kind);
    }
    if (es.size() < 2 || !(eval(es.get(1), s) instanceof Map<?, ?> f)) {
      throw error(b, "@get_dsd(mem1d_dsd, .{ ... }) takes a struct of fields");
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
        && ix.expr().size() == 1 && eval(p.expr(), acc.scope()) instanceof Buffer base)) {
      throw error(target, "a tensor access reads an array element, A[f(i)]");
    }
    String var = t.ID(0).getText();
    java.util.function.IntUnaryOperator f = i -> {
      Scope c = new Scope(acc.scope());
      c.define(var, (long) i);
      return toInt(eval(ix.expr(0), c), ix.expr(0));
    };
    int o = f.applyAsInt(0);
    int stride = extent > 1 ? f.applyAsInt(1) - o : 1;
    for (int i : new int[] {2, extent - 1}) {
      if (i > 1 && i < extent && f.applyAsInt(i) != o + i * stride) {
        throw error(ix, "the tensor access is not affine in %s: a mem1d_dsd cannot walk it", var);
      }
    }
    return new Dsd(base, o, extent, stride);
  }

  /**
   * {@code @fmacs(dst, a, b, c)}: dst = a + b·c; {@code @fadds}, {@code @fsubs}, {@code @fmuls},
   * {@code @fmaxs} (dst, a, b); {@code @fmovs}, {@code @fnegs} (dst, a); the h forms on f16. Operands
   * are DSDs of the op's type or scalars; the multiply is rounded before the add (not fused).
   */
  private Object dsdOp(String name, List<Object> a, CslParser.BuiltinCallContext at) {
    if (!a.isEmpty() && a.get(a.size() - 1) instanceof Map<?, ?>) {
      throw error(at, "%s with options (.async, .activate, .unblock) is not modelled yet", name);
    }
    Scalar t = name.endsWith("h") ? Scalar.F16 : Scalar.F32;
    String op = name.substring(2, name.length() - 1);
    int arity = switch (op) {
      case "mov", "neg" -> 2;
      case "mac" -> 4;
      default -> 3;
    };
    if (a.size() != arity) {
      throw error(at, "%s takes %d operands, not %d", name, arity, a.size());
    }
    if (!(a.get(0) instanceof Dsd dst)) {
      throw error(at, "%s with a destination other than a mem1d_dsd is not modelled yet", name);
    }
    int n = dst.length();
    for (Object o : a) {
      if (o instanceof Dsd d) {
        if (d.buffer().type != t) {
          throw error(at, "%s works on %s; a DSD here walks '%s', an array of %s", name, t.csl(), d.buffer().name,
              d.buffer().type.csl());
        }
        if (d.length() != n) {
          throw error(at, "%s: the destination has %d elements, an operand %d", name, n, d.length());
        }
        for (int k : new int[] {0, n - 1}) {
          if (n > 0 && (d.at(k) < 0 || d.at(k) >= d.buffer().length())) {
            throw error(at, "%s: the DSD over '%s' reaches element %d, outside its %d", name, d.buffer().name,
                d.at(k), d.buffer().length());
          }
        }
      } else if (!(o instanceof Num || o instanceof Number)) {
        throw error(at, "%s: an operand that is %s is not modelled yet", name, Comptime.describe(o));
      }
    }
    for (int k = 0; k < n; k++) {
      double x = operand(a, 1, k, t, at);
      double r = switch (op) {
        case "mov" -> x;
        case "neg" -> -x;
        case "add" -> x + operand(a, 2, k, t, at);
        case "sub" -> x - operand(a, 2, k, t, at);
        case "mul" -> x * operand(a, 2, k, t, at);
        case "max" -> Math.max(x, operand(a, 2, k, t, at));
        default -> x + t.round(operand(a, 2, k, t, at) * operand(a, 3, k, t, at));
      };
      dst.buffer().store(dst.at(k), r);
    }
    pe.cycles += n; // one element per cycle: MachineSpec's link moves one 32-bit wavelet a cycle too
    return null;
  }

  private double operand(List<Object> a, int i, int k, Scalar t, ParserRuleContext at) {
    Object o = a.get(i);
    return o instanceof Dsd d ? d.buffer().load(d.at(k)) : t.round(number(o, at));
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
