package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Dir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CSL forms Zig lends (braceless if bodies, optional-else if expressions, {@code {}}, export,
 * align, task types, const pointers, valued enum members), each parsed to the intended tree and,
 * where the comptime evaluator runs it, evaluated to the intended value; and imported CSL files
 * evaluated as modules.
 */
class CslZigFormsTest {
  @TempDir
  Path dir;

  private static String stmtShape(String stmt) {
    CslParser.FileContext tree = CslSource.parse("stmt.csl", "fn f() void { " + stmt + " }").tree();
    assertEquals(1, tree.topDecl(0).fnDecl().block().stmt().size(), "one statement: " + stmt);
    return CslGrammarTest.shape(tree.topDecl(0).fnDecl().block().stmt(0));
  }

  private static String exprShape(String expr) {
    return CslGrammarTest.shape(CslSource.parse("expr.csl", "const v = " + expr + ";").tree().topDecl(0).constDecl().value);
  }

  static Stream<Arguments> statements() {
    String f = "PostfixExpr(PrimaryExpr(Name),Call)";
    return Stream.of(
        // a braceless body ends in ';'
        Arguments.of("if (a) f();", "IfStmt(PrimaryExpr(Name),BareStmt(" + f + "))"),
        // a braceless assignment, its else an ordinary statement
        Arguments.of("if (a) n = 0 else n += 1;",
            "IfStmt(PrimaryExpr(Name),BareStmt(Assign(PrimaryExpr(Name),PrimaryExpr(IntLit))),"
                + "AssignStmt(Assign(PrimaryExpr(Name),PrimaryExpr(IntLit))))"),
        // braceless else-if: each else belongs to the if just before it, the last is the inner if's
        Arguments.of("if (a) f() else if (b) f() else f();",
            "IfStmt(PrimaryExpr(Name),BareStmt(" + f + "),IfStmt(PrimaryExpr(Name),BareStmt(" + f + "),"
                + "ExprStmt(" + f + ")))"),
        // an if guarding a builtin call
        Arguments.of("if (@get_int(c) != 15) @initialize_queue(q, .{ .color = c });",
            "IfStmt(CmpExpr(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name)))),PrimaryExpr(IntLit)),"
                + "BareStmt(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name),PrimaryExpr(StructLit(FieldInit("
                + "PrimaryExpr(Name)))))))))"),
        // braces and no braces mixed in one chain
        Arguments.of("if (a) { } else if (b) f();",
            "IfStmt(PrimaryExpr(Name),Block,IfStmt(PrimaryExpr(Name),BareStmt(" + f + ")))"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("statements")
  void braceless(String stmt, String shape) {
    assertEquals(shape, stmtShape(stmt));
  }

  static Stream<Arguments> expressions() {
    return Stream.of(
        // the else is optional, and a chain nests to the right
        Arguments.of("if (a) b else if (c) d",
            "IfExpr(PrimaryExpr(Name),PrimaryExpr(Name),IfExpr(PrimaryExpr(Name),PrimaryExpr(Name)))"),
        // the else branch takes the whole sum
        Arguments.of("if (a) b else c + 1",
            "IfExpr(PrimaryExpr(Name),PrimaryExpr(Name),AddExpr(PrimaryExpr(Name),PrimaryExpr(IntLit)))"),
        // {} is an argument like any other
        Arguments.of("g(1, {}, 2)",
            "PostfixExpr(PrimaryExpr(Name),Call(Args(PrimaryExpr(IntLit),PrimaryExpr(VoidLit),PrimaryExpr(IntLit))))"),
        Arguments.of("task () void", "PrimaryExpr(TypeLit(FnType(PrimaryExpr(Name))))"),
        Arguments.of("*const [4]f32",
            "UnaryExpr(PrimaryExpr(TypeLit(ArrayTypeExpr(ArrayType(PrimaryExpr(IntLit),Name)))))"),
        Arguments.of("[*]const f16", "PrimaryExpr(TypeLit(ManyPtrType(PrimaryExpr(Name))))"),
        Arguments.of("enum(u8) { idle = 0, busy = 2, done }",
            "PrimaryExpr(TypeLit(EnumType(PrimaryExpr(Name),EnumMember(PrimaryExpr(IntLit)),"
                + "EnumMember(PrimaryExpr(IntLit)),EnumMember)))"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("expressions")
  void zigExpression(String expr, String shape) {
    assertEquals(shape, exprShape(expr));
  }

  @Test
  void exportAndAlignOnDeclarations() {
    CslParser.FileContext t = CslSource.parse("decl.csl", "export var b: [8]f16 align(16) = @zeros([8]f16);\n"
        + "export const k: u16 = 3;\nexport fn g() void { }\nfn align() void { }\n").tree();
    assertEquals("b", t.topDecl(0).varDecl().ID().getText());
    assertEquals("16", t.topDecl(0).varDecl().byteAlign().expr().getText());
    assertEquals("k", t.topDecl(1).constDecl().ID().getText());
    assertEquals("g", t.topDecl(2).fnDecl().ID().getText());
    assertEquals("align", t.topDecl(3).fnDecl().ID().getText()); // a name outside a declaration's tail
    // the aligned array still counts its bytes
    Comptime ct = new Comptime("decl.csl", null, 1000);
    Object type = ct.varType(t.topDecl(0).varDecl(), ct.fileScope(t, Map.of()));
    assertEquals(16, ((Comptime.ArrayTypeVal) type).bytes());
  }

  @Test
  void alignNeedsItsParenthesis() {
    MeshcException e = assertThrows(MeshcException.class,
        () -> CslSource.parse("bad_align.csl", "var b: [8]f16 align = 1;\n"));
    assertTrue(e.getMessage().startsWith("bad_align.csl:1:"), e.getMessage());
  }

  private Object value(String src, Map<String, Object> params, String name) {
    Comptime ct = new Comptime("v.csl", null, 10_000);
    return ct.value(ct.fileScope(CslSource.parse("v.csl", src).tree(), params), name);
  }

  @Test
  void ifExpressionWithoutElseIsVoidWhenItFails() {
    String src = "param w: i16;\nconst lane = if (w > 8) 2 else if (w > 4) 1;\n";
    assertEquals(2L, value(src, Map.of("w", 9L), "lane"));
    assertEquals(1L, value(src, Map.of("w", 5L), "lane"));
    assertNull(value(src, Map.of("w", 1L), "lane"));
  }

  @Test
  void structLiteralFieldsAndVoid() {
    String src = "const r = .{ .rx = .{ WEST }, .tx = .{ RAMP, EAST }, .opt = {}, .inner = .{ .n = 3 } };\n"
        + "const n = r.inner.n;\n";
    @SuppressWarnings("unchecked")
    Map<String, Object> r = (Map<String, Object>) value(src, Map.of(), "r");
    assertEquals(List.of("rx", "tx", "opt", "inner"), List.copyOf(r.keySet()));
    assertEquals(List.of(Dir.WEST), r.get("rx"));
    assertEquals(List.of(Dir.RAMP, Dir.EAST), r.get("tx"));
    assertNull(r.get("opt"));
    assertEquals(3L, value(src, Map.of(), "n"));
  }

  /** A layout whose braceless if/else-if chain picks each PE's program: each else goes with its own if. */
  @Test
  void bracelessElseIfChoosesTheRightBranch() {
    String src = """
        param mid: i16;
        layout {
          @set_rectangle(4, 1);
          var x: i16 = 0;
          while (x < 4) : (x += 1) {
            if (x == 0) @set_tile_code(x, 0, "first.csl", .{})
            else if (x == mid) @set_tile_code(x, 0, "mid.csl", .{})
            else @set_tile_code(x, 0, "rest.csl", .{});
            if (x == 3) @set_color_config(x, 0, @get_color(1), .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } });
          }
        }
        """;
    Layout l = Layout.evaluate(CslSource.parse("chain.csl", src), Map.of("mid", 2L), 100_000);
    assertEquals(List.of("first.csl", "rest.csl", "mid.csl", "rest.csl"),
        l.tiles().values().stream().map(Layout.Tile::file).toList());
    assertEquals(1, l.routes().size());
    assertEquals(3, l.routes().get(0).x());
  }

  @Test
  void asConvertsAndMathFloors() {
    String src = "const math = @import_module(\"<math>\");\nconst dirs = @import_module(\"<directions>\");\n"
        + "const q: i16 = @as(i16, math.floor_f16(@as(f16, 7) / @as(f16, 2)));\n"
        + "const back = dirs.flip(EAST);\nconst bad = @as(i16, 2.5);\n";
    assertEquals(3L, value(src, Map.of(), "q"));
    assertEquals(Dir.WEST, value(src, Map.of(), "back"));
    MeshcException e = assertThrows(MeshcException.class, () -> value(src, Map.of(), "bad"));
    assertEquals("v.csl:5:13: @as(i16, 2.5) would lose the fraction", e.getMessage());
  }

  private Path write(String name, String text) throws Exception {
    Path f = dir.resolve(name);
    Files.createDirectories(f.getParent());
    Files.writeString(f, text);
    return f;
  }

  /** An imported file's fn sets routes; they reach the layout, located in that file. */
  @Test
  void importedFileRunsAsAModule() throws Exception {
    Path lib = write("lib/ring.csl", """
        param n: i16;
        param c: color;
        const last: i16 = n - 1;
        fn wire(x: i16) void {
          if (x == 0) @set_color_config(x, 0, c, .{ .routes = .{ .rx = .{ RAMP }, .tx = .{ EAST } } })
          else if (x == last) @set_color_config(x, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ RAMP } } })
          else @set_color_config(x, 0, c, .{ .routes = .{ .rx = .{ WEST }, .tx = .{ EAST } } });
        }
        """);
    Path layout = write("layout.csl", """
        param n: i16;
        const ring = @import_module("lib/ring.csl", .{ .n = n, .c = @get_color(4) });
        layout {
          @set_rectangle(n, 1);
          for (@range(i16, n)) |x| {
            @set_tile_code(x, 0, "pe.csl", .{ .last = ring.last });
            ring.wire(x);
          }
        }
        """);
    Layout l = Layout.evaluate(CslSource.read(layout), Map.of("n", 3L), 100_000);
    assertEquals(3, l.routes().size());
    assertEquals(Set.of(Dir.RAMP), l.routes().get(0).rx());
    assertEquals(Set.of(Dir.EAST), l.routes().get(1).tx());
    assertEquals(Set.of(Dir.RAMP), l.routes().get(2).tx());
    assertEquals(lib.toString(), l.routes().get(2).loc().file());
    assertEquals(6, l.routes().get(2).loc().line());
    assertEquals(2L, l.tiles().values().iterator().next().params().get("last"));
  }

  @Test
  void importedFileErrorsAreOneLine() throws Exception {
    write("lib/small.csl", "const k = 1;\n");
    Path missing = write("missing.csl", "const m = @import_module(\"nope.csl\", .{});\nlayout { @set_rectangle(m.k, 1); }\n");
    MeshcException e = assertThrows(MeshcException.class,
        () -> Layout.evaluate(CslSource.read(missing), Map.of(), 1000));
    assertTrue(e.getMessage().startsWith(missing + ":1:11: @import_module(\"nope.csl\"): no such file "), e.getMessage());
    Path noName = write("noname.csl",
        "const m = @import_module(\"lib/small.csl\", .{});\nlayout { @set_rectangle(m.j, 1); }\n");
    e = assertThrows(MeshcException.class, () -> Layout.evaluate(CslSource.read(noName), Map.of(), 1000));
    assertEquals(noName + ":2:26: lib/small.csl declares no 'j'", e.getMessage());
  }
}
