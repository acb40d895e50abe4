package dev.meshc.ir.text;

import dev.meshc.grammar.TirLexer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.misc.ParseCancellationException;

/**
 * Reads the .tir text form that {@link TirPrinter} writes. Every failure is a one-line
 * {@link MeshcException} starting {@code file:line:col:}: the first syntax error, or the first
 * semantic one (an undefined or twice-defined value, an unknown op, operands or attributes the op
 * does not take, declared types that differ from what the op gives). The result is verified.
 */
public final class TirParser {
  private TirParser() {}

  /** Parses {@code text}; {@code fileName} is what error messages call it. */
  public static Module parse(String text, String fileName) {
    SyntaxErrors.LexerListener lexErrors = new SyntaxErrors.LexerListener();
    TirLexer lexer = new TirLexer(CharStreams.fromString(text, fileName));
    lexer.removeErrorListeners();
    lexer.addErrorListener(lexErrors);
    CommonTokenStream tokens = new CommonTokenStream(lexer);
    tokens.fill();

    dev.meshc.grammar.TirParser parser = new dev.meshc.grammar.TirParser(tokens);
    parser.removeErrorListeners();
    SyntaxErrors.ParserListener parseErrors = new SyntaxErrors.ParserListener();
    parser.addErrorListener(parseErrors);
    dev.meshc.grammar.TirParser.Module_Context tree = null;
    try {
      tree = parser.module_();
    } catch (ParseCancellationException e) {
      // parseErrors holds the error; the lexer's may come earlier
    }
    SyntaxErrors.Error first = lexErrors.first;
    if (parseErrors.first != null && (first == null || parseErrors.first.before(first))) {
      first = parseErrors.first;
    }
    if (first != null) {
      throw new MeshcException(MeshcException.Kind.INPUT,
          fileName + ":" + first.line() + ":" + first.col() + ": " + first.message());
    }
    return new ModuleReader(fileName).read(tree);
  }

  /** Parses the file at {@code path} (UTF-8); messages name the path as given. */
  public static Module parse(Path path) {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw MeshcException.input("%s does not exist", path);
    } catch (CharacterCodingException e) {
      throw MeshcException.input("%s is not UTF-8 text; a .tir file is", path);
    } catch (IOException e) {
      throw MeshcException.input("cannot read %s: %s", path, e.getMessage());
    }
    return parse(text, path.toString());
  }
}
