package dev.meshc.compiler;

import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --input NAME=DIMS} or {@code --input NAME=FILE.npy}: a shape to bind, or a value whose
 * shape is bound. Shared by every command that reads a model, and by the Maven plugin.
 */
public final class Inputs {
  private final List<InputBinding> bindings = new ArrayList<>();
  private final Map<String, Tensor> values = new LinkedHashMap<>();

  public static Inputs parse(List<String> specs, Limits limits) {
    Inputs r = new Inputs();
    for (String spec : specs == null ? List.<String>of() : specs) {
      int eq = spec.indexOf('=');
      String v = eq < 0 ? "" : spec.substring(eq + 1);
      if (eq > 0 && (v.endsWith(".npy") || Files.isRegularFile(Path.of(v)))) {
        String name = spec.substring(0, eq);
        Tensor t = Npy.read(Path.of(v), limits);
        if (r.values.put(name, t) != null) {
          throw MeshcException.input("--input %s: input '%s' is given twice", spec, name);
        }
        r.bindings.add(new InputBinding(name, t.shape().toArray()));
      } else {
        r.bindings.add(InputBinding.parse(spec));
      }
    }
    return r;
  }

  /** Checks that {@code m} gets a value for every input, and none it does not have. */
  public void requireAll(Module m, String command) {
    for (String name : values.keySet()) {
      if (m.inputs().stream().noneMatch(v -> v.name().equals(name))) {
        throw MeshcException.input("--input %s: the model has no input '%s'; its inputs are %s", name, name,
            String.join(", ", m.inputs().stream().map(Value::name).toList()));
      }
    }
    List<String> missing = new ArrayList<>();
    for (Value v : m.inputs()) {
      if (!values.containsKey(v.name())) {
        missing.add(v.name() + " " + v.type().dtype().irName() + v.shape());
      }
    }
    if (!missing.isEmpty()) {
      throw MeshcException.input("%s needs a value for every input; missing %s (give --input NAME=FILE.npy)",
          command, String.join(", ", missing));
    }
  }

  public List<InputBinding> bindings() {
    return bindings;
  }

  public Map<String, Tensor> values() {
    return values;
  }
}
