package dev.meshc.ir.text;

import java.util.regex.Pattern;

/**
 * The lexical pieces of the .tir format that the printer writes and the parser reads back: names,
 * strings and floats. Kept in one place so that both sides (and error messages) agree with the
 * grammar's VALUE, WEIGHT, IDENT, STRING and FLOAT tokens.
 */
public final class TirSyntax {
  /** A value name that needs no quotes after {@code %} or {@code @} (the grammar's NAME). */
  private static final Pattern BARE_NAME = Pattern.compile("[A-Za-z0-9_.$/\\-]+");
  /** An attribute name or layer kind that needs no quotes (the grammar's IDENT). */
  private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private TirSyntax() {}

  /** How a value is referred to: {@code %name} or {@code @name}, quoted when the name needs it. */
  public static String ref(String name, boolean weight) {
    return (weight ? "@" : "%") + (BARE_NAME.matcher(name).matches() ? name : quote(name));
  }

  /**
   * An attribute name or layer kind, bare when it lexes as an identifier. NaN and Infinity lex as
   * floats, so they are quoted.
   */
  public static String key(String k) {
    boolean bare = BARE_KEY.matcher(k).matches() && !k.equals("NaN") && !k.equals("Infinity");
    return bare ? k : quote(k);
  }

  /** A string literal with the escapes the grammar's STRING accepts. */
  public static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> b.append(c);
      }
    }
    return b.append('"').toString();
  }

  /** The text of a STRING token without its quotes and escapes (the lexer has checked them). */
  public static String unquote(String token) {
    StringBuilder b = new StringBuilder(token.length());
    for (int i = 1; i < token.length() - 1; i++) {
      char c = token.charAt(i);
      if (c == '\\') {
        char e = token.charAt(++i);
        b.append(switch (e) {
          case 'n' -> '\n';
          case 'r' -> '\r';
          case 't' -> '\t';
          default -> e;
        });
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** The name in a VALUE or WEIGHT token: the text after the sigil, unquoted if quoted. */
  static String refName(String token) {
    String rest = token.substring(1);
    return rest.startsWith("\"") ? unquote(rest) : rest;
  }

  /**
   * A float as the text form writes it. {@link Float#toString} is exact for fp32 (parsing it back
   * gives the same float) and spells NaN and the infinities as the FLOAT token does.
   */
  public static String number(float f) {
    return Float.toString(f);
  }
}
