package dev.meshc.backends.csl.sim;

import dev.meshc.ir.MeshcException;
import java.util.concurrent.Semaphore;

/**
 * A PE's thread of control: the task or launched fn it runs, on a Java thread of its own so that
 * a synchronous fabric operation can wait (park) mid-statement while other PEs move. Only one
 * strand or the simulator runs at any time, handing control back and forth, so runs are
 * deterministic.
 */
final class Strand {
  /** Unwinds a parked strand when the simulator closes. */
  private static final class Halt extends Error {
    Halt() {
      super(null, null, false, false);
    }
  }

  private final Semaphore go = new Semaphore(0);
  private final Semaphore back = new Semaphore(0);
  private final Thread thread;
  private volatile Runnable job;
  private volatile boolean closing;
  private RuntimeException failure;
  /** True from {@link #start} until the job returns. */
  boolean busy;

  Strand(String name) {
    // the interpreter recurses per expression: a deep stack, reserved, not committed
    thread = new Thread(null, this::loop, name, 64L << 20);
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    while (true) {
      go.acquireUninterruptibly();
      if (closing) {
        return;
      }
      try {
        job.run();
      } catch (Halt h) {
        return;
      } catch (MeshcException e) {
        failure = e;
      } catch (StackOverflowError e) {
        failure = MeshcException.input("%s: calls nest too deeply", thread.getName());
      } catch (RuntimeException e) {
        failure = e;
      } finally {
        busy = false;
        job = null;
      }
      back.release();
    }
  }

  /** Runs {@code r} until it returns or parks. */
  void start(Runnable r) {
    busy = true;
    job = r;
    hand();
  }

  /** Lets the parked job go on until it returns or parks again. */
  void resume() {
    hand();
  }

  private void hand() {
    go.release();
    back.acquireUninterruptibly();
    if (failure != null) {
      RuntimeException f = failure;
      failure = null;
      throw f;
    }
  }

  /** Called by the job itself: gives control back to the simulator until {@link #resume}. */
  void park() {
    back.release();
    go.acquireUninterruptibly();
    if (closing) {
      throw new Halt();
    }
  }

  void close() {
    closing = true;
    go.release();
  }
}
