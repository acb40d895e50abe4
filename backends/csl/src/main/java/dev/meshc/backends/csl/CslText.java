package dev.meshc.backends.csl;

/** A CSL (or Python, or shell) file being written: lines at an indentation, two spaces a level. */
final class CslText {
  private final StringBuilder b = new StringBuilder();
  private int depth;

  /** One line at the current depth; a line ending in '{' opens a level, one starting with '}' closes it. */
  CslText line(String text) {
    if (text.startsWith("}")) {
      depth--;
    }
    if (!text.isEmpty()) {
      b.append("  ".repeat(Math.max(0, depth))).append(text);
    }
    b.append('\n');
    if (text.endsWith("{")) {
      depth++;
    }
    return this;
  }

  CslText line(String format, Object... args) {
    return line(String.format(java.util.Locale.ROOT, format, args));
  }

  CslText blank() {
    b.append('\n');
    return this;
  }

  @Override
  public String toString() {
    return b.toString();
  }
}
