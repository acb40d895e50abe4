package dev.meshc.maven;

import dev.meshc.compiler.Compilation;
import dev.meshc.compiler.Execution;
import dev.meshc.compiler.Inputs;
import dev.meshc.compiler.Progress;
import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.OnnxImporter;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * {@code meshc:verify}: compiles each model's prefill plan, runs it on meshc's mesh runtime with
 * the weights streamed from the model, and holds every output to a reference the user keeps beside
 * it (ONNX Runtime's, say), failing the build when one diverges. By convention the data of {@code
 * tiny.onnx} are {@code tiny.<input>.npy} (the values to run on, which also fix the shapes) and
 * {@code tiny.<output>.npy} (what each output should be); a model with no reference output is
 * named in a warning and not verified.
 */
@Mojo(name = "verify", defaultPhase = LifecyclePhase.VERIFY, threadSafe = true)
public class VerifyMojo extends ModelMojo {
  /** Where {@code <model>.<name>.npy} are (default: beside each model). */
  @Parameter(property = "meshc.referenceDirectory")
  File referenceDirectory;

  /** The Pearson correlation below which an output diverges from its reference. */
  @Parameter(property = "meshc.minPcc", defaultValue = "0.999")
  double minPcc;

  /** Partial sums in fp32 (else fp16, as WSE's {@code @fmach}). */
  @Parameter(property = "meshc.fp32", defaultValue = "true")
  boolean fp32;

  /** Where each model's verified plan is written, in a folder named after the model. */
  @Parameter(property = "meshc.verifyDirectory", defaultValue = "${project.build.directory}/meshc-verify")
  File verifyDirectory;

  @Override
  void execute(List<Path> models) throws MojoFailureException {
    if (!(minPcc > 0 && minPcc <= 1)) {
      throw new MojoFailureException("meshc: minPcc " + minPcc + ": a correlation in (0, 1]");
    }
    List<String> failures = new ArrayList<>();
    for (Path model : models) {
      try {
        String line = verify(model);
        if (line != null) {
          getLog().error(line);
          failures.add(line);
        }
      } catch (MeshcException e) {
        String line = "meshc: " + model.getFileName() + ": " + e.getMessage();
        getLog().error(line);
        failures.add(line);
      }
    }
    if (!failures.isEmpty()) {
      throw new MojoFailureException(failures.size() == 1 ? failures.get(0)
          : failures.size() + " models failed verification; the first: " + failures.get(0));
    }
  }

  /** Verifies one model: null when it matches (or has no reference), else the line that fails the build. */
  private String verify(Path model) {
    Limits lim = Limits.DEFAULTS.with(limits);
    String name = name(model);
    Path data = (referenceDirectory != null ? referenceDirectory.toPath() : model.toAbsolutePath().getParent())
        .normalize();
    OnnxImporter.Interface io = OnnxImporter.graphInterface(model, lim);
    List<String> outputs = io.outputs();
    String prefix = name + ".";
    if (outputs.stream().noneMatch(o -> Files.isRegularFile(data.resolve(prefix + Npy.fileName(o))))) {
      getLog().warn("meshc: " + model.getFileName() + ": no reference output (" + outputs.stream()
          .map(o -> prefix + Npy.fileName(o)).collect(Collectors.joining(", ")) + ") in " + data + "; not verified");
      return null;
    }
    List<String> specs = new ArrayList<>();
    for (String input : io.inputs()) {
      Path f = data.resolve(prefix + Npy.fileName(input));
      if (!Files.isRegularFile(f)) {
        throw MeshcException.input("no %s in %s: the value of input '%s' to verify on", f.getFileName(), data, input);
      }
      specs.add(input + "=" + f);
    }
    Inputs in = Inputs.parse(specs, lim);
    Path out = verifyDirectory.toPath().resolve(name);
    getLog().info("meshc: verifying " + model.getFileName() + " on " + String.join(", ", specs));
    Compilation.Result c = Compilation.run(options(model, in.bindings(), "prefill", List.of("plan")), out, null);
    if (!c.feasible()) {
      return "meshc: " + model.getFileName() + ": " + String.join("; ", c.failures());
    }
    PlanDir.Loaded plan = PlanDir.read(out);
    in.requireAll(plan.module(), "verify");
    Map<String, Execution.Reference> refs = Execution.references(data, prefix, plan.module().outputs(), lim);
    Execution.Prefill r = Execution.prefill(plan, in.values(), new Execution.Options(fp32, lim, null), false,
        Progress.NONE);
    getLog().info(String.format(Locale.ROOT, "meshc: %s: %d ops on the mesh, %d on the host, %,.0f mesh cycles "
        + "simulated (the plan predicts %,d for the prefill)", model.getFileName(), r.meshOps(), r.hostOps(),
        r.meshCycles(), r.predictedCycles()));
    String failed = null;
    for (Execution.OutputCheck k : Execution.compare(r.outputs(), refs, minPcc)) {
      String line = String.format(Locale.ROOT, "meshc: %s: output '%s' %s %s (Pearson %.6f, max abs error %.4g)",
          model.getFileName(), k.output(), k.ok() ? "matches" : "diverges from", k.reference().getFileName(),
          k.pcc(), k.maxAbsError());
      if (k.ok()) {
        getLog().info(line);
      } else if (failed == null) {
        failed = line + String.format(Locale.ROOT, ": below %.4f", minPcc);
      }
    }
    return failed;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "meshc:verify %s", modelDirectory);
  }
}
