package dev.meshc.cli;

import dev.meshc.ir.Limits;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --limit NAME=N}, for every command that reads a stranger's file; the names are {@link Limits#NAMES}. */
final class LimitOption {
  /** The defaults as help prints them; CliTest holds them to {@link Limits#DEFAULTS}. */
  static final String DESCRIPTION = "raise a limit on what meshc reads (repeatable): model-bytes (default "
      + "2147483646), nodes (1000000), elements of one tensor (1099511627776), name-bytes (65536), proto-depth (64), "
      + "npy-header-bytes (65536), csl-bytes (16777216), comptime-steps (4000000000), layout-pes (1048576)";

  @Option(names = "--limit", paramLabel = "NAME=N", description = DESCRIPTION)
  List<String> limits;

  Limits limits() {
    return Limits.DEFAULTS.with(limits == null ? List.of() : limits);
  }
}
