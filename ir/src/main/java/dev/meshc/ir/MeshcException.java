package dev.meshc.ir;

/**
 * Every failure a user can cause or fix: one line that names the thing and what to do.
 * The CLI prints {@link #getMessage()} alone (no stack trace unless --verbose) and exits with
 * {@link Kind#exitCode()}.
 */
public final class MeshcException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why it failed decides the exit code. */
  public enum Kind {
    /** Bad input or usage: unreadable model, unknown op, unbound dim, bad path. */
    INPUT(2),
    /** The input is fine but no plan or compilation exists for it. */
    NO_PLAN(1);

    private final int exitCode;

    Kind(int exitCode) {
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  private final Kind kind;

  public MeshcException(Kind kind, String message) {
    super(oneLine(message));
    this.kind = kind;
  }

  public MeshcException(Kind kind, String message, Throwable cause) {
    super(oneLine(message), cause);
    this.kind = kind;
  }

  /** Bad input, formatted with {@link String#format}. */
  public static MeshcException input(String format, Object... args) {
    return new MeshcException(Kind.INPUT, String.format(java.util.Locale.ROOT, format, args));
  }

  public Kind kind() {
    return kind;
  }

  /**
   * The message as the one line a user reads: text quoted from a hostile file (a header, a parser's
   * own multi-line complaint) cannot break it; line breaks become spaces and other control
   * characters escapes.
   */
  static String oneLine(String message) {
    if (message == null) {
      return null;
    }
    StringBuilder b = new StringBuilder(message.length());
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c == '\n' || c == '\r' || c == '\t') {
        if (b.length() > 0 && b.charAt(b.length() - 1) != ' ') {
          b.append(' ');
        }
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString().strip();
  }
}
