package dev.meshc.maven;

import dev.meshc.compiler.Compilation;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
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
public class CompileMojo extends ModelMojo {
  /** prefill, decode or both. */
  @Parameter(property = "meshc.phase", defaultValue = "both")
  String phase;

  /** What to write: report, tir, plan, csl (comma-separated). */
  @Parameter(property = "meshc.emit", defaultValue = "report")
  String emit;

  /** Fail the build when a model has no plan (else warn). */
  @Parameter(property = "meshc.failOnInfeasible", defaultValue = "true")
  boolean failOnInfeasible;

  /** The file in a model's output folder that says what it was compiled from. */
  static final String STAMP = "meshc-build.txt";

  @Override
  void execute(List<Path> models) throws MojoFailureException {
    List<String> failures = new ArrayList<>();
    for (Path model : models) {
      Path out = outputDirectory.toPath().resolve(name(model));
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
    List<InputBinding> bindings = new ArrayList<>();
    for (String s : inputsOf(model)) {
      bindings.add(InputBinding.parse(s));
    }
    return options(model, bindings, phase, List.of(emit.split(",")));
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
