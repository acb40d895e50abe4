package dev.meshc.cli;

import picocli.CommandLine.Option;

/** Options every reporting command takes. */
final class CommonOptions {
  @Option(names = "--json", description = "print one JSON object instead of text")
  boolean json;

  @Option(names = "--verbose", description = "show stack traces on errors (compile: also the solver's log, on stderr)")
  boolean verbose;

  @Option(names = {"-q", "--quiet"}, description = "no progress (a bar on a terminal, lines on stderr otherwise)")
  boolean quiet;
}
