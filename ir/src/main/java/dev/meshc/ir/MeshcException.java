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
    super(message);
    this.kind = kind;
  }

  public MeshcException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  /** Bad input, formatted with {@link String#format}. */
  public static MeshcException input(String format, Object... args) {
    return new MeshcException(Kind.INPUT, String.format(java.util.Locale.ROOT, format, args));
  }

  public Kind kind() {
    return kind;
  }
}
