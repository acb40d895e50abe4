package dev.meshc.cli;

import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/**
 * The {@code meshc} command. Exit codes: 0 done, 1 no plan / compile failure, 2 bad input or
 * usage, 3 internal error (a bug: please report it).
 */
@Command(name = "meshc", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Compiles ONNX transformer models for wafer-scale meshes of cores (the WaferLLM PLMR model).",
    subcommands = {InspectCommand.class, CompileCommand.class, RunCommand.class, EvalCommand.class, CheckTirCommand.class, CheckCslCommand.class, KernelCommand.class, SimCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Exit codes: 0 done, 1 no plan, 2 bad input or usage, 3 internal error.",
        "Example:", "  meshc inspect examples/models/tiny-llama.onnx --input input_ids=1x16"})
public final class Main implements Runnable {
  public static final int OK = 0;
  public static final int NO_PLAN = 1;
  public static final int USAGE = 2;
  public static final int INTERNAL = 3;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    System.exit(execute(args, System.out, System.err));
  }

  /** Runs meshc with {@code args}, printing to {@code out} and {@code err}; returns the exit code. */
  public static int execute(String[] args, PrintStream out, PrintStream err) {
    PrintWriter o = new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true);
    PrintWriter e = new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true);
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(o);
    cl.setErr(e);
    cl.setParameterExceptionHandler((ex, a) -> {
      e.println("meshc: " + ex.getMessage());
      e.println("Try '" + ex.getCommandLine().getCommandName() + " --help' for usage.");
      return USAGE;
    });
    cl.setExecutionExceptionHandler((ex, c, parsed) -> {
      boolean verbose = false;
      for (CommandLine.ParseResult r = parsed; r != null; r = r.subcommand()) { // the option is a subcommand's
        verbose |= r.hasMatchedOption("--verbose");
      }
      if (ex instanceof MeshcException m) {
        e.println("meshc: error: " + m.getMessage());
        if (verbose) {
          m.printStackTrace(e);
        }
        return m.kind().exitCode();
      }
      e.println("meshc: internal error, please report: " + ex.getClass().getName()
          + (ex.getMessage() == null ? "" : ": " + firstLine(ex.getMessage())));
      if (verbose) {
        ex.printStackTrace(e);
      } else {
        e.println("Run again with --verbose for the stack trace.");
      }
      return INTERNAL;
    });
    int code;
    try {
      code = cl.execute(args);
    } catch (OutOfMemoryError oom) {
      // a resource the user sets, not a bug: name it in one line (outputs are written only at the end)
      e.printf(java.util.Locale.ROOT, "meshc: error: out of Java heap (%.1f GiB): give java more, e.g. "
          + "MESHC_JAVA_OPTS=-Xmx%dg ./meshc ...%n", Runtime.getRuntime().maxMemory() / 1073741824.0,
          Math.max(4, 2 * (Runtime.getRuntime().maxMemory() >> 30)));
      code = USAGE;
    }
    o.flush();
    e.flush();
    return code;
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /** The version baked into the jar at build time. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("/meshc-version.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {"meshc " + p.getProperty("version", "unknown")};
    }
  }
}
