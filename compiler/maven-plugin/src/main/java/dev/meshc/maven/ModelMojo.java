package dev.meshc.maven;

import dev.meshc.compiler.Compilation;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Limits;
import java.io.File;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;

/** What every meshc goal shares: which models, their inputs, the machine, the planner's options and where outputs go. */
abstract class ModelMojo extends AbstractMojo {
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

  /** Decode: the most tokens the KV cache holds. */
  @Parameter(property = "meshc.maxContext", defaultValue = "4096")
  long maxContext;

  /** Prefill prompt length (default: the length the model is imported at). */
  @Parameter(property = "meshc.promptLen")
  Long promptLen;

  /** Fix every region to PxP, or each phase's to its own ({@code prefill:P,decode:Q}); 0: the solver chooses. */
  @Parameter(property = "meshc.grid", defaultValue = "0")
  String grid;

  /** The solver's deterministic time limit. */
  @Parameter(property = "meshc.timeLimit", defaultValue = "10")
  double timeLimit;

  /** Searches with places run side by side (each one CP-SAT worker, its own seed; the best kept). */
  @Parameter(property = "meshc.workers", defaultValue = "1")
  int workers = 1; // the default when the mojo is made outside Maven (tests)

  /** Where each model's outputs go, in a folder named after the model. */
  @Parameter(property = "meshc.outputDirectory", defaultValue = "${project.build.directory}/meshc")
  File outputDirectory;

  @Parameter(property = "meshc.skip", defaultValue = "false")
  boolean skip;

  @Override
  public final void execute() throws MojoFailureException {
    if (skip) {
      getLog().info("meshc: skipped (meshc.skip)");
      return;
    }
    List<Path> models = models();
    if (models.isEmpty()) {
      getLog().info("meshc: no models under " + modelDirectory);
      return;
    }
    execute(models);
  }

  /** The goal's work on the models selected (at least one). */
  abstract void execute(List<Path> models) throws MojoFailureException;

  /** The {@code --input} specs of one model: its entry in {@link #modelInputs}, else {@link #inputs}. */
  List<String> inputsOf(Path model) {
    List<String> in = modelInputs.containsKey(model.getFileName().toString())
        ? Arrays.asList(modelInputs.get(model.getFileName().toString()).split(",")) : inputs;
    return in.stream().filter(s -> !s.isBlank()).map(String::trim).toList();
  }

  /** meshc compile's options for one model with these bindings, phase and emits (the rest from this goal). */
  Compilation.Options options(Path model, List<InputBinding> bindings, String phase, List<String> emit) {
    return new Compilation.Options(model, bindings, machine, phase, promptLen, maxContext,
        dev.meshc.compiler.plan.Grids.parse(grid), 0, timeLimit, 0.02,
        emit, Limits.DEFAULTS.with(limits), null, workers);
  }

  /** The model's name: its file name without {@code .onnx}. */
  static String name(Path model) {
    return model.getFileName().toString().replaceFirst("\\.onnx$", "");
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

  static List<PathMatcher> matchers(String[] globs) {
    List<PathMatcher> m = new ArrayList<>();
    for (String g : globs == null ? new String[0] : globs) {
      m.add(FileSystems.getDefault().getPathMatcher("glob:" + g));
    }
    return m;
  }
}
