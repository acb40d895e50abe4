package dev.meshc.cli;

import dev.meshc.compiler.onnx.ImportLimits;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --limit NAME=N}, for every command that imports a model. */
final class LimitOption {
  @Option(names = "--limit", paramLabel = "NAME=N", description = "raise an import limit: model-bytes (default "
      + "2147483646), nodes (1000000), elements of one tensor (1099511627776), name-bytes (65536)")
  List<String> limits;

  ImportLimits limits() {
    ImportLimits l = ImportLimits.DEFAULTS;
    for (String s : limits == null ? List.<String>of() : limits) {
      l = l.with(s);
    }
    return l;
  }
}
