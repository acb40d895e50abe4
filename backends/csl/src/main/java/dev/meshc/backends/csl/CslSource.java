package dev.meshc.backends.csl;

import dev.meshc.grammar.CslLexer;
import dev.meshc.grammar.CslParser;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.misc.ParseCancellationException;

/** One parsed CSL file: its name as errors print it, and its syntax tree. */
public record CslSource(String name, CslParser.FileContext tree) {
  public static CslSource read(Path file) {
    return read(file, Limits.DEFAULTS);
  }

  /** Reads and parses {@code file}, refusing one larger than {@code limits} allows. */
  public static CslSource read(Path file, Limits limits) {
    try {
      long size = Files.size(file);
      if (size > limits.cslBytes()) {
        throw Limits.exceeded(file, "the CSL file's size in bytes", size, "csl-bytes", limits.cslBytes());
      }
      return parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
    } catch (java.nio.charset.MalformedInputException e) {
      throw MeshcException.input("%s: not UTF-8 text", file);
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot read (%s)", file, e.getMessage());
    }
  }

  /** Parses {@code text}; the first syntax error is a one-line {@code name:line:col: message}. */
  public static CslSource parse(String name, String text) {
    CslLexer lexer = new CslLexer(CharStreams.fromString(text, name));
    CslParser parser = new CslParser(new CommonTokenStream(lexer));
    BaseErrorListener fail = new BaseErrorListener() {
      @Override
      public void syntaxError(Recognizer<?, ?> r, Object symbol, int line, int col, String msg,
          RecognitionException e) {
        throw new ParseCancellationException(String.format("%s:%d:%d: %s", name, line, col + 1, msg));
      }
    };
    lexer.removeErrorListeners();
    lexer.addErrorListener(fail);
    parser.removeErrorListeners();
    parser.addErrorListener(fail);
    CommonTokenStream tokens = (CommonTokenStream) parser.getInputStream();
    try {
      CslParser.FileContext tree = parser.file();
      // A token's text is otherwise cut from the input on every getText(), and each cut String
      // hashes anew: the evaluator reads names once per PE of a loop body. One String per spelling.
      java.util.Map<String, String> spelled = new java.util.HashMap<>();
      for (org.antlr.v4.runtime.Token t : tokens.getTokens()) {
        if (t instanceof org.antlr.v4.runtime.CommonToken c) {
          c.setText(spelled.computeIfAbsent(c.getText(), k -> k));
        }
      }
      return new CslSource(name, tree);
    } catch (ParseCancellationException e) {
      throw MeshcException.input("%s", e.getMessage());
    } catch (StackOverflowError e) {
      throw MeshcException.input("%s: nested too deeply to parse", name);
    }
  }
}
