package dev.meshc.backends.csl;

import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.machine.MachineSpec;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * {@code meshc check-csl}: parses CSL files, and for a meshc project (a folder with {@value
 * CslProject#MANIFEST}) evaluates its layout and checks it (see {@link CslChecker}).
 */
public final class CslCheck {
  private CslCheck() {}

  /**
   * What was read and what is wrong; {@code distinctPrograms}, per project checked, how many
   * distinct PE programs its rectangle holds (see {@link #distinctPrograms}).
   */
  public record Report(int files, int projects, int pes, long maxPeBytes, List<CslChecker.Finding> findings,
      List<Integer> distinctPrograms, List<RegionFigures> regions) {}

  /**
   * A decode region's memory, colours and queues per PE: what its PE program's arrays take (the
   * region's corner PE's params) against what the plan it was written from counts (weights, KV
   * cache and buffers); the most colours one of its PEs routes (at load or in any run-time
   * configuration) against the plan's count; the input and output queues its program names
   * against the plan's.
   */
  public record RegionFigures(int region, long cslBytes, long planBytes, int cslColors, int planColors,
      int cslInputs, int planInputs, int cslOutputs, int planOutputs) {}

  /**
   * A check of a whole project's programs beyond the layout's (the CSL simulator's load: the SDK's
   * rules on each PE program), given the layout file, the machine, the params and the rectangle.
   */
  public interface ProgramCheck {
    List<CslChecker.Finding> check(Path layout, String machine, Map<String, Object> params, int width, int height);
  }

  public static Report check(List<Path> paths, boolean parseOnly) {
    return check(paths, parseOnly, Limits.DEFAULTS);
  }

  public static Report check(List<Path> paths, boolean parseOnly, Limits limits) {
    return check(paths, parseOnly, limits, null);
  }

  /**
   * As above, refusing files and layouts that cross {@code limits} (csl-bytes, comptime-steps,
   * layout-pes); a project whose layout checks clean is then given to {@code programs} (or null).
   */
  public static Report check(List<Path> paths, boolean parseOnly, Limits limits, ProgramCheck programs) {
    int files = 0;
    int projects = 0;
    int pes = 0;
    long maxBytes = 0;
    List<CslChecker.Finding> findings = new ArrayList<>();
    List<Integer> programCounts = new ArrayList<>();
    List<RegionFigures> regions = new ArrayList<>();
    for (Path p : paths) {
      if (!Files.exists(p)) {
        throw MeshcException.input("%s: no such file or folder", p);
      }
      List<Path> csl = cslFiles(p);
      if (csl.isEmpty()) {
        throw MeshcException.input("%s: no .csl files", p);
      }
      Map<String, CslSource> parsed = new HashMap<>();
      for (Path f : csl) {
        parsed.put(f.toString(), CslSource.read(f, limits));
        files++;
      }
      if (!parseOnly) {
        csl.forEach(f -> findings.addAll(duplicates(parsed.get(f.toString()))));
      }
      for (Path dir : parseOnly ? List.<Path>of() : projectDirs(p)) {
        long[] size = project(dir, dir.resolve(CslProject.MANIFEST), parsed, findings, limits, programs, regions);
        projects++;
        pes += (int) size[0];
        maxBytes = Math.max(maxBytes, size[1]);
        programCounts.add((int) size[2]);
      }
    }
    return new Report(files, projects, pes, maxBytes, List.copyOf(findings), List.copyOf(programCounts),
        List.copyOf(regions));
  }

  /** Checks one project; returns {PEs in its rectangle, the most bytes of arrays on one PE, distinct programs}. */
  private static long[] project(Path dir, Path manifestFile, Map<String, CslSource> parsed,
      List<CslChecker.Finding> findings, Limits limits, ProgramCheck programs, List<RegionFigures> regions) {
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(manifestFile, StandardCharsets.UTF_8)) {
      props.load(r);
    } catch (IOException | IllegalArgumentException e) {
      throw MeshcException.input("%s: cannot read (%s)", manifestFile, e.getMessage());
    }
    CslProject.Manifest man = CslProject.Manifest.read(props, manifestFile.toString());
    MachineSpec m = MachineSpec.load(man.machine());
    CslSource layoutSrc = parsed.get(dir.resolve("layout.csl").toString());
    if (layoutSrc == null) {
      throw MeshcException.input("%s: a meshc project has a layout.csl", dir);
    }
    Layout layout;
    try {
      layout = Layout.evaluate(layoutSrc, man.params(), limits.comptimeSteps(), Comptime.Modules.files(limits));
    } catch (StackOverflowError e) {
      throw MeshcException.input("%s: comptime calls nest too deeply to evaluate (unbounded recursion?)",
          layoutSrc.name());
    }
    long pes = (long) layout.width() * layout.height(); // Layout itself stops at Limits.MAX_LAYOUT_PES
    if (pes > limits.layoutPes()) {
      throw Limits.exceeded(layoutSrc.name(), "@set_rectangle(" + layout.width() + ", " + layout.height()
          + ")'s PE count", pes, "layout-pes", limits.layoutPes());
    }
    java.util.function.Function<String, CslSource> files = file -> {
      Path f = dir.resolve(file).normalize();
      if (!f.startsWith(dir.normalize())) {
        throw MeshcException.input("%s: @set_tile_code names %s, outside the project", layoutSrc.name(), file);
      }
      CslSource s = parsed.get(f.toString());
      if (s == null) {
        throw MeshcException.input("%s: @set_tile_code names %s, which is not in the project", layoutSrc.name(), file);
      }
      return s;
    };
    CslChecker.Checked checked = CslChecker.check(layout, m, files, man.routing(m), limits.comptimeSteps());
    findings.addAll(checked.findings());
    for (int i = 0; i < man.planRegions().size(); i++) {
      int[] r = man.regions().get(i);
      long[] planned = man.planRegions().get(i);
      Layout.Tile corner = layout.tiles().get(Layout.key(r[0], r[1]));
      if (corner != null && r[0] + r[2] <= layout.width() && r[1] + r[2] <= layout.height()) {
        CslSource program = files.apply(corner.file());
        int[] queues = CslChecker.queues(corner, program, limits.comptimeSteps());
        regions.add(new RegionFigures((int) planned[0], CslChecker.bytes(corner, program, limits.comptimeSteps()),
            planned[1], checked.colours().most(r[0], r[1], r[2]), (int) planned[2], queues[0], (int) planned[3],
            queues[1], (int) planned[4]));
      }
    }
    if (programs != null && checked.findings().isEmpty()) {
      findings.addAll(programs.check(dir.resolve("layout.csl"), man.machine(), man.params(), layout.width(),
          layout.height()));
    }
    return new long[] {pes, checked.maxPeBytes(), distinctPrograms(layout)};
  }

  /**
   * The distinct (file, params) pairs of a layout's PEs: what cslc compiles one program for. A
   * library's params ({@code memcpy.get_params(x)}) count as the library's, not by their argument:
   * memcpy's per-column params are the SDK's, the same whatever the project passes.
   */
  static int distinctPrograms(Layout layout) {
    java.util.Set<Object> seen = new java.util.HashSet<>();
    Map<Map<String, Object>, Object> stripped = new java.util.IdentityHashMap<>(); // Layout holds equal params once
    for (Layout.Tile t : layout.tiles().values()) {
      seen.add(List.of(t.file(), stripped.computeIfAbsent(t.params(), CslCheck::withoutLibraryArgs)));
    }
    return seen.size();
  }

  private static Object withoutLibraryArgs(Object v) {
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new java.util.LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!(m.containsKey("module") && "args".equals(e.getKey()))) {
          out.put(e.getKey(), withoutLibraryArgs(e.getValue()));
        }
      }
      return out;
    }
    return v;
  }

  /** Top-level names declared twice in one file: CSL has one namespace per file. */
  static List<CslChecker.Finding> duplicates(CslSource src) {
    List<CslChecker.Finding> out = new ArrayList<>();
    Map<String, Comptime.Loc> seen = new HashMap<>();
    for (dev.meshc.grammar.CslParser.TopDeclContext d : src.tree().topDecl()) {
      org.antlr.v4.runtime.tree.TerminalNode id = d.paramDecl() != null ? d.paramDecl().ID()
          : d.constDecl() != null ? d.constDecl().ID() : d.varDecl() != null ? d.varDecl().ID()
          : d.fnDecl() != null ? d.fnDecl().ID() : d.taskDecl() != null ? d.taskDecl().ID() : null;
      if (id == null) {
        continue;
      }
      Comptime.Loc at = new Comptime.Loc(src.name(), id.getSymbol().getLine(), id.getSymbol().getCharPositionInLine() + 1);
      Comptime.Loc first = seen.putIfAbsent(id.getText(), at);
      if (first != null) {
        out.add(new CslChecker.Finding(at, String.format("'%s' is declared twice in this file (first at line %d)",
            id.getText(), first.line())));
      }
    }
    return out;
  }

  /** The meshc projects at p: p itself, or (a plan over several wafers) its sub-folders that are projects. */
  private static List<Path> projectDirs(Path p) {
    if (!Files.isDirectory(p)) {
      return List.of();
    }
    if (Files.isRegularFile(p.resolve(CslProject.MANIFEST))) {
      return List.of(p);
    }
    try (Stream<Path> s = Files.list(p)) {
      return s.filter(d -> Files.isRegularFile(d.resolve(CslProject.MANIFEST))).sorted().toList();
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot list (%s)", p, e.getMessage());
    }
  }

  /** A file, or a folder's .csl files (not following links out), in name order. */
  private static List<Path> cslFiles(Path p) {
    if (!Files.isDirectory(p)) {
      return List.of(p);
    }
    try (Stream<Path> s = Files.walk(p, 8)) {
      return s.filter(f -> f.toString().endsWith(".csl") && Files.isRegularFile(f)).sorted().toList();
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot list (%s)", p, e.getMessage());
    }
  }
}
