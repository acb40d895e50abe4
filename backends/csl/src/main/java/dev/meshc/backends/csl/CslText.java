package dev.meshc.backends.csl;

import java.util.List;

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

  /** A block of lines already indented as they should read (a text block), at the current depth. */
  CslText text(String block) {
    for (String l : block.stripTrailing().split("\n", -1)) {
      b.append(l.isEmpty() ? "" : "  ".repeat(Math.max(0, depth)) + l).append('\n');
    }
    return this;
  }

  /** {@code @set_color_config(at, colour, …)}: one router entry, taking from {@code rx} and sending to {@code tx}. */
  CslText route(String at, String colour, Object rx, Object tx) {
    return line("@set_color_config(%s, %s, .{ .routes = .{ .rx = .{ %s }, .tx = .{ %s } } });", at, colour, rx, tx);
  }

  /**
   * A kernel's host interface in layout.csl: two input arrays the host writes, the output array it
   * only reads, and {@code compute}. The mutability given here is the one {@link #kernelPointers}
   * declares: the SDK exports a {@code var} as host-writable, a {@code const} as read-only
   * (csl-examples tutorials/gemv-01-complete-program, "host can read y, but not write to it").
   */
  CslText kernelExports(String in1, String in2, String out) {
    line("@export_name(\"%s\", [*]f16, true);", in1);
    line("@export_name(\"%s\", [*]f16, true);", in2);
    line("@export_name(\"%s\", [*]f16, false);", out);
    return line("@export_name(\"compute\", fn()void);");
  }

  /** The PE program's pointers to those arrays ({@code name_ptr = &array}): the inputs {@code var}, the output {@code const}. */
  CslText kernelPointers(String in1, String array1, String in2, String array2, String out, String array3) {
    line("var %s_ptr: [*]f16 = &%s;", in1, array1);
    line("var %s_ptr: [*]f16 = &%s;", in2, array2);
    return line("const %s_ptr: [*]f16 = &%s;", out, array3);
  }

  /** The same interface as the PE program exports it: each array by its {@code _ptr}, then {@code compute}. */
  CslText kernelSymbols(String in1, String in2, String out) {
    for (String s : new String[] {in1, in2, out}) {
      line("@export_symbol(%s_ptr, \"%s\");", s, s);
    }
    return line("@export_symbol(compute);");
  }

  /**
   * The kernel's fabric queues: output queues from 2 (memcpy keeps 0 and 1), then the input queues
   * after them, so no send shares an ID with a receive. On WSE-2 an async operation runs on the
   * microthread of its queue's ID, and a send and a receive in flight together must not share one
   * (csl-examples tutorials/topic-15-wse3-microthreads: "On WSE-2, the queue ID of an input or
   * output fabric DSD corresponds to the ID of the microthread in which that operation executes").
   */
  CslText queues(List<String> outputs, List<String> inputs) {
    if (2 + outputs.size() + inputs.size() > 8) {
      throw new IllegalArgumentException("more queues than a PE's 6 beside memcpy's");
    }
    line("// queues: memcpy keeps 0 and 1; sends and receives on different IDs (on WSE-2 the ID is the microthread)");
    for (int i = 0; i < outputs.size(); i++) {
      line("const %s = @get_output_queue(%d);", outputs.get(i), 2 + i);
    }
    for (int i = 0; i < inputs.size(); i++) {
      line("const %s = @get_input_queue(%d);", inputs.get(i), 2 + outputs.size() + i);
    }
    return this;
  }

  /** A completion's task: it records {@code flag} and lets {@code advance()} see whether the step may move on. */
  CslText completionTask(String flag) {
    line("task on_%s() void {", flag);
    line("%s = true;", flag);
    line("advance();");
    line("}");
    return blank();
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
