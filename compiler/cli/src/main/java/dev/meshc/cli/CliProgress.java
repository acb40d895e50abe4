package dev.meshc.cli;

import dev.meshc.compiler.Progress;
import java.io.PrintWriter;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress as a person wants it: a bar on a terminal; on anything else (a pipe, a CI log) one
 * quiet line per stage on stderr; with {@code --quiet}, nothing.
 */
final class CliProgress {
  private CliProgress() {}

  static Progress of(CommonOptions common, PrintWriter err) {
    if (common.quiet) {
      return Progress.NONE;
    }
    return System.console() != null ? new Bar() : new Lines(err);
  }

  /** One line per stage. */
  static final class Lines implements Progress {
    private final PrintWriter err;
    private long steps;
    private long at;

    Lines(PrintWriter err) {
      this.err = err;
    }

    @Override
    public void start(String task, long steps) {
      this.steps = steps;
      this.at = 0;
    }

    @Override
    public void step(String what) {
      err.printf(java.util.Locale.ROOT, "meshc: [%d/%d] %s%n", ++at, steps, what);
      err.flush();
    }

    @Override
    public void finish() {}
  }

  /** A bar that names the stage it is in. */
  static final class Bar implements Progress {
    private ProgressBar bar;

    @Override
    public void start(String task, long steps) {
      bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
          .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).continuousUpdate().build();
    }

    @Override
    public void step(String what) {
      if (bar.getCurrent() > 0 || !bar.getExtraMessage().isEmpty()) {
        bar.step();
      }
      bar.setExtraMessage(what);
    }

    @Override
    public void finish() {
      if (bar != null) {
        bar.stepTo(bar.getMax());
        bar.close();
      }
    }
  }
}
