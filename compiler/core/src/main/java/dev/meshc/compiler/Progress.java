package dev.meshc.compiler;

/**
 * Where long work has got to, for whoever shows it (a progress bar on a terminal, plain lines in a
 * log, nothing when asked to be quiet). Stages are counted against the total announced first.
 */
public interface Progress {
  /** Work of {@code steps} stages begins. */
  void start(String task, long steps);

  /** The next stage, and what it is doing. */
  void step(String what);

  /** The work is over (also on failure). */
  void finish();

  Progress NONE = new Progress() {
    @Override
    public void start(String task, long steps) {}

    @Override
    public void step(String what) {}

    @Override
    public void finish() {}
  };
}
