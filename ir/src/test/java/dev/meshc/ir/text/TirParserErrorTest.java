package dev.meshc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.MeshcException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every error is one line, starts with {@code file:line:col} of the offending token and names it.
 * Items under test go on line 5, after a header that defines {@code %x} (line 3) and {@code @w}
 * (line 4).
 */
class TirParserErrorTest {
  private static final String HEAD = """
      tir 1
      module "m" {
        input %x : f32[2,4] <y,x>
        weight @w : f32[4,3] <y,x> = "w"
      """;

  /** Parses {@code text}; the error must start with {@code where} and contain every fragment. */
  private static void assertRaw(String text, String where, String... fragments) {
    MeshcException e = assertThrows(MeshcException.class, () -> TirParser.parse(text, "m.tir"));
    String msg = e.getMessage();
    assertEquals(MeshcException.Kind.INPUT, e.kind());
    assertFalse(msg.contains("\n"), () -> "more than one line: " + msg);
    assertTrue(msg.startsWith(where + ": "), () -> "expected position " + where + " in: " + msg);
    for (String f : fragments) {
      assertTrue(msg.contains(f), () -> "'" + f + "' not in: " + msg);
    }
  }

  /** {@code body} goes on line 5 of a module that defines %x and @w. */
  private static void assertError(String body, String where, String... fragments) {
    assertRaw(HEAD + body + "\n}\n", where, fragments);
  }

  private static void assertExactly(String body, String message) {
    MeshcException e = assertThrows(MeshcException.class, () -> TirParser.parse(HEAD + body + "\n}\n", "m.tir"));
    assertEquals(message, e.getMessage());
  }

  // ---- syntax ------------------------------------------------------------------------------

  @Test
  void typeExpected() {
    assertExactly("  input %y : %z", "m.tir:5:14: expected a type like f32[1,16] <*,y> after ':' but found '%z'");
  }

  @Test
  void missingToken() {
    assertExactly("  input %y f32[1] <x>", "m.tir:5:12: expected ':' after '%y' but found 'f32'");
  }

  @Test
  void missingComma() {
    assertExactly("  %y = Neg %x %x : f32[2,4] <y,x>",
        "m.tir:5:15: expected '{', ':' or ',' after '%x' but found '%x'");
  }

  @Test
  void operandExpected() {
    assertExactly("  %y = Neg %x, : f32[2,4] <y,x>",
        "m.tir:5:16: expected a value (%name or @name) after ',' but found ':'");
  }

  @Test
  void opNameExpected() {
    assertExactly("  %y = %x : f32[2,4] <y,x>", "m.tir:5:8: expected an op name after '=' but found '%x'");
  }

  @Test
  void attributeValueExpected() {
    assertExactly("  %y = Neg %x {axis = } : f32[2,4] <y,x>",
        "m.tir:5:23: expected an attribute value (a number, a string or a list) after '=' but found '}'");
  }

  @Test
  void itemExpected() {
    assertExactly("  foo", "m.tir:5:3: expected an item (input, weight, const, layer, output, placement or an op) or '}'"
        + " after '\"w\"' but found 'foo'");
  }

  @Test
  void onlyOpsInALayer() {
    assertExactly("  layer 0 decoder {} { input %q : f32[1] <x> }",
        "m.tir:5:24: expected an op (%name = ...) or '}' after '{' but found 'input'");
  }

  @Test
  void unclosedLayout() {
    assertExactly("  %y = Neg %x : f32[2,4] <y,x", "m.tir:6:1: expected ',' or '>' after 'x' but found '}'");
  }

  @Test
  void permIsIntegers() {
    assertError("  weight @v : f32[4,3] <y,x> = \"w\" perm [1.5]", "m.tir:5:42", "found '1.5'");
  }

  @Test
  void endOfFile() {
    assertRaw("module \"m\" {\n  input %x : f32[1] <x>", "m.tir:2:24", "or '}'", "found the end of the file");
    assertRaw("", "m.tir:1:1", "expected 'module' or 'tir' but found the end of the file");
    assertRaw("module \"m\" {\n}\nmodule \"n\" {\n}\n", "m.tir:3:1", "expected the end of the file", "'module'");
  }

  @Test
  void lexerErrors() {
    assertExactly("  input %y : f32[1] <x> !", "m.tir:5:25: unexpected character '!'");
    assertError("  weight @v : f32[1] <x> = \"abc\n", "m.tir:5:28", "unterminated string \"abc");
    assertError("  input % : f32[1] <x>", "m.tir:5:9", "expected a name after '%'");
  }

  /** The first error in the text wins, whether the lexer or the parser found it. */
  @Test
  void firstErrorWins() {
    assertRaw("module \"m\" {\n  input %x f32[1] <x>\n  input %y : f32[1] <x> !\n}", "m.tir:2:12", "expected ':'");
    assertRaw("module \"m\" {\n  input %x : f32[1] <x> !\n  input %y f32[1] <x>\n}", "m.tir:2:25",
        "unexpected character '!'");
  }

  @Test
  void version() {
    assertRaw("tir 2\nmodule \"m\" {\n}\n", "m.tir:1:5", "version 2", "reads version 1");
  }

  @Test
  void fileNameFromPath(@TempDir Path dir) {
    Path p = dir.resolve("absent.tir");
    MeshcException e = assertThrows(MeshcException.class, () -> TirParser.parse(p));
    assertEquals(p + " does not exist", e.getMessage());
  }

  // ---- names -------------------------------------------------------------------------------

  @Test
  void undefinedValue() {
    assertExactly("  %y = Neg %u : f32[2,4] <y,x>", "m.tir:5:12: undefined value %u");
    assertExactly("  %y = Neg %y : f32[2,4] <y,x>", "m.tir:5:12: undefined value %y");
    assertExactly("  %y = Neg @nope : f32[2,4] <y,x>", "m.tir:5:12: undefined value @nope");
  }

  @Test
  void definedTwice() {
    assertExactly("  %y = Neg %x : f32[2,4] <y,x>\n  %y = Neg %x : f32[2,4] <y,x>",
        "m.tir:6:3: %y is defined twice (first on line 5)");
    assertExactly("  input %x : f32[2] <x>", "m.tir:5:9: %x is defined twice (first on line 3)");
    assertExactly("  input %w : f32[2] <x>", "m.tir:5:9: %w is defined twice (first as @w on line 4)");
    assertExactly("  %y, %\"y\" = Split %x {axis = 1, split = [2, 2]} : f32[2,2] <y,x>, f32[2,2] <y,x>",
        "m.tir:5:7: %y is defined twice (first on line 5)");
    assertExactly("  input %x : q32[2] <x>", "m.tir:5:9: %x is defined twice (first on line 3)");
    assertExactly("  weight @x : f32[2] <x> = \"s\"", "m.tir:5:10: @x is defined twice (first as %x on line 3)");
  }

  @Test
  void sigils() {
    assertExactly("  %y = Neg @x : f32[2,4] <y,x>", "m.tir:5:12: @x is not a weight: write %x");
    assertExactly("  %y = linear %x, %w : f32[2,3] <y,x>", "m.tir:5:19: %w is a weight: write @w");
  }

  @Test
  void quotedNamesInMessages() {
    assertExactly("  %y = Neg %\"a b\" : f32[2,4] <y,x>", "m.tir:5:12: undefined value %\"a b\"");
    assertExactly("  input %\"\" : f32[2] <x>", "m.tir:5:9: a value needs a name");
  }

  @Test
  void undefinedOutput() {
    assertExactly("  output %nope", "m.tir:5:10: undefined value %nope");
  }

  // ---- ops ---------------------------------------------------------------------------------

  @Test
  void unknownOp() {
    assertError("  %y = Frobnicate %x : f32[2,4] <y,x>", "m.tir:5:8", "unknown op 'Frobnicate'",
        "neither a block op (attention, ", "nor a supported ONNX op");
    assertError("  %y = Linear %x, @w : f32[2,3] <y,x>", "m.tir:5:8", "did you mean 'linear'?");
    assertError("  %y = add %x, %x : f32[2,4] <y,x>", "m.tir:5:8", "did you mean 'Add'?");
    assertExactly("  %y = Shape %x : i64[2] <x>",
        "m.tir:5:8: Shape is folded to a constant at import; it cannot appear in the tile IR");
  }

  @Test
  void operandCount() {
    assertExactly("  %y = linear %x : f32[2,3] <y,x>", "m.tir:5:8: linear takes 2 to 3 operands, not 1");
    assertError("  %y = Add %x : f32[2,4] <y,x>", "m.tir:5:8", "Add");
  }

  @Test
  void badAttributes() {
    assertExactly("  %y = split_heads %x : f32[2,4] <y,x>", "m.tir:5:8: split_heads: missing attribute 'heads'");
    assertError("  %y = layer_norm %x {eps = \"big\"} : f32[2,4] <y,x>", "m.tir:5:8", "layer_norm", "'eps'",
        "should be a float");
    assertExactly("  %y = linear %x, @w {eps = 1.0} : f32[2,3] <y,x>",
        "m.tir:5:23: linear does not take attribute 'eps' here (it takes none)");
    assertExactly("  %y = rope %x, %x, %x {rotary_dim = 2, theta = 1.0} : f32[2,4] <y,x>",
        "m.tir:5:8: rope: tables must be [2, 2], have [2,4]");
    assertError("  %y = Transpose %x {perm = [0, 5]} : f32[2,4] <y,x>", "m.tir:5:8", "Transpose");
    assertExactly("  %y = Neg %x {a = 1, a = 2} : f32[2,4] <y,x>", "m.tir:5:23: attribute 'a' is given twice");
  }

  @Test
  void declaredTypeDiffers() {
    assertExactly("  %y = linear %x, @w : f32[2,4] <y,x>",
        "m.tir:5:24: linear: result %y is f32[2,4] <y,x> but should be f32[2,3] <y,x> (the shape differs)");
    assertExactly("  %y = linear %x, @w : f32[2,3] <x,y>",
        "m.tir:5:24: linear: result %y is f32[2,3] <x,y> but should be f32[2,3] <y,x> (the layout differs)");
    assertExactly("  %y = linear %x, @w : f16[2,3] <*,*>", "m.tir:5:24: linear: result %y is f16[2,3] <*,*>"
        + " but should be f32[2,3] <y,x> (the element type and layout differ)");
    assertExactly("  %a, %b = Split %x {axis = 1, split = [1, 3]} : f32[2,1] <y,x>, f32[2,1] <y,x>",
        "m.tir:5:66: Split: result %b is f32[2,1] <y,x> but should be f32[2,3] <y,x> (the shape differs)");
  }

  @Test
  void resultCount() {
    assertExactly("  %y, %z = linear %x, @w : f32[2,3] <y,x>",
        "m.tir:5:28: linear names 2 results but declares 1 type");
    assertExactly("  %y, %z = Split %x {axis = 1, split = [1, 1, 2]} : f32[2,1] <y,x>, f32[2,1] <y,x>",
        "m.tir:5:12: Split gives 3 results here, but 2 are declared");
  }

  // ---- types and constants -----------------------------------------------------------------

  @Test
  void badTypes() {
    assertError("  input %y : q32[2] <x>", "m.tir:5:14", "unknown element type 'q32'", "f32, ");
    assertExactly("  input %y : f32[2,2] <x,z>", "m.tir:5:26: unknown layout axis 'z' (expected x, y or *)");
    assertError("  input %y : f32[2,2] <x,x>", "m.tir:5:24", "<x,x>", "two dimensions along one mesh axis");
    assertError("  input %y : f32[2,2] <x>", "m.tir:5:14", "layout <x> has rank 1", "shape [2,2]");
    assertExactly("  input %y : f32[-2] <x>", "m.tir:5:18: negative dimension -2");
    assertExactly("  input %y : f32[99999999999999999999] <x>",
        "m.tir:5:18: 99999999999999999999 does not fit in 64 bits");
  }

  @Test
  void constantLiterals() {
    assertExactly("  const %c : f32[2,2] <y,x> = [1, 2, 3]",
        "m.tir:5:31: constant %c has 3 elements but its type f32[2,2] <y,x> holds 4");
    assertExactly("  const %c : i64[2] <x> = [1, 2.5]",
        "m.tir:5:31: constant %c is i64: its elements are integers, not 2.5");
    assertExactly("  const %c : bool[] <> = NaN", "m.tir:5:26: constant %c is bool: its elements are integers, not NaN");
  }

  @Test
  void weights() {
    assertError("  weight @v : f32[4,3] <y,x> = \"w\" perm [0, 0]", "m.tir:5:41", "@v", "not a permutation");
    assertError("  weight @v : f32[4,3] <y,x> = \"w\" perm [0]", "m.tir:5:41", "@v", "does not match rank 2");
  }

  @Test
  void layerNumbers() {
    assertExactly("  layer 1 decoder {} {\n  }",
        "m.tir:5:9: layer 1 should be layer 0: layers are numbered 0, 1, 2 ... in order");
  }
}
