package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.backends.csl.Layout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One PE of the kernel rectangle as the simulator runs it: its program's interpreter and file
 * scope (the PE's memory: every top-level var is a {@link Buffer}), what it exports to the host, its
 * cycle count and whether its program has released memcpy's command stream.
 */
public final class Pe {
  /** {@code @export_symbol(value, "name")}, with whether the exported name was declared {@code const}. */
  public record Export(String name, Object value, boolean declaredConst, Comptime.Loc loc) {}

  /** What a task ID names: a local or control task by number, a data task by colour (WSE-2) or input queue (WSE-3). */
  enum TaskKind { LOCAL, DATA, CONTROL }

  /** {@code @get_local_task_id(n)}, {@code @get_data_task_id(color or queue)}, {@code @get_control_task_id(n)}. */
  record TaskId(TaskKind kind, int id) {
    @Override
    public String toString() {
      return kind.name().toLowerCase(java.util.Locale.ROOT) + " task " + id;
    }
  }

  /** {@code @get_ut_id(n)} (WSE-3). */
  record Ut(int id) {}

  /** {@code @get_input_queue(n)} / {@code @get_output_queue(n)}. */
  record Queue(boolean input, int id) {}

  /** A bound task: activated (local, control) and blocked flags as @activate, @block and @unblock set them. */
  static final class Task {
    final TaskId id;
    final PeInterp.TaskVal fn;
    boolean active;
    boolean blocked;
    /** Where it was bound. */
    Comptime.Loc boundAt;
    /** Where it was last blocked, for a deadlock report. */
    Comptime.Loc blockedAt;
    /** A control task's data: the low 16 bits of the control wavelet that activated it. */
    int data;

    Task(TaskId id, PeInterp.TaskVal fn) {
      this.id = id;
      this.fn = fn;
    }

    String name() {
      return fn.decl().ID().getText();
    }
  }

  public final int x;
  public final int y;
  public final Layout.Tile tile;
  final Map<String, Export> exports = new LinkedHashMap<>();
  PeInterp interp;
  Comptime.Scope scope;
  long cycles;
  long bytes;
  boolean cmdStreamUnblocked;
  /** True once the program is loaded: its code runs, so @range yields numbers of its type, not comptime integers. */
  boolean started;
  /** The cycle each microthread is free from: its last async operation's end. */
  final Map<Integer, Long> threadFree = new java.util.HashMap<>();
  /** The latest end of an operation that activated or unblocked a task: tasks start after it. */
  long readyAt;
  /** Fabric DSDs without a queue (WSE-2 picks one): how many so far. */
  int anonymousQueues;
  /** {@code <debug>}'s traces, by key. */
  final Map<String, java.util.List<Object>> traces = new java.util.TreeMap<>();
  /** The DSRs the program named, by kind and number. */
  final Map<String, PeInterp.Dsr> dsrs = new java.util.HashMap<>();
  /** {@code <time>}'s counter: running, its zero, and what it read when stopped. */
  boolean tscOn;
  long tscBase;
  long tscFrozen;
  /** {@code <random>}'s xorshift32 state. */
  int prng;
  /** Bound tasks in ID order (the order the simulator picks among ready ones). */
  final java.util.TreeMap<Integer, Task> tasks = new java.util.TreeMap<>();
  /** Tasks activated or blocked at comptime before they were bound, by task key. */
  final Map<Integer, Task> unbound = new java.util.HashMap<>();
  /** WSE-3: the colour each queue was bound to by @initialize_queue. */
  final Map<Queue, Integer> queueColors = new LinkedHashMap<>();
  /** Async operations in flight, oldest first. */
  final java.util.List<Op> ops = new java.util.ArrayList<>();
  private final java.util.ArrayDeque<Fabric.Wavelet>[] inbox;
  /** The thread running this PE's task or launched fn, made at its first. */
  Strand strand;
  /** The synchronous operation the running task waits in, or null. */
  Op waiting;
  /** The task or fn running, for reports. */
  String running;
  /** {@code @set_local_color_config(color, cfg)} of the program, applied to the fabric at load. */
  final Map<Integer, Map<?, ?>> localColors = new java.util.TreeMap<>();
  final Map<Integer, Comptime.Loc> localColorLocs = new java.util.HashMap<>();
  Pe(int x, int y, Layout.Tile tile, int colors) {
    this.x = x;
    this.y = y;
    this.tile = tile;
    @SuppressWarnings("unchecked")
    java.util.ArrayDeque<Fabric.Wavelet>[] q = new java.util.ArrayDeque[colors];
    for (int c = 0; c < q.length; c++) {
      q[c] = new java.util.ArrayDeque<>();
    }
    this.inbox = q;
  }

  /** Wavelets that reached this PE's ramp on {@code color} and wait to be taken. */
  java.util.ArrayDeque<Fabric.Wavelet> inbox(int color) {
    return inbox[color];
  }

  int nextRandom() {
    if (prng == 0) {
      prng = (x * 73856093) ^ (y * 19349663) | 1;
    }
    prng ^= prng << 13;
    prng ^= prng >>> 17;
    prng ^= prng << 5;
    return prng;
  }

  boolean busy() {
    return strand != null && strand.busy;
  }

  /** Cycles this PE has spent since the program loaded (a DSD op its length, a statement one). */
  public long cycles() {
    return cycles;
  }

  public Map<String, Export> exports() {
    return java.util.Collections.unmodifiableMap(exports);
  }

  /** The value of top-level name {@code name} of the PE's program (a Buffer for a var). */
  public Object global(String name) {
    return interp.value(scope, name);
  }

  @Override
  public String toString() {
    return "PE (" + x + ", " + y + ")";
  }
}
