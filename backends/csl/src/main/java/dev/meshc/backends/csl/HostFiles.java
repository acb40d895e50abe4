package dev.meshc.backends.csl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fixed parts of a project's host side, kept as resource files ({@code host/} beside this
 * class) with holes {@code @@NAME@@}: every hole must be given a value and every value must fill
 * a hole, else rendering fails (a test renders every project, so a mismatch fails the build).
 */
final class HostFiles {
  private HostFiles() {}

  private static final Pattern HOLE = Pattern.compile("@@([A-Z_]+)@@");

  /** Resource {@code host/<name>} with its holes filled from {@code values}. */
  static String fill(String name, Map<String, String> values) {
    String text = read(name);
    Set<String> holes = new TreeSet<>();
    Matcher m = HOLE.matcher(text);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      String v = values.get(m.group(1));
      if (v == null) {
        throw new IllegalStateException("host/" + name + ": hole @@" + m.group(1) + "@@ is not filled");
      }
      holes.add(m.group(1));
      m.appendReplacement(b, Matcher.quoteReplacement(v));
    }
    m.appendTail(b);
    Set<String> unused = new TreeSet<>(values.keySet());
    unused.removeAll(holes);
    if (!unused.isEmpty()) {
      throw new IllegalStateException("host/" + name + " has no hole for " + unused);
    }
    return b.toString();
  }

  private static String read(String name) {
    try (InputStream in = HostFiles.class.getResourceAsStream("host/" + name)) {
      if (in == null) {
        throw new IllegalStateException("no resource host/" + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * One SDK program of a project, as the appliance compiles it: its folder, its kernel's extent
   * (the simulator's fabric is that plus memcpy's halo) and its params.
   */
  record Program(String folder, int width, int height, String params) {}

  /**
   * The appliance path of a project: {@code compile_appliance.py} (SdkCompiler for each program,
   * against the system's whole fabric, or the kernel's own with {@code --simulator}) and {@code
   * appliance.sh}, which compiles and runs {@code run.py --artifact} with one artifact per program.
   */
  static void appliance(Map<String, String> files, java.util.List<Program> programs, CslProject.Target target,
      int fabricWidth, int fabricHeight, String what) {
    StringBuilder list = new StringBuilder("[\n");
    StringBuilder artifacts = new StringBuilder();
    for (int n = 0; n < programs.size(); n++) {
      Program p = programs.get(n);
      list.append(String.format(java.util.Locale.ROOT, "  (\"%s\",%n   \"%s\",%n   \"%s\"),%n", p.folder(),
          GemvCsl.cslcFlags(p.width() + 7, p.height() + 2, p.params(), target),
          GemvCsl.cslcFlags(fabricWidth, fabricHeight, p.params(), target)));
      artifacts.append(n == 0 ? "" : ",").append("out_appliance/artifact-").append(n).append(".json");
    }
    files.put("compile_appliance.py", fill("compile_appliance.py", Map.of("WHAT", what,
        "PROGRAMS", list.append("]").toString())));
    files.put("appliance.sh", fill("appliance.sh", Map.of("WHAT", what,
        "SYSTEM_FABRIC", fabricWidth + "x" + fabricHeight, "ARTIFACTS", artifacts.toString())));
  }

  /** A kernel project's appliance path: its one program, in the project's folder. */
  static void appliance(Map<String, String> files, int width, int height, String params, CslProject.Target target,
      int fabricWidth, int fabricHeight, String what) {
    appliance(files, java.util.List.of(new Program(".", width, height, params)), target, fabricWidth, fabricHeight,
        what);
  }

  /** A host script's runtime choice (appliance or local), after its arguments are parsed. */
  static void runtime(CslText c) {
    c.text(fill("runtime.py", Map.of()));
  }
}
