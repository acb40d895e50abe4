package dev.meshc.ir.text;

import static dev.meshc.grammar.TirParser.RULE_attr;
import static dev.meshc.grammar.TirParser.RULE_attrValue;
import static dev.meshc.grammar.TirParser.RULE_axis;
import static dev.meshc.grammar.TirParser.RULE_intList;
import static dev.meshc.grammar.TirParser.RULE_key;
import static dev.meshc.grammar.TirParser.RULE_layer;
import static dev.meshc.grammar.TirParser.RULE_literal;
import static dev.meshc.grammar.TirParser.RULE_name;
import static dev.meshc.grammar.TirParser.RULE_number;
import static dev.meshc.grammar.TirParser.RULE_numberList;
import static dev.meshc.grammar.TirParser.RULE_op;
import static dev.meshc.grammar.TirParser.RULE_operand;
import static dev.meshc.grammar.TirParser.RULE_type;

import dev.meshc.grammar.TirLexer;
import java.util.ArrayList;
import java.util.List;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.Parser;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.TokenStream;
import org.antlr.v4.runtime.Vocabulary;
import org.antlr.v4.runtime.misc.IntervalSet;
import org.antlr.v4.runtime.misc.ParseCancellationException;

/**
 * Turns ANTLR's complaints into the one line a user reads: what was expected, after what, and what
 * was found instead. Only the first error counts; later ones are usually echoes of it.
 */
final class SyntaxErrors {
  private SyntaxErrors() {}

  /** A syntax error at a 1-based line and column. */
  record Error(int line, int col, String message) {
    boolean before(Error o) {
      return line < o.line || (line == o.line && col < o.col);
    }
  }

  /**
   * Keeps the lexer's first error and lets it carry on: the lexer runs to the end before parsing,
   * and a parser error that comes earlier in the text still wins.
   */
  static final class LexerListener extends BaseErrorListener {
    Error first;

    @Override
    public void syntaxError(Recognizer<?, ?> r, Object symbol, int line, int col, String msg,
        RecognitionException e) {
      if (first == null) {
        first = new Error(line, col + 1, lexerMessage(msg));
      }
    }
  }

  /** Keeps the parser's first error and stops the parse. */
  static final class ParserListener extends BaseErrorListener {
    Error first;

    @Override
    public void syntaxError(Recognizer<?, ?> r, Object symbol, int line, int col, String msg,
        RecognitionException e) {
      Token found = (Token) symbol;
      first = new Error(line, col + 1, parserMessage((Parser) r, found, e, msg));
      throw new ParseCancellationException(first.message());
    }
  }

  /** ANTLR says "token recognition error at: 'x'"; say what the characters could have been. */
  private static String lexerMessage(String msg) {
    String prefix = "token recognition error at: '";
    String text = msg.startsWith(prefix) && msg.endsWith("'")
        ? msg.substring(prefix.length(), msg.length() - 1)
        : msg;
    if (text.startsWith("\"")) {
      return "unterminated string " + clip(text)
          + " (a string ends on its own line; its escapes are \\\" \\\\ \\n \\r \\t)";
    }
    if (text.startsWith("%") || text.startsWith("@")) {
      char sigil = text.charAt(0);
      return "expected a name after '" + sigil + "' (" + sigil + "name or " + sigil
          + "\"any name\") but found '" + clip(text) + "'";
    }
    return "unexpected character '" + clip(text) + "'";
  }

  private static String parserMessage(Parser p, Token found, RecognitionException e, String antlrMsg) {
    IntervalSet expected = e != null && e.getExpectedTokens() != null ? e.getExpectedTokens() : p.getExpectedTokens();
    ParserRuleContext ctx = e != null && e.getCtx() instanceof ParserRuleContext c ? c : p.getContext();
    String what = ruleExpectation(ctx, found);
    if (what == null) {
      what = tokenExpectation(expected, p.getVocabulary(), ctx.getRuleIndex() == RULE_layer);
    }
    if (what == null) {
      return antlrMsg;
    }
    StringBuilder b = new StringBuilder("expected ").append(what);
    Token prev = previous(p.getTokenStream(), found);
    if (prev != null) {
      b.append(" after '").append(clip(prev.getText())).append('\'');
    }
    return b.append(" but found ").append(describe(found)).toString();
  }

  /**
   * When the error is at the first token of a rule that has a meaning of its own (a type, an
   * operand …), name that rule rather than the tokens it could start with.
   */
  private static String ruleExpectation(ParserRuleContext ctx, Token found) {
    String what = null;
    for (ParserRuleContext c = ctx; c != null && c.getStart() != null
        && c.getStart().getTokenIndex() == found.getTokenIndex(); c = c.getParent()) {
      String d = ruleName(c);
      if (d != null) {
        what = d;
      }
    }
    return what;
  }

  private static String ruleName(ParserRuleContext c) {
    int parent = c.getParent() == null ? -1 : c.getParent().getRuleIndex();
    return switch (c.getRuleIndex()) {
      case RULE_type -> "a type like f32[1,16] <*,y>";
      case RULE_operand -> "a value (%name or @name)";
      case RULE_attr -> "an attribute (name = value)";
      case RULE_attrValue -> "an attribute value (a number, a string or a list)";
      case RULE_literal -> "a number or a list of numbers";
      case RULE_number -> "a number";
      case RULE_intList -> "a list of integers like [1,0]";
      case RULE_numberList -> "a list of numbers";
      case RULE_axis -> "a layout axis (x, y or *)";
      case RULE_name -> parent == RULE_op ? "an op name" : "a name";
      case RULE_key -> parent == RULE_layer ? "a layer kind (a name or a string)" : "a name or a string";
      default -> null;
    };
  }

  /**
   * The expected tokens in words, with the sets that make up a name, a number or an item said once.
   * In a layer's body a value can only start an op.
   */
  private static String tokenExpectation(IntervalSet expected, Vocabulary v, boolean inLayer) {
    if (expected == null || expected.isNil()) {
      return null;
    }
    List<Integer> types = new ArrayList<>(expected.toList());
    List<String> words = new ArrayList<>();
    int[] item = {type(v, "'input'"), type(v, "'weight'"), type(v, "'const'"), type(v, "'layer'"),
        type(v, "'output'"), type(v, "'placement'"), TirLexer.VALUE};
    if (removeAll(types, item)) {
      words.add("an item (input, weight, const, layer, output, placement or an op)");
    }
    if (types.contains(TirLexer.IDENT)) {
      types.removeIf(t -> t == TirLexer.IDENT || isKeyword(v, t));
      words.add("a name");
    }
    if (removeAll(types, new int[] {TirLexer.INT, TirLexer.FLOAT})) {
      words.add("a number");
    }
    if (removeAll(types, new int[] {TirLexer.VALUE, TirLexer.WEIGHT})) {
      words.add("a value (%name or @name)");
    }
    if (inLayer && types.remove(Integer.valueOf(TirLexer.VALUE))) {
      words.add("an op (%name = ...)");
    }
    for (int t : types) {
      words.add(token(v, t));
    }
    return join(words);
  }

  private static boolean removeAll(List<Integer> types, int[] group) {
    for (int t : group) {
      if (!types.contains(t)) {
        return false;
      }
    }
    for (int t : group) {
      types.remove(Integer.valueOf(t));
    }
    return true;
  }

  private static int type(Vocabulary v, String literal) {
    for (int t = 1; t <= v.getMaxTokenType(); t++) {
      if (literal.equals(v.getLiteralName(t))) {
        return t;
      }
    }
    throw new IllegalStateException("no token " + literal + " in the grammar");
  }

  /** A keyword is a quoted literal made of letters (the ones the grammar's name rule accepts). */
  private static boolean isKeyword(Vocabulary v, int t) {
    String l = v.getLiteralName(t);
    return l != null && l.matches("'[a-z]+'");
  }

  private static String token(Vocabulary v, int t) {
    if (t == Token.EOF) {
      return "the end of the file";
    }
    return switch (t) {
      case TirLexer.VALUE -> "a value (%name)";
      case TirLexer.WEIGHT -> "a weight (@name)";
      case TirLexer.INT -> "an integer";
      case TirLexer.FLOAT -> "a float";
      case TirLexer.IDENT -> "a name";
      case TirLexer.STRING -> "a string";
      default -> v.getLiteralName(t) != null ? v.getLiteralName(t) : v.getDisplayName(t);
    };
  }

  private static String join(List<String> words) {
    if (words.size() == 1) {
      return words.get(0);
    }
    return String.join(", ", words.subList(0, words.size() - 1)) + " or " + words.get(words.size() - 1);
  }

  private static Token previous(TokenStream tokens, Token t) {
    return t.getTokenIndex() > 0 ? tokens.get(t.getTokenIndex() - 1) : null;
  }

  private static String describe(Token t) {
    return t.getType() == Token.EOF ? "the end of the file" : "'" + clip(t.getText()) + "'";
  }

  /** Long strings and lists are cut so that the message stays one readable line. */
  private static String clip(String s) {
    String one = s.replace("\n", "\\n").replace("\r", "\\r");
    return one.length() > 40 ? one.substring(0, 37) + "..." : one;
  }
}
