package dev.meshc.backends.csl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.tree.ErrorNode;
import org.antlr.v4.runtime.tree.ParseTreeListener;
import org.antlr.v4.runtime.tree.ParseTreeWalker;
import org.antlr.v4.runtime.tree.TerminalNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Acceptance test for {@code Csl.g4}: a corpus of CSL written for these tests (one file per area
 * of the language reference: layout, tasks, DSDs, WSE-3 queues, types and pointers, control flow,
 * modules, lexical forms) parses without error, and together the corpus reaches every construct the
 * reference lists. Malformed input fails with a one-line {@code name:line:col: message}.
 */
class CslGrammarTest {
  /** Parse-tree node kinds (context class simple names) the corpus must exercise as a whole. */
  static final List<String> CONSTRUCTS = List.of(
      // top level
      "ParamDeclContext", "ConstDeclContext", "VarDeclContext", "FnDeclContext", "TaskDeclContext",
      "ComptimeBlockContext", "LayoutBlockContext", "FnParamContext",
      // statements
      "ConstStmtContext", "VarStmtContext", "BlockStmtContext", "ComptimeStmtContext", "IfStmtContext",
      "WhileStmtContext", "ForStmtContext", "SwitchStmtContext", "SwitchArmContext", "ReturnStmtContext",
      "BreakStmtContext", "ContinueStmtContext", "AssignStmtContext", "ExprStmtContext",
      "CaptureContext", "AssignContext",
      // expressions
      "IfExprContext", "PostfixExprContext", "UnaryExprContext", "MulExprContext", "AddExprContext",
      "ShiftExprContext", "BitExprContext", "CmpExprContext", "AndExprContext", "OrExprContext",
      "CallContext", "IndexContext", "FieldContext", "DerefContext",
      // primaries
      "IntLitContext", "FloatLitContext", "CharLitContext", "StringLitContext", "BoolLitContext",
      "BuiltinCallContext", "StructLitContext", "TupleLitContext", "EnumLitContext", "ArrayLitContext",
      "TensorAccessContext", "TypeLitContext", "ParensContext", "NameContext", "FieldInitContext",
      // types
      "ArrayTypeExprContext", "ManyPtrTypeContext", "FnTypeContext", "StructTypeContext",
      "EnumTypeContext", "ArrayTypeContext", "StructFieldContext",
      // Zig's forms: braceless if bodies, {}, align(n), enum members with values
      "BareStmtContext", "VoidLitContext", "ByteAlignContext", "EnumMemberContext");

  static Path corpusDir() throws URISyntaxException {
    URL url = CslGrammarTest.class.getResource("/corpus");
    assertNotNull(url, "test resource folder corpus/ is missing");
    return Path.of(url.toURI());
  }

  static List<Path> corpus() throws IOException, URISyntaxException {
    try (Stream<Path> files = Files.list(corpusDir())) {
      return files.filter(p -> p.getFileName().toString().endsWith(".csl")).sorted()
          .collect(Collectors.toList());
    }
  }

  static CslSource parse(Path file) throws IOException {
    return CslSource.parse(file.getFileName().toString(), Files.readString(file, StandardCharsets.UTF_8));
  }

  /** Simple names of every rule context in {@code tree}, collected with the ANTLR tree walker. */
  static Set<String> contextKinds(ParserRuleContext tree) {
    Set<String> seen = new TreeSet<>();
    ParseTreeWalker.DEFAULT.walk(new ParseTreeListener() {
      @Override
      public void enterEveryRule(ParserRuleContext ctx) {
        seen.add(ctx.getClass().getSimpleName());
      }

      @Override
      public void exitEveryRule(ParserRuleContext ctx) {}

      @Override
      public void visitTerminal(TerminalNode node) {}

      @Override
      public void visitErrorNode(ErrorNode node) {
        throw new AssertionError("error node in parse tree: " + node.getText());
      }
    }, tree);
    return seen;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void corpusFileParses(Path file) throws IOException {
    CslSource src = parse(file);
    assertNotNull(src.tree());
    assertEquals(file.getFileName().toString(), src.name());
    assertFalse(src.tree().topDecl().isEmpty(), "no top-level declarations in " + file);
    assertNotNull(src.tree().EOF(), "parse stopped before the end of " + file);
    contextKinds(src.tree());
  }

  @Test
  void corpusHasSixToTenFiles() throws Exception {
    int n = corpus().size();
    assertTrue(n >= 6 && n <= 10, "corpus has " + n + " files");
  }

  @Test
  void corpusCoversEveryConstruct() throws Exception {
    Set<String> seen = new TreeSet<>();
    for (Path file : corpus()) {
      seen.addAll(contextKinds(parse(file).tree()));
    }
    List<String> missing = CONSTRUCTS.stream().filter(c -> !seen.contains(c)).collect(Collectors.toList());
    assertEquals(List.of(), missing, "constructs no corpus file exercises");
  }

  /** Constructs that have no context class of their own, found in the token text of the corpus. */
  @Test
  void corpusCoversReferenceSpellings() throws Exception {
    StringBuilder all = new StringBuilder();
    for (Path file : corpus()) {
      all.append(Files.readString(file, StandardCharsets.UTF_8)).append('\n');
    }
    String text = all.toString();
    for (String s : List.of("@set_rectangle(", "@set_tile_code(", "@set_color_config(", ".routes", ".switches",
        "@export_name(", "@export_symbol(", "@bind_local_task(", "@bind_data_task(", "@initialize_queue(",
        "@block(", "@unblock(", "@activate(", "@get_dsd(mem1d_dsd", "fabin_dsd", "fabout_dsd",
        ".tensor_access = |i|{", "|j, i|{", "@get_dsr(", "@load_to_dsr(", ".save_address", "@fmach(",
        "@faddh(", "@fmovh(", "@map(", "@as(", "@bitcast(", "@ptrcast(", "[*]f16", "*[3]i16", "&", ".*",
        "(data_ptr.*)[0]", "[2, 3]f16", "[3]color{", ".{}", "while (", ") : (", "for (@range(i16, ",
        "=>", "else =>", "return", "break;", "continue;", "0x1f", "'\\x0a'", "e-38", "///",
        "enum(u16)", "struct {", "fn(i16, i16) void", "@is_arch(\"wse3\")", "comptime_struct",
        "local_task_id", ".ut_id")) {
      assertTrue(text.contains(s), "no corpus file contains " + s);
    }
  }

  /** The rule nodes of {@code ctx} as {@code Kind(child,child)}, context suffix dropped, tokens left out. */
  static String shape(ParserRuleContext ctx) {
    String kind = ctx.getClass().getSimpleName().replaceFirst("Context$", "");
    List<String> kids = new ArrayList<>();
    for (int i = 0; i < ctx.getChildCount(); i++) {
      if (ctx.getChild(i) instanceof ParserRuleContext child) {
        kids.add(shape(child));
      }
    }
    return kids.isEmpty() ? kind : kind + "(" + String.join(",", kids) + ")";
  }

  static Stream<Arguments> expressionShapes() {
    return Stream.of(
        Arguments.of(".{}", "PrimaryExpr(StructLit)"),
        Arguments.of(".{ RAMP, EAST }", "PrimaryExpr(TupleLit(PrimaryExpr(Name),PrimaryExpr(Name)))"),
        Arguments.of(".{ .rx = .{WEST} }",
            "PrimaryExpr(StructLit(FieldInit(PrimaryExpr(TupleLit(PrimaryExpr(Name))))))"),
        Arguments.of(".ADD", "PrimaryExpr(EnumLit)"),
        Arguments.of("|i|{N} -> y[2 * i + 1]",
            "PrimaryExpr(TensorAccess(PrimaryExpr(Name),PostfixExpr(PrimaryExpr(Name),Index(AddExpr(MulExpr("
                + "PrimaryExpr(IntLit),PrimaryExpr(Name)),PrimaryExpr(IntLit))))))"),
        Arguments.of("|j, i|{K, M} -> A[i, j]",
            "PrimaryExpr(TensorAccess(PrimaryExpr(Name),PrimaryExpr(Name),PostfixExpr(PrimaryExpr(Name),"
                + "Index(PrimaryExpr(Name),PrimaryExpr(Name)))))"),
        Arguments.of("(p.*)[0]",
            "PostfixExpr(PrimaryExpr(Parens(PostfixExpr(PrimaryExpr(Name),Deref))),Index(PrimaryExpr(IntLit)))"),
        Arguments.of("*[3]i16", "UnaryExpr(PrimaryExpr(TypeLit(ArrayTypeExpr(ArrayType(PrimaryExpr(IntLit),Name)))))"),
        Arguments.of("[*]f16", "PrimaryExpr(TypeLit(ManyPtrType(PrimaryExpr(Name))))"),
        Arguments.of("[2, 3]f16",
            "PrimaryExpr(TypeLit(ArrayTypeExpr(ArrayType(PrimaryExpr(IntLit),PrimaryExpr(IntLit),Name))))"),
        Arguments.of("[3]color{ a, b, c }",
            "PrimaryExpr(ArrayLit(ArrayType(PrimaryExpr(IntLit),Name),PrimaryExpr(Name),PrimaryExpr(Name),"
                + "PrimaryExpr(Name)))"),
        Arguments.of("fn(i16, i16) void",
            "PrimaryExpr(TypeLit(FnType(PrimaryExpr(Name),PrimaryExpr(Name),PrimaryExpr(Name))))"),
        Arguments.of("enum(u16) { ADD, MAX }", "PrimaryExpr(TypeLit(EnumType(PrimaryExpr(Name),EnumMember,EnumMember)))"),
        Arguments.of("struct { lo: u16, hi: u16 = 0 }",
            "PrimaryExpr(TypeLit(StructType(StructField(PrimaryExpr(Name)),"
                + "StructField(PrimaryExpr(Name),PrimaryExpr(IntLit)))))"),
        Arguments.of("if (@is_arch(\"wse3\")) a else b",
            "IfExpr(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(StringLit)))),PrimaryExpr(Name),PrimaryExpr(Name))"),
        Arguments.of("a + b * c", "AddExpr(PrimaryExpr(Name),MulExpr(PrimaryExpr(Name),PrimaryExpr(Name)))"),
        Arguments.of("a == 1 and b or c",
            "OrExpr(AndExpr(CmpExpr(PrimaryExpr(Name),PrimaryExpr(IntLit)),PrimaryExpr(Name)),PrimaryExpr(Name))"),
        Arguments.of("@as(u32, hi) << @as(u16, 16)",
            "ShiftExpr(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name),PrimaryExpr(Name)))),"
                + "PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name),PrimaryExpr(IntLit)))))"),
        Arguments.of("-x.y", "UnaryExpr(PostfixExpr(PrimaryExpr(Name),Field))"),
        Arguments.of("&arr[2]", "UnaryExpr(PostfixExpr(PrimaryExpr(Name),Index(PrimaryExpr(IntLit))))"),
        Arguments.of("'\\x0a'", "PrimaryExpr(CharLit)"),
        Arguments.of("1.1754943508222875e-38", "PrimaryExpr(FloatLit)"),
        Arguments.of("0x1f", "PrimaryExpr(IntLit)"));
  }

  /** Key constructs parse to the intended tree, not just to some tree. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("expressionShapes")
  void expressionParsesToShape(String expr, String expected) {
    CslParser.FileContext tree = CslSource.parse("shape.csl", "const v = " + expr + ";").tree();
    assertEquals(expected, shape(tree.topDecl(0).constDecl().value));
  }

  static Stream<Arguments> statementShapes() {
    return Stream.of(
        Arguments.of("p.* = 1;", "AssignStmt(Assign(PostfixExpr(PrimaryExpr(Name),Deref),PrimaryExpr(IntLit)))"),
        Arguments.of("while (i < n) : (i += 1) { }",
            "WhileStmt(CmpExpr(PrimaryExpr(Name),PrimaryExpr(Name)),Assign(PrimaryExpr(Name),PrimaryExpr(IntLit)),"
                + "Block)"),
        Arguments.of("for (@range(i16, N)) |k| { }",
            "ForStmt(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name),PrimaryExpr(Name)))),Capture,Block)"),
        Arguments.of("if (a) { } else if (b) { } else { }",
            "IfStmt(PrimaryExpr(Name),Block,IfStmt(PrimaryExpr(Name),Block,BlockStmt(Block)))"),
        Arguments.of("switch (v) { 0 => { }, 1, 2 => f(), else => { }, }",
            "SwitchStmt(PrimaryExpr(Name),SwitchArm(PrimaryExpr(IntLit),Block),"
                + "SwitchArm(PrimaryExpr(IntLit),PrimaryExpr(IntLit),PostfixExpr(PrimaryExpr(Name),Call)),"
                + "SwitchArm(Block))"),
        Arguments.of("comptime { @block(t); }",
            "ComptimeStmt(ComptimeBlock(Block(ExprStmt(PrimaryExpr(BuiltinCall(Args(PrimaryExpr(Name))))))))"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("statementShapes")
  void statementParsesToShape(String stmt, String expected) {
    CslParser.FileContext tree = CslSource.parse("shape.csl", "fn f() void { " + stmt + " }").tree();
    assertEquals(expected, shape(tree.topDecl(0).fnDecl().block().stmt(0)));
  }

  static Stream<Arguments> malformed() {
    return Stream.of(
        // a declaration without its value: the error is at the ';'
        Arguments.of("missing_value.csl", "param P: i16;\nconst x = ;\n", 2, 11),
        // a missing ';': the error is at the next declaration
        Arguments.of("missing_semi.csl", "var a: i16 = 1\nvar b: i16 = 2;\n", 2, 1),
        // an unclosed block: the error is at the end of input
        Arguments.of("unclosed.csl", "fn f() void {\n  a = 1;\n", 3, 1),
        // a character the lexer does not know
        Arguments.of("bad_char.csl", "const q = 1 $ 2;\n", 1, 13),
        // a tensor access without its '->'
        Arguments.of("no_arrow.csl",
            "\nconst d = @get_dsd(mem1d_dsd, .{ .tensor_access = |i|{4} a[i] });\n", 2, 58),
        // a switch arm without '=>'
        Arguments.of("bad_arm.csl", "fn f(v: i16) void {\n  switch (v) {\n    0 { }\n  }\n}\n", 3, 7),
        // a block comment, which CSL code does not use
        Arguments.of("block_comment.csl", "const a = 1;\n  /* no */\n", 2, 3));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void malformedSnippetFailsWithPosition(String name, String text, int line, int col) {
    MeshcException e = assertThrows(MeshcException.class, () -> CslSource.parse(name, text));
    String prefix = name + ":" + line + ":" + col + ":";
    assertTrue(e.getMessage().startsWith(prefix), "expected " + prefix + " but got: " + e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "message is not one line: " + e.getMessage());
  }
}
