package dev.meshc.compiler.onnx;

import dev.meshc.ir.MeshcException;
import java.util.List;
import java.util.Locale;

/**
 * What the ONNX importer accepts before it refuses a file as hostile or broken: its size, its node
 * count, the elements of any one tensor, the length of any name or string attribute. Each has a
 * default that real models stay far below and can be raised ({@code --limit NAME=N}).
 *
 * @param modelBytes the .onnx file (protobuf itself stops at 2 GiB; weights beyond go external)
 * @param nodes      graph nodes
 * @param elements   elements of one tensor (an initializer or a bound input)
 * @param nameBytes  characters of a node, value or attribute name, or of a string attribute
 */
public record ImportLimits(long modelBytes, long nodes, long elements, long nameBytes) {
  public static final ImportLimits DEFAULTS = new ImportLimits(Integer.MAX_VALUE - 1L, 1_000_000, 1L << 40, 65_536);

  /** The names {@code --limit} takes, in the order of the fields. */
  public static final List<String> NAMES = List.of("model-bytes", "nodes", "elements", "name-bytes");

  public ImportLimits {
    if (modelBytes < 1 || nodes < 1 || elements < 1 || nameBytes < 1) {
      throw MeshcException.input("limits must be positive");
    }
    if (modelBytes >= Integer.MAX_VALUE) {
      throw MeshcException.input("--limit model-bytes=%d: protobuf reads at most %d bytes; store weights as "
          + "external data instead", modelBytes, Integer.MAX_VALUE - 1L);
    }
  }

  /** These limits with {@code NAME=N} applied. */
  public ImportLimits with(String setting) {
    int eq = setting.indexOf('=');
    String name = eq < 0 ? setting : setting.substring(0, eq);
    long v;
    try {
      v = Long.parseLong(setting.substring(eq + 1).replace("_", ""));
    } catch (RuntimeException e) {
      throw MeshcException.input("--limit %s: expected NAME=N with N a whole number; names: %s", setting,
          String.join(", ", NAMES));
    }
    return switch (name) {
      case "model-bytes" -> new ImportLimits(v, nodes, elements, nameBytes);
      case "nodes" -> new ImportLimits(modelBytes, v, elements, nameBytes);
      case "elements" -> new ImportLimits(modelBytes, nodes, v, nameBytes);
      case "name-bytes" -> new ImportLimits(modelBytes, nodes, elements, v);
      default -> throw MeshcException.input("--limit %s: no limit '%s'; meshc has %s", setting, name,
          String.join(", ", NAMES));
    };
  }

  /** The one line that refuses a file for crossing limit {@code name}. */
  MeshcException exceeded(Object where, String what, long value, String name, long limit) {
    String v = value == Long.MAX_VALUE ? "more than 2^63" : String.format(Locale.ROOT, "%,d", value);
    return MeshcException.input(String.format(Locale.ROOT, "%s: %s (%s) is over the limit of %,d; raise it with "
        + "--limit %s=N if the model is meant to be this large", where, what, v, limit, name));
  }
}
