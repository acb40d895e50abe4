package dev.meshc.maven;

import dev.meshc.compiler.Compilation;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * {@code meshc:compile}: compiles every ONNX model of the project the way {@code meshc compile}
 * does, into {@code target/meshc/<model>/}, and fails the build with meshc's one-line explanation
 * when a model is bad or no longer fits the wafer. A model whose bytes and options are unchanged
 * since its last compile is not compiled again.
 */
@Mojo(name = "compile", defaultPhase = LifecyclePhase.GENERATE_RESOURCES, threadSafe = true)
public class CompileMojo extends AbstractMojo {
  /** Where the models are. */
  @Parameter(property = "meshc.modelDirectory", defaultValue = "${project.basedir}/src/main/onnx")
  File modelDirectory;

  /** Which files under {@link #modelDirectory} are models (globs). */
  @Parameter
  String[] includes = {"**/*.onnx"};

  /** Which to leave out (globs). */
  @Parameter
  String[] excludes = {};

  /** Input shapes for every model, as meshc compile --input takes them, e.g. {@code input_ids=1x128}. */
  @Parameter
  List<String> inputs = new ArrayList<>();

  /** Input shapes per model file name, overriding {@link #inputs}: {@code <tiny.onnx>input_ids=1x16</tiny.onnx>}, several separated by commas. */
  @Parameter
  Map<String, String> modelInputs = new HashMap<>();

  /** Limits raised, as meshc compile --limit takes them: {@code nodes=5000000}, {@code proto-depth=128}. */
  @Parameter
  List<String> limits = new ArrayList<>();

  /** wse2, wse3 or a machine file. */
  @Parameter(property = "meshc.machine", defaultValue = "wse2")
  String machine;

  /** prefill, decode or both. */
  @Parameter(property = "meshc.phase", defaultValue = "both")
  String phase;

  /** Decode: the most tokens the KV cache holds. */
  @Parameter(property = "meshc.maxContext", defaultValue = "4096")
  long maxContext;

  /** Prefill prompt length (default: the length the model is imported at). */
  @Parameter(property = "meshc.promptLen")
  Long promptLen;

  /** Fix every region to PxP (0: the solver chooses). */
  @Parameter(property = "meshc.grid", defaultValue = "0")
  int grid;

  /** The solver's deterministic time limit. */
  @Parameter(property = "meshc.timeLimit", defaultValue = "10")
  double timeLimit;

  /** What to write: report, tir, plan, csl (comma-separated). */
  @Parameter(property = "meshc.emit", defaultValue = "report")
  String emit;

  /** Where each model's outputs go, in a folder named after the model. */
  @Parameter(property = "meshc.outputDirectory", defaultValue = "${project.build.directory}/meshc")
  File outputDirectory;

  /** Fail the build when a model has no plan (else warn). */
  @Parameter(property = "meshc.failOnInfeasible", defaultValue = "true")
  boolean failOnInfeasible;

  @Parameter(property = "meshc.skip", defaultValue = "false")
  boolean skip;

  /** The file in a model's output folder that says what it was compiled from. */
  static final String STAMP = "meshc-build.txt";

  @Override
  public void execute() throws MojoFailureException {
    if (skip) {
      getLog().info("meshc: skipped (meshc.skip)");
      return;
    }
    List<Path> models = models();
    if (models.isEmpty()) {
      getLog().info("meshc: no models under " + modelDirectory);
      return;
    }
    List<String> failures = new ArrayList<>();
    for (Path model : models) {
      String name = model.getFileName().toString().replaceFirst("\\.onnx$", "");
      Path out = outputDirectory.toPath().resolve(name);
      try {
        Compilation.Options o = options(model);
        String stamp = "meshc " + Compilation.class.getPackage().getImplementationVersion() + "\nmodel sha256 "
            + sha256(model) + "\noptions " + o.fingerprint() + "\n";
        if (Files.isRegularFile(out.resolve(STAMP))
            && Files.readString(out.resolve(STAMP), StandardCharsets.UTF_8).equals(stamp)) {
          getLog().info("meshc: " + model.getFileName() + " is up to date (" + out + ")");
          continue;
        }
        getLog().info("meshc: compiling " + model.getFileName() + " (" + o.fingerprint() + ")");
        Compilation.Result r = Compilation.run(o, out, null);
        r.text().lines().forEach(l -> getLog().info(l));
        if (!r.feasible()) {
          for (String f : r.failures()) {
            String line = "meshc: " + model.getFileName() + ": " + f;
            if (failOnInfeasible) {
              getLog().error(line);
              failures.add(line);
            } else {
              getLog().warn(line);
            }
          }
          continue; // no stamp: an infeasible model is compiled again next time
        }
        Files.writeString(out.resolve(STAMP), stamp, StandardCharsets.UTF_8);
        getLog().info("meshc: wrote " + String.join(" and ", o.emit()) + " to " + out);
      } catch (MeshcException e) {
        String line = "meshc: " + model.getFileName() + ": " + e.getMessage();
        getLog().error(line);
        failures.add(line);
      } catch (IOException e) {
        throw new MojoFailureException("meshc: " + model + ": " + e.getMessage(), e);
      }
    }
    if (!failures.isEmpty()) {
      throw new MojoFailureException(failures.size() == 1 ? failures.get(0)
          : failures.size() + " models failed; the first: " + failures.get(0));
    }
  }

  private Compilation.Options options(Path model) {
    List<String> in = modelInputs.containsKey(model.getFileName().toString())
        ? Arrays.asList(modelInputs.get(model.getFileName().toString()).split(",")) : inputs;
    List<InputBinding> bindings = new ArrayList<>();
    for (String s : in) {
      if (!s.isBlank()) {
        bindings.add(InputBinding.parse(s.trim()));
      }
    }
    return new Compilation.Options(model, bindings, machine, phase, promptLen, maxContext, grid, 0, timeLimit, 0.02,
        List.of(emit.split(",")), Limits.DEFAULTS.with(limits));
  }

  /** The models under {@link #modelDirectory}, in name order. */
  List<Path> models() throws MojoFailureException {
    Path root = modelDirectory.toPath();
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<PathMatcher> inc = matchers(includes);
    List<PathMatcher> exc = matchers(excludes);
    try (Stream<Path> s = Files.walk(root, 16)) {
      return s.filter(Files::isRegularFile).filter(p -> {
        Path rel = root.relativize(p);
        Path nested = Path.of("_").resolve(rel); // so that **/ also matches files at the top
        return inc.stream().anyMatch(m -> m.matches(rel) || m.matches(nested))
            && exc.stream().noneMatch(m -> m.matches(rel) || m.matches(nested));
      }).sorted().toList();
    } catch (IOException e) {
      throw new MojoFailureException("meshc: cannot list " + root + ": " + e.getMessage(), e);
    }
  }

  private static List<PathMatcher> matchers(String[] globs) {
    List<PathMatcher> m = new ArrayList<>();
    for (String g : globs == null ? new String[0] : globs) {
      m.add(FileSystems.getDefault().getPathMatcher("glob:" + g));
    }
    return m;
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "meshc:compile %s", modelDirectory);
  }
}
