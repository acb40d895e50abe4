package dev.meshc.compiler.plan;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.annotations.SerializedName;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.text.TirParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * An executable plan on disk, format version {@value #VERSION}: {@code plan.json} (this manifest)
 * and {@code plan.tir} (the lifted module with a placement per phase). Weights are not copied:
 * the module's weights name their ONNX initializers, with permutations, and {@code meshc run}
 * streams them from {@code model}, whose SHA-256 must still be {@code modelSha256}.
 *
 * @param format  always {@code meshc-plan}
 * @param model   the ONNX file, absolute
 * @param inputs  the {@code --input} bindings the model was imported with
 */
public record PlanDir(String format, int version, String model, @SerializedName("model_sha256") String modelSha256,
    List<String> inputs,
    String machine, List<String> phases) {
  public static final int VERSION = 1;
  public static final String FORMAT = "meshc-plan";
  public static final String MANIFEST = "plan.json";
  public static final String TIR = "plan.tir";
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  public static PlanDir of(Path model, List<String> inputs, String machine, List<String> phases) {
    return new PlanDir(FORMAT, VERSION, model.toAbsolutePath().normalize().toString(), sha256(model),
        List.copyOf(inputs), machine, List.copyOf(phases));
  }

  /** Writes the manifest and the placed module into {@code dir} (an empty folder being filled). */
  public void write(Path dir, String placedTir) throws IOException {
    Files.writeString(dir.resolve(MANIFEST), GSON.toJson(this) + System.lineSeparator(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve(TIR), placedTir, StandardCharsets.UTF_8);
  }

  /** A plan read back: its manifest, the model file, and the placed module. */
  public record Loaded(PlanDir manifest, Path model, Module module) {}

  /** Reads and checks a plan folder; every problem is one line naming it. */
  public static Loaded read(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw MeshcException.input("%s is not a plan folder (meshc compile --emit plan -o DIR writes one)", dir);
    }
    Path manifest = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifest)) {
      throw MeshcException.input("%s has no %s: it is not a plan folder (meshc compile --emit plan -o DIR writes one)",
          dir, MANIFEST);
    }
    PlanDir p;
    try {
      p = GSON.fromJson(Files.readString(manifest, StandardCharsets.UTF_8), PlanDir.class);
    } catch (IOException | JsonParseException e) {
      throw MeshcException.input("%s: not a readable plan manifest (%s)", manifest, e.getMessage());
    }
    if (p == null || !FORMAT.equals(p.format())) {
      throw MeshcException.input("%s: not a meshc plan manifest (format %s)", manifest, p == null ? null : p.format());
    }
    if (p.version() != VERSION) {
      throw MeshcException.input("%s is plan format version %d; this meshc runs version %d: compile the model again",
          dir, p.version(), VERSION);
    }
    if (p.model() == null || p.inputs() == null || p.modelSha256() == null) {
      throw MeshcException.input("%s: the manifest lacks model, model_sha256 or inputs", manifest);
    }
    Path model = Path.of(p.model());
    if (!Files.isRegularFile(model)) {
      throw MeshcException.input("%s: its model %s is gone", dir, model);
    }
    if (!sha256(model).equals(p.modelSha256())) {
      throw MeshcException.input("%s changed since this plan was compiled (SHA-256 differs): compile it again", model);
    }
    return new Loaded(p, model, TirParser.parse(dir.resolve(TIR)));
  }

  static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw MeshcException.input("cannot read %s: %s", file, e.getMessage());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
