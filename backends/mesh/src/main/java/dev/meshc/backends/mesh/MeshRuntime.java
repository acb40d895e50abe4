package dev.meshc.backends.mesh;

import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Action;
import dev.meshc.ir.kernel.Buffer;
import dev.meshc.ir.kernel.Combine;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Local;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.kernel.RowWise;
import dev.meshc.ir.kernel.TileMap;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The wafer in Java: a grid of PEs with capped memories and routers whose per-colour tables are
 * set from a kernel template, running the template's step program PE by PE. Values are fp16 in
 * memory and on the fabric (fp32 only in accumulators when the template says so).
 *
 * <p>Time: every PE has a clock. Computing costs FMACs / fmacs_per_cycle. A unicast transfer
 * starts when the sender has issued it and the receiver has posted its receive (receives are
 * posted when the round starts, as asynchronous DSD moves are), its head advances α per hop and
 * it occupies each link for one cycle per wavelet (a busy link delays it); the receiver is done
 * when the tail arrives. A software relay forwards the head β after it arrives (cut-through). A
 * multicast leaves when issued. Rounds order the program but cost nothing themselves.
 */
public final class MeshRuntime {
  /** Functional runs keep every PE's buffers in memory, gathered into one array: at most this many values. */
  public static final long FUNCTIONAL_LIMIT = 1L << 30;
  /** ... on at most this many PEs (a wafer) ... */
  public static final long FUNCTIONAL_PES = 1L << 20;
  /**
   * ... and at most this many PE-rounds (PEs × the template's rounds), which its time follows: a
   * decode step's kernels on 300² regions take 1.6 million, a prefill MeshGEMM on 750² 630 million.
   */
  public static final long FUNCTIONAL_WORK = 1L << 27;
  /** About what a functional run holds per PE besides its buffers' values (mailboxes, routes, clocks). */
  private static final long BYTES_PER_PE = 1024;

  private final KernelTemplate t;
  private final MachineSpec m;
  private final boolean functional;
  private final int w;
  private final int h;
  private final int n;
  private final int colors;
  private final Route[] table;
  // State is interleaved by what a transfer touches together, so that one reaches one cache line
  // of each (a 720×720 run's state is far larger than the caches): per PE [clock, the round's
  // start, compute, compute at the round's start]; per link (PE · 4 + direction) [free from, its
  // value before the round that last used it, that round or −1].
  private final double[] pe;
  private final double[] linkState;
  private final boolean skipping;
  private long pending; // messages sent and not yet received
  private long skippedRounds; // PE-rounds advanced by a time shift rather than simulated
  private final Msg[] mail; // per (PE, colour): [head, tail] of its mailbox
  private final int[][][] paths; // per (PE, colour): each delivery's links, traced once
  private final int[][] pathDest; // per (PE, colour): each delivery's PE
  private final Tree[] trees; // per (PE, colour) that multicasts: its deliveries as one tree of links
  private double[] treeStart = new double[64]; // scratch: when each link of a tree takes the head
  private final List<int[]> traced = new ArrayList<>(); // scratch: one trace's deliveries
  private final int[] traceLinks; // scratch: the path a trace has followed so far
  // Per (PE, colour), SLOT ints: the PE waiting on its mailbox or −1; then, for a route of one
  // delivery of at most SHORT links (the common case), held flat so that a timing run does not
  // chase pointers: its length (−1 = not such a route, or not traced yet), its PE, its links.
  private static final int SHORT = 4;
  private static final int SLOT = 8;
  private final int[] slots;
  private int[] ready = new int[0]; // the receive part's queue of PEs to run: all that receive, then the woken
  private int readyLen;
  // the template's buffer names, in order of first appearance, and each one's precision; functional
  // runs: PE p's buffer number i is memory.get(i)[p]. A template has a handful, named by literals,
  // so a scan by identity finds them faster than hashing (actions name them 10⁸ times a run).
  private String[] bufferNames = new String[0];
  private boolean[] bufferFp32 = new boolean[0];
  private final List<float[][]> memory = new ArrayList<>();
  // functional runs check that a link carries one flow per colour and round: its sender + 1, stamped round + 1
  private final int[] flowSrc;
  private final int[] flowRound;
  // ... which only links that two senders' routes share can break: per link and colour the one
  // sender whose routes take it (+ 1; −1: more than one), per (PE, colour) whether its routes share a
  // link and the round it last sent in (+ 1)
  private final int[] linkOwner;
  private final boolean[] shares;
  private final int[] lastSent;
  private int round;
  private int maxHops;
  private long transfers;
  private long maxBytes;
  private int maxColors;

  /**
   * A multicast's links, each once, in the order the deliveries first take them: {@code parent[i]}
   * is the index of the link before link i ({@code −1}: it leaves the sender), {@code last[d]} the
   * index of delivery d's last link.
   */
  private record Tree(int[] links, int[] parent, int[] last) {
    static Tree of(int[][] deliveries) {
      Map<Integer, Integer> at = new HashMap<>();
      List<Integer> links = new ArrayList<>();
      List<Integer> parent = new ArrayList<>();
      int[] last = new int[deliveries.length];
      for (int d = 0; d < deliveries.length; d++) {
        int prev = -1;
        for (int link : deliveries[d]) {
          Integer i = at.get(link);
          if (i == null) {
            i = links.size();
            at.put(link, i);
            links.add(link);
            parent.add(prev);
          }
          prev = i;
        }
        last[d] = prev;
      }
      return new Tree(links.stream().mapToInt(Integer::intValue).toArray(),
          parent.stream().mapToInt(Integer::intValue).toArray(), last);
    }
  }

  /**
   * What tracing a template's routes found, kept from a finished functional run for the next run
   * of the same template (a prefill attention's heads, one after another or side by side): routes
   * are static and the step program does not depend on values, so every run traces the same.
   */
  private record Traced(int[][][] paths, int[][] pathDest, Tree[] trees, int[] linkOwner, boolean[] shares,
      int maxHops) {
    /** About the heap this holds (arrays' elements and headers). */
    long bytes() {
      long b = 16L * (paths.length + pathDest.length + trees.length) + 4L * linkOwner.length + shares.length;
      for (int i = 0; i < paths.length; i++) {
        if (paths[i] != null) {
          for (int[] path : paths[i]) {
            b += 16 + 4L * path.length;
          }
        }
        b += pathDest[i] == null ? 0 : 16 + 4L * pathDest[i].length;
        b += trees[i] == null ? 0 : 48 + 4L * (trees[i].links().length + trees[i].parent().length
            + trees[i].last().length);
      }
      return b;
    }
  }

  /**
   * The traced routes of the templates run most recently, by identity (no template overrides
   * equals), within an eighth of the heap: a decode step of a paper-scale model runs hundreds of
   * templates once each, whose routes would otherwise outgrow the values they carry. Only speed
   * depends on what it keeps.
   */
  private static final class TracedCache {
    private final long budget = Runtime.getRuntime().maxMemory() / 8;
    private final Map<KernelTemplate, Traced> byTemplate = new java.util.IdentityHashMap<>();
    private final java.util.ArrayDeque<KernelTemplate> order = new java.util.ArrayDeque<>(); // oldest first
    private final Map<KernelTemplate, Long> size = new java.util.IdentityHashMap<>();
    private long held;

    synchronized Traced get(KernelTemplate t) {
      return byTemplate.get(t);
    }

    synchronized void put(KernelTemplate t, Traced r) {
      long b = r.bytes();
      if (b > budget || byTemplate.containsKey(t)) {
        return;
      }
      while (held + b > budget) {
        KernelTemplate old = order.removeFirst();
        byTemplate.remove(old);
        held -= size.remove(old);
      }
      byTemplate.put(t, r);
      size.put(t, b);
      order.addLast(t);
      held += b;
    }
  }

  private static final TracedCache TRACED = new TracedCache();

  /** A message in a PE's mailbox for one colour. */
  private static final class Msg {
    final int src;
    final double issue;
    final long wavelets;
    final int len;
    final float[] data;
    final boolean half; // data holds fp16 values exactly (it left an fp16 buffer)
    final int[] links; // the path, or null when it is the flat short path of slot
    final int slot;
    final double arrival; // multicast: the head's arrival here; unicast: NaN (computed on receipt)
    Msg next; // the mailbox is a FIFO per colour, as the PE's input queue is

    Msg(int src, double issue, long wavelets, int len, float[] data, boolean half, int[] links, int slot,
        double arrival) {
      this.src = src;
      this.issue = issue;
      this.wavelets = wavelets;
      this.len = len;
      this.data = data;
      this.half = half;
      this.links = links;
      this.slot = slot;
      this.arrival = arrival;
    }
  }

  private MeshRuntime(KernelTemplate t, MachineSpec m, boolean functional, boolean oneColumn, boolean skipping) {
    this.t = t;
    this.m = m;
    this.functional = functional;
    this.skipping = skipping && !functional;
    m.checkGrid(t.width(), t.height());
    this.w = oneColumn ? 1 : t.width();
    this.h = t.height();
    this.n = w * h;
    this.colors = Math.max(1, t.colors());
    if (t.colors() > m.colorBudget()) {
      throw new MeshcException(MeshcException.Kind.NO_PLAN, String.format(
          "%s uses %d colours; %s routes %d (%d less the reserved %s)", t.algorithm(), t.colors(), m.name(),
          m.colorBudget(), m.routableColors(), m.reservedColors()));
    }
    this.table = new Route[n * colors];
    this.pe = new double[4 * n];
    this.linkState = new double[3 * 4 * n];
    for (int l = 0; l < 4 * n; l++) {
      linkState[3 * l + 2] = -1;
    }
    this.mail = new Msg[2 * n * colors];
    Traced known = functional ? TRACED.get(t) : null; // routes a finished run of t traced
    this.paths = known != null ? known.paths().clone() : new int[n * colors][][];
    this.pathDest = known != null ? known.pathDest().clone() : new int[n * colors][];
    this.trees = known != null ? known.trees().clone() : new Tree[n * colors];
    this.slots = new int[SLOT * n * colors];
    for (int i = 0; i < n * colors; i++) {
      slots[SLOT * i] = -1;
      slots[SLOT * i + 1] = -1;
    }
    this.traceLinks = new int[w + h + 2];
    this.flowSrc = functional ? new int[n * 4 * colors] : null;
    this.flowRound = functional ? new int[n * 4 * colors] : null;
    this.linkOwner = known != null ? known.linkOwner().clone() : functional ? new int[n * 4 * colors] : null;
    this.shares = known != null ? known.shares().clone() : functional ? new boolean[n * colors] : null;
    this.lastSent = functional ? new int[n * colors] : null;
    this.maxHops = known != null ? known.maxHops() : 0;
    configure();
  }

  /**
   * Why {@code t} is too big to run with real values (every PE's buffers are held in memory), or
   * null when it is not.
   */
  public static String functionalTooBig(KernelTemplate t) {
    long pes = (long) t.width() * t.height();
    long values = pes * (t.maxBytesPerPe() / 2);
    long work = pes * t.rounds();
    if (values > FUNCTIONAL_LIMIT || pes > FUNCTIONAL_PES || work > FUNCTIONAL_WORK) {
      return String.format(java.util.Locale.ROOT, "a functional %s on %dx%d PEs (%,d values, %,d rounds: %,d "
          + "PE-rounds) is more than the runtime simulates with real numbers (%,d values, %,d PEs, %,d PE-rounds)",
          t.algorithm(), t.width(), t.height(), values, t.rounds(), work, FUNCTIONAL_LIMIT, FUNCTIONAL_PES,
          FUNCTIONAL_WORK);
    }
    return heapTooSmall(String.format(java.util.Locale.ROOT, "a functional %s on %dx%d PEs", t.algorithm(),
        t.width(), t.height()), functionalBytes(t), 0.5);
  }

  /** About the heap a functional run of {@code t} holds: its PEs' values as floats, and their mailboxes and routes. */
  public static long functionalBytes(KernelTemplate t) {
    long pes = (long) t.width() * t.height();
    return 4 * pes * (t.maxBytesPerPe() / 2) + BYTES_PER_PE * pes;
  }

  /**
   * Why {@code what}, which holds about {@code bytes} at once, does not fit {@code share} of this
   * JVM's heap (the rest left to the values around it and the collector), or null when it does.
   */
  public static String heapTooSmall(String what, long bytes, double share) {
    long heap = Runtime.getRuntime().maxMemory();
    if (bytes <= share * heap) {
      return null;
    }
    return String.format(java.util.Locale.ROOT, "%s: about %.1f GiB at once, more than this JVM's %.1f GiB heap "
        + "leaves it; give java at least -Xmx%dg (MESHC_JAVA_OPTS=-Xmx%dg ./meshc ...)", what, bytes / 1073741824.0,
        heap / 1073741824.0, (long) Math.ceil(bytes / share / 1073741824.0),
        (long) Math.ceil(bytes / share / 1073741824.0));
  }

  /**
   * Runs {@code t} with real values: {@code a} is M×K and {@code b} K×N (or N×K for dist-GEMM-T),
   * row-major; they are rounded to fp16 as they are loaded.
   */
  public static RunResult functional(KernelTemplate t, MachineSpec m, float[] a, float[] b) {
    return functional(t, m, Map.of("A", a, "B", b));
  }

  /**
   * Runs {@code t} with real values for its named inputs (row-major, of {@link
   * KernelTemplate#inputShape}), each rounded to its buffer's precision (fp16 unless the buffer
   * is fp32) as it is loaded.
   */
  public static RunResult functional(KernelTemplate t, MachineSpec m, Map<String, float[]> inputs) {
    String tooBig = functionalTooBig(t);
    if (tooBig != null) {
      throw MeshcException.input("%s; use a timing-only run or a smaller grid", tooBig);
    }
    MeshRuntime r = new MeshRuntime(t, m, true, false, false);
    for (String name : new java.util.TreeSet<>(inputs.keySet())) {
      long[] shape = t.inputShape(name);
      r.load(name, inputs.get(name), shape[0], shape[1]);
    }
    r.execute();
    TRACED.put(t, new Traced(r.paths.clone(), r.pathDest.clone(), r.trees.clone(), r.linkOwner.clone(),
        r.shares.clone(), r.maxHops));
    return r.result(r.gather());
  }

  /**
   * Runs {@code t} for time alone: no values move, and a template whose columns are independent
   * is simulated on one column, so wafer-scale instances take seconds.
   */
  public static RunResult timing(KernelTemplate t, MachineSpec m) {
    return timing(t, m, t.columnsIndependent(), true);
  }

  /**
   * Timing with the one-column reduction and the skipping of repeated rounds each on or off (tests
   * check that both give the full simulation's cycles).
   */
  public static RunResult timing(KernelTemplate t, MachineSpec m, boolean oneColumn, boolean skipRepeats) {
    if (oneColumn && !t.columnsIndependent()) {
      throw new IllegalArgumentException(t.algorithm() + " does not declare independent columns");
    }
    MeshRuntime r = new MeshRuntime(t, m, false, oneColumn, skipRepeats);
    r.execute();
    return r.result(null);
  }

  private RunResult result(float[] c) {
    double cycles = 0;
    double comp = 0;
    for (int p = 0; p < n; p++) {
      cycles = Math.max(cycles, pe[4 * p]);
      comp = Math.max(comp, pe[4 * p + 2]);
    }
    return new RunResult(cycles, comp, cycles - comp, maxBytes, maxColors, maxHops, transfers, c);
  }

  // ---- set-up: memories and routers -------------------------------------------------------------

  private void configure() {
    Map<Route, Route> interned = new HashMap<>();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = y * w + x;
        List<Buffer> bufs = t.buffers(x, y);
        long bytes = 0;
        for (Buffer b : bufs) {
          bytes += b.bytes();
        }
        if (bytes > m.bufferBudget()) {
          StringBuilder s = new StringBuilder();
          for (Buffer b : bufs) {
            s.append(s.length() == 0 ? "" : ", ").append(b.name()).append(' ').append(b.bytes()).append(" B");
          }
          throw new MeshcException(MeshcException.Kind.NO_PLAN, String.format(
              "PE (%d,%d) needs %d bytes of buffers (%s) but %s leaves %d per PE (%d less %d for code); use a "
              + "larger grid or a smaller problem", x, y, bytes, s, m.name(), m.bufferBudget(), m.bytesPerPe(),
              m.programReserveBytes()));
        }
        maxBytes = Math.max(maxBytes, bytes);
        for (Buffer b : bufs) {
          int i = declare(b);
          if (functional) {
            memory.get(i)[p] = new float[b.elements()];
          }
        }
        List<Route> routes = t.routes(x, y);
        for (Route r : routes) {
          if (r.color() < 0 || r.color() >= colors) {
            throw error(x, y, r.color(), "is outside the template's %d colours", t.colors());
          }
          if (table[p * colors + r.color()] != null) {
            throw error(x, y, r.color(), "has two router entries");
          }
          for (Dir d : r.tx()) {
            checkOnMesh(x, y, d, r.color());
          }
          if (r.rx() != Dir.RAMP) {
            checkOnMesh(x, y, r.rx(), r.color());
          }
          table[p * colors + r.color()] = interned.computeIfAbsent(r, k -> k);
        }
        maxColors = Math.max(maxColors, routes.size());
      }
    }
  }

  /** The number of buffer b's name, numbering it if it is new. */
  private int declare(Buffer b) {
    int i = find(b.name());
    if (i < 0) {
      i = bufferNames.length;
      bufferNames = java.util.Arrays.copyOf(bufferNames, i + 1);
      bufferFp32 = java.util.Arrays.copyOf(bufferFp32, i + 1);
      bufferNames[i] = b.name();
      bufferFp32[i] = b.fp32();
      if (functional) {
        memory.add(new float[n][]);
      }
    } else if (bufferFp32[i] != b.fp32()) {
      throw new IllegalStateException(t.algorithm() + ": buffer " + b.name() + " changes precision across PEs");
    }
    return i;
  }

  /** The number of a buffer name, or −1. */
  private int find(String name) {
    for (int i = 0; i < bufferNames.length; i++) {
      if (bufferNames[i] == name) {
        return i;
      }
    }
    for (int i = 0; i < bufferNames.length; i++) {
      if (bufferNames[i].equals(name)) {
        return i;
      }
    }
    return -1;
  }

  private void checkOnMesh(int x, int y, Dir d, int color) {
    int nx = x + d.dx();
    int ny = y + d.dy();
    if (nx < 0 || ny < 0 || nx >= w || ny >= h) {
      throw error(x, y, color, "is routed %s, off the mesh", d);
    }
  }

  private MeshcException error(int x, int y, int color, String fmt, Object... args) {
    return new MeshcException(MeshcException.Kind.NO_PLAN, String.format("%s: PE (%d,%d) colour %d (ID %d) ",
        t.algorithm(), x, y, color, m.physicalColor(color)) + String.format(fmt, args));
  }

  // ---- data in and out --------------------------------------------------------------------------

  private void load(String tensor, float[] data, long rows, long cols) {
    if (data.length != rows * cols) {
      throw new IllegalArgumentException(tensor + " has " + data.length + " values, not " + rows + "x" + cols);
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (TileMap tm : t.inputs(x, y)) {
          if (!tm.tensor().equals(tensor)) {
            continue;
          }
          float[] buf = buffer(y * w + x, tm.buffer());
          boolean half = !fp32(tm.buffer()); // values take the precision of where they land
          for (int i = 0; i < tm.rows(); i++) {
            for (int j = 0; j < tm.cols(); j++) {
              long r = tm.row0() + i;
              long c = tm.col0() + j;
              float v = r < rows && c < cols ? data[(int) (r * cols + c)] : 0f;
              v = half ? Fp16.round(v) : v;
              buf[tm.transposed() ? j * tm.rows() + i : i * tm.cols() + j] = v;
            }
          }
        }
      }
    }
  }

  private float[] gather() {
    long rows = t.problem().m();
    long cols = t.problem().n();
    float[] c = new float[(int) (rows * cols)];
    boolean[] seen = new boolean[c.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (TileMap tm : t.outputs(x, y)) {
          float[] buf = buffer(y * w + x, tm.buffer());
          for (int i = 0; i < tm.rows(); i++) {
            for (int j = 0; j < tm.cols(); j++) {
              long r = tm.row0() + i;
              long col = tm.col0() + j;
              if (r >= rows || col >= cols) {
                continue;
              }
              int at = (int) (r * cols + col);
              float v = buf[tm.transposed() ? j * tm.rows() + i : i * tm.cols() + j];
              if (seen[at] && Float.compare(c[at], v) != 0) {
                throw new IllegalStateException(String.format("%s: replicas of C[%d,%d] disagree at PE (%d,%d): %s vs %s",
                    t.algorithm(), r, col, x, y, c[at], v));
              }
              c[at] = v;
              seen[at] = true;
            }
          }
        }
      }
    }
    return c;
  }

  // ---- the step program -------------------------------------------------------------------------

  private void execute() {
    @SuppressWarnings("unchecked")
    List<Action>[] acts = new List[n];
    int[] split = new int[n];
    ready = new int[4 * n];
    @SuppressWarnings("unchecked")
    List<Action>[] prog = new List[n]; // this round's program per PE
    @SuppressWarnings("unchecked")
    List<Action>[] prevProg = new List[n]; // the previous round's
    for (round = 0; round < t.rounds(); round++) {
      List<Action>[] swap = prevProg;
      prevProg = prog;
      prog = swap;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int p = y * w + x;
          pe[4 * p + 1] = pe[4 * p];
          pe[4 * p + 3] = pe[4 * p + 2];
          List<Action> a = t.actions(round, x, y);
          acts[p] = a;
          prog[p] = a;
          int i = 0;
          while (i < a.size() && !a.get(i).receives()) {
            issue(p, a.get(i));
            i++;
          }
          split[p] = i;
        }
      }
      // The receive part runs as dataflow: a PE whose message has not been sent yet waits, and
      // wakes when it arrives, so relay chains may run either way along a line in one round.
      readyLen = 0;
      for (int p = 0; p < n; p++) {
        if (split[p] < acts[p].size()) {
          ready[readyLen++] = p;
        }
      }
      for (int next = 0; next < readyLen; next++) {
        int p = ready[next];
        List<Action> a = acts[p];
        int i = split[p];
        for (; i < a.size(); i++) {
          Action act = a.get(i);
          if (act instanceof Action.Send) {
            throw error(p % w, p / w, ((Action.Send) act).color(), "sends in round %d after receiving; a send "
                + "there would wait on its own round", round);
          }
          if (act.receives()) {
            int color = act instanceof Action.Recv r ? r.color() : ((Action.Relay) act).in();
            if (mail[2 * (p * colors + color)] == null) {
              slots[SLOT * (p * colors + color)] = p;
              break;
            }
            receive(p, act);
          } else {
            issue(p, act);
          }
        }
        split[p] = i;
        if (i == a.size()) {
          acts[p] = null;
        }
      }
      for (int p = 0; p < n; p++) {
        if (acts[p] != null && split[p] < acts[p].size()) {
          Action act = acts[p].get(split[p]);
          int color = act instanceof Action.Recv r ? r.color() : ((Action.Relay) act).in();
          throw error(p % w, p / w, color, "waits in round %d but nothing was sent to it", round);
        }
      }
      if (skipping && round > 0) {
        round = skipRepeats(round, prevProg, prog);
      }
    }
    for (int p = 0; p < n; p++) {
      for (int c = 0; c < colors; c++) {
        if (mail[2 * (p * colors + c)] != null) {
          throw error(p % w, p / w, c, "has a message nobody received (from PE (%d,%d))",
              mail[2 * (p * colors + c)].src % w, mail[2 * (p * colors + c)].src / w);
        }
      }
    }
  }

  /** Occupies a link until {@code free}, remembering its value before this round's first use. */
  private void occupy(int link, double free) {
    if (linkState[3 * link + 2] != round) {
      linkState[3 * link + 2] = round;
      linkState[3 * link + 1] = linkState[3 * link];
    }
    linkState[3 * link] = free;
  }

  // ---- skipping repeated rounds -----------------------------------------------------------------

  private static final double SHIFT_TOLERANCE = 1e-6; // cycles: rounding in sums of ~1e8

  /**
   * After round r, when the template promises that the next rounds repeat r's programs (or go
   * idle): split the busy PEs into groups that interact (a message or a shared link joins two
   * PEs). If round r moved a group by one time shift δ against round r − 1 (every clock and every
   * link it used), each further repeat moves it by δ again, because a round is a max-plus function
   * of the clocks and link times it reads: shift them all by δ and every result shifts by δ. Those
   * rounds are applied as shifts, up to where the group goes idle or the promise ends (a group
   * that goes idle piecemeal stops everyone there). Returns the last round done.
   */
  private int skipRepeats(int r, List<Action>[] prevProg, List<Action>[] prog) {
    int until = Math.min(t.sameProgramUntil(r), t.rounds());
    if (until <= r + 1 || pending != 0) {
      return r;
    }
    for (int p = 0; p < n; p++) {
      if (!prog[p].isEmpty() && prog[p] != prevProg[p] && !prog[p].equals(prevProg[p])) {
        return r; // round r is not a repeat of r − 1, so it measured no shift
      }
    }
    int[] parent = new int[n];
    int[] owner = new int[n * 4];
    java.util.Arrays.fill(owner, -1);
    for (int p = 0; p < n; p++) {
      parent[p] = p;
    }
    for (int p = 0; p < n; p++) {
      for (Action a : prog[p]) {
        int color = a instanceof Action.Send s ? s.color() : a instanceof Action.Relay rl ? rl.out() : -1;
        if (color < 0) {
          continue;
        }
        int[][] links = paths[p * colors + color];
        for (int d = 0; d < links.length; d++) {
          union(parent, p, pathDest[p * colors + color][d]);
          for (int link : links[d]) {
            if (linkState[3 * link + 2] != r) {
              return r;
            }
            if (owner[link] < 0) {
              owner[link] = p;
            } else {
              union(parent, p, owner[link]);
            }
          }
        }
      }
    }
    double[] shift = new double[n];
    int[] end = new int[n]; // per group: the first round any member is idle
    boolean[] ragged = new boolean[n]; // per group: members go idle in different rounds
    java.util.Arrays.fill(shift, Double.NaN);
    java.util.Arrays.fill(end, -1);
    int[] idleFrom = new int[n];
    for (int p = 0; p < n; p++) {
      if (prog[p].isEmpty()) {
        continue;
      }
      int g = find(parent, p);
      double delta = pe[4 * p] - pe[4 * p + 1];
      if (Double.isNaN(shift[g])) {
        shift[g] = delta;
      } else if (Math.abs(shift[g] - delta) > SHIFT_TOLERANCE) {
        return r;
      }
      idleFrom[p] = idleFrom(p, r, until, prog[p]);
      if (end[g] < 0) {
        end[g] = idleFrom[p];
      } else if (end[g] != idleFrom[p]) {
        ragged[g] = true;
        end[g] = Math.min(end[g], idleFrom[p]);
      }
    }
    for (int link = 0; link < owner.length; link++) {
      if (owner[link] >= 0 && Math.abs(linkState[3 * link] - linkState[3 * link + 1] - shift[find(parent, owner[link])])
          > SHIFT_TOLERANCE) {
        return r;
      }
    }
    int stop = until; // the round simulation resumes at
    for (int g = 0; g < n; g++) {
      if (ragged[g]) {
        stop = Math.min(stop, end[g]);
      }
    }
    if (stop <= r + 1) {
      return r;
    }
    for (int p = 0; p < n; p++) {
      if (prog[p].isEmpty()) {
        continue;
      }
      int g = find(parent, p);
      int times = Math.min(end[g], stop) - r - 1;
      pe[4 * p] += times * shift[g];
      pe[4 * p + 2] += times * (pe[4 * p + 2] - pe[4 * p + 3]);
      for (Action a : prog[p]) {
        if (a instanceof Action.Send || a instanceof Action.Relay) {
          transfers += times;
        }
      }
      skippedRounds += times;
      if (idleFrom[p] < stop) {
        prog[p] = List.of(); // what it ran in round stop − 1, the next round's "previous"
      }
    }
    for (int link = 0; link < owner.length; link++) {
      if (owner[link] >= 0) {
        int g = find(parent, owner[link]);
        linkState[3 * link] += (Math.min(end[g], stop) - r - 1) * shift[g];
      }
    }
    return stop - 1;
  }

  /** The first round in (r, until) where PE p idles, by bisection over the template's promise. */
  private int idleFrom(int p, int r, int until, List<Action> program) {
    int lo = r + 1;
    int hi = until;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      List<Action> a = t.actions(mid, p % w, p / w);
      if (a.isEmpty()) {
        hi = mid;
      } else if (a == program || a.equals(program)) {
        lo = mid + 1;
      } else {
        throw new IllegalStateException(String.format("%s: PE (%d,%d) changes program in round %d, before round %d "
            + "that sameProgramUntil(%d) promised", t.algorithm(), p % w, p / w, mid, until, r));
      }
    }
    return lo;
  }

  private static int find(int[] parent, int p) {
    while (parent[p] != p) {
      parent[p] = parent[parent[p]];
      p = parent[p];
    }
    return p;
  }

  private static void union(int[] parent, int a, int b) {
    int ra = find(parent, a);
    int rb = find(parent, b);
    if (ra != rb) {
      parent[Math.max(ra, rb)] = Math.min(ra, rb);
    }
  }

  private void issue(int p, Action a) {
    if (a instanceof Action.Send s) {
      send(p, s.color(), pe[4 * p], slice(p, s.buffer(), s.offset(), s.length()), bytesOf(s.buffer()) == 2,
          s.length(), bytesOf(s.buffer()) * s.length());
    } else if (a instanceof Action.Gemm g) {
      double cyc = (double) g.m() * g.k() * g.n() / m.fmacsPerCycle();
      pe[4 * p] += cyc;
      pe[4 * p + 2] += cyc;
      if (functional) {
        Numerics.gemm(mem(p), g, fp32(g.c()));
      }
    } else if (a instanceof Action.Gemv g) {
      double cyc = (double) g.m() * g.n() / m.fmacsPerCycle();
      pe[4 * p] += cyc;
      pe[4 * p + 2] += cyc;
      if (functional) {
        Numerics.gemv(mem(p), g, fp32(g.y()));
      }
    } else if (a instanceof Action.RowStats rs) {
      double cyc = RowWise.statsCycles(m, rs.fn(), rs.rows(), rs.cols(), rs.pass());
      pe[4 * p] += cyc;
      pe[4 * p + 2] += cyc;
      if (functional) {
        Numerics.rowStats(mem(p), rs);
      }
    } else if (a instanceof Action.RowFinish rf) {
      double cyc = RowWise.finishCycles(m, rf.fn(), rf.rows(), rf.cols());
      pe[4 * p] += cyc;
      pe[4 * p + 2] += cyc;
      if (functional) {
        Numerics.rowFinish(mem(p), rf);
      }
    } else if (a instanceof Action.Map mp) {
      double cyc = Local.cycles(m, mp.fn(), mp.elements());
      pe[4 * p] += cyc;
      pe[4 * p + 2] += cyc;
      if (functional) {
        Numerics.map(mem(p), mp, fp32(mp.out()));
      }
    } else if (a instanceof Action.Zero z) {
      if (functional) {
        java.util.Arrays.fill(buffer(p, z.buffer()), 0f);
      }
    } else if (a instanceof Action.Swap s) {
      if (functional) {
        float[][] one = memory.get(index(s.a()));
        float[][] other = memory.get(index(s.b()));
        float[] x = one[p];
        one[p] = other[p];
        other[p] = x;
      }
    } else {
      throw new IllegalStateException("cannot issue " + a);
    }
  }

  private int bytesOf(String buffer) {
    return fp32(buffer) ? 4 : 2;
  }

  private boolean fp32(String buffer) {
    return bufferFp32[index(buffer)];
  }

  private float[] buffer(int p, String name) {
    float[] b = memory.get(index(name))[p];
    if (b == null) {
      throw new IllegalStateException("PE " + p + " has no buffer " + name);
    }
    return b;
  }

  private int index(String buffer) {
    int i = find(buffer);
    if (i < 0) {
      throw new IllegalStateException(t.algorithm() + " has no buffer " + buffer);
    }
    return i;
  }

  /** PE p's buffers, as the arithmetic reads them. */
  private Numerics.Mem mem(int p) {
    return name -> buffer(p, name);
  }

  private float[] slice(int p, String name, int off, int len) {
    if (!functional) {
      return null;
    }
    float[] b = buffer(p, name);
    return java.util.Arrays.copyOfRange(b, off, off + len);
  }

  /**
   * Injects a message at PE p: follows the routers from p, checking every entry, and leaves it in
   * the mailbox of every PE whose route delivers it (RAMP).
   */
  private void send(int p, int color, double issue, float[] data, boolean half, int len, long bytes) {
    int slot0 = p * colors + color;
    long wavelets = m.wavelets(bytes / 2); // bytes are whole fp16 halves
    if (slots[SLOT * slot0 + 1] >= 0 && !functional) { // a short unicast already traced: straight to the mailbox
      transfers++;
      deliver(slots[SLOT * slot0 + 2], color, new Msg(p, issue, wavelets, len, data, half, null, slot0, Double.NaN));
      return;
    }
    Route r = table[p * colors + color];
    int x = p % w;
    int y = p / w;
    if (r == null || !r.sends()) {
      throw error(x, y, color, "sends but its router %s", r == null ? "has no route for it"
          : "takes it from " + r.rx() + ", not from the PE");
    }
    if (paths[slot0] == null) { // routes are static: trace once
      List<int[]> found = traced;
      found.clear();
      trace(p, color, r, traceLinks, 0, found);
      if (found.isEmpty()) {
        throw error(x, y, color, "sends but no router on its path delivers it to a PE");
      }
      int[][] links = new int[found.size()][];
      int[] dests = new int[found.size()];
      for (int i = 0; i < links.length; i++) {
        int[] d = found.get(i);
        links[i] = java.util.Arrays.copyOf(d, d.length - 1);
        dests[i] = d[d.length - 1];
        maxHops = Math.max(maxHops, links[i].length);
      }
      paths[slot0] = links;
      pathDest[slot0] = dests;
      trees[slot0] = links.length > 1 ? Tree.of(links) : null;
      if (functional) {
        own(p, color, links(slot0));
      }
      if (links.length == 1 && links[0].length <= SHORT) {
        slots[SLOT * slot0 + 1] = links[0].length;
        System.arraycopy(links[0], 0, slots, SLOT * slot0 + 3, links[0].length);
        slots[SLOT * slot0 + 2] = dests[0];
      }
    }
    int[][] deliveries = paths[slot0];
    Tree tree = trees[slot0];
    if (functional) {
      if (shares[slot0]) {
        checkFlows(p, color, links(slot0));
      }
      lastSent[slot0] = round + 1;
    }
    transfers++;
    if (tree == null) { // a unicast: it moves when the receiver has posted its receive
      deliver(pathDest[slot0][0], color, new Msg(p, issue, wavelets, len, data, half, deliveries[0], -1,
          Double.NaN));
      return;
    }
    // a multicast leaves when issued and takes each link of its tree once
    int[] links = tree.links();
    if (treeStart.length < links.length) {
      treeStart = new double[Math.max(links.length, 2 * treeStart.length)];
    }
    for (int i = 0; i < links.length; i++) {
      int before = tree.parent()[i];
      double s = Math.max(before < 0 ? issue : treeStart[before] + m.alpha(), linkState[3 * links[i]]);
      occupy(links[i], s + wavelets);
      treeStart[i] = s;
    }
    for (int di = 0; di < deliveries.length; di++) {
      deliver(pathDest[slot0][di], color, new Msg(p, issue, wavelets, len, data, half, deliveries[di], -1,
          treeStart[tree.last()[di]] + m.alpha()));
    }
  }

  /** Appends to a PE's mailbox for one colour, waking the PE if it waits there. */
  private void deliver(int dest, int color, Msg msg) {
    int slot = dest * colors + color;
    if (slots[SLOT * slot] >= 0) {
      if (readyLen == ready.length) {
        ready = java.util.Arrays.copyOf(ready, 2 * ready.length);
      }
      ready[readyLen++] = slots[SLOT * slot];
      slots[SLOT * slot] = -1;
    }
    pending++;
    if (mail[2 * slot] == null) {
      mail[2 * slot] = msg;
    } else {
      mail[2 * slot + 1].next = msg;
    }
    mail[2 * slot + 1] = msg;
  }

  /**
   * Claims the links of sender p's routes on {@code color}; a link another sender's routes take
   * marks both as sharing (and stamps the other's flows if it sent in this round already).
   */
  private void own(int p, int color, int[] links) {
    for (int link : links) {
      int at = link * colors + color;
      int o = linkOwner[at];
      if (o == 0) {
        linkOwner[at] = p + 1;
      } else if (o != p + 1) {
        if (o > 0) {
          int other = (o - 1) * colors + color;
          if (!shares[other] && lastSent[other] == round + 1) {
            checkFlows(o - 1, color, links(other));
          }
          shares[other] = true;
          linkOwner[at] = -1;
        }
        shares[p * colors + color] = true;
      }
    }
  }

  /** The links a traced (PE, colour)'s routes take, each once: its unicast's path or its multicast's tree. */
  private int[] links(int slot) {
    return trees[slot] == null ? paths[slot][0] : trees[slot].links();
  }

  /** A link (PE · 4 + direction) carries one flow per colour in a round: the first sender's. */
  private void checkFlows(int src, int color, int[] links) {
    for (int link : links) {
      int at = link * colors + color;
      if (flowRound[at] == round + 1 && flowSrc[at] != src + 1) {
        int other = flowSrc[at] - 1;
        int p = link / 4;
        throw error(p % w, p / w, color, "carries two flows toward %s in round %d: from PE (%d,%d) and PE (%d,%d)",
            Dir.values()[link % 4], round, other % w, other / w, src % w, src / w);
      }
      flowRound[at] = round + 1;
      flowSrc[at] = src + 1;
    }
  }


  /** Depth-first over the route tree; each delivery is its links then the destination PE. */
  private void trace(int p, int color, Route r, int[] links, int depth, List<int[]> out) {
    if (depth > w + h) {
      throw error(p % w, p / w, color, "routes in a loop");
    }
    for (Dir d : r.tx()) {
      if (d == Dir.RAMP) {
        if (depth > 0) {
          int[] del = java.util.Arrays.copyOf(links, depth + 1);
          del[depth] = p;
          out.add(del);
        }
        continue;
      }
      int q = p + d.dx() + d.dy() * w;
      Route next = table[q * colors + color];
      if (next == null || next.rx() != d.opposite()) {
        throw error(q % w, q / w, color, "receives it from %s (sent by PE (%d,%d)) but its router %s", d.opposite(),
            p % w, p / w, next == null ? "has no route for it" : "takes it from " + next.rx());
      }
      links[depth] = p * 4 + d.ordinal(); // the path so far is links[0, depth]; branches overwrite beyond it
      trace(q, color, next, links, depth + 1, out);
    }
  }


  /** Moves a head over {@code links} from {@code start}; returns when it reaches the last PE. */
  private double reserve(int[] links, double start, long wavelets) {
    double time = start;
    for (int link : links) {
      double s = Math.max(time, linkState[3 * link]);
      occupy(link, s + wavelets);
      time = s + m.alpha();
    }
    return time;
  }

  private Msg take(int p, int color) {
    int slot = p * colors + color;
    Msg msg = mail[2 * slot];
    if (msg == null) {
      throw error(p % w, p / w, color, "waits in round %d but nothing was sent to it", round);
    }
    mail[2 * slot] = msg.next;
    pending--;
    if (msg.next == null) {
      mail[2 * slot + 1] = null;
    }
    return msg;
  }

  /** The time the head reaches p: for a unicast, the transfer starts once p is ready for it. */
  private double head(Msg msg, double posted) {
    if (!Double.isNaN(msg.arrival)) {
      return msg.arrival;
    }
    double start = Math.max(msg.issue, posted);
    if (msg.links != null) {
      return reserve(msg.links, start, msg.wavelets);
    }
    double time = start;
    int base = SLOT * msg.slot;
    for (int i = 0; i < slots[base + 1]; i++) {
      int link = slots[base + 3 + i];
      double s = Math.max(time, linkState[3 * link]);
      occupy(link, s + msg.wavelets);
      time = s + m.alpha();
    }
    return time;
  }

  private void receive(int p, Action a) {
    if (a instanceof Action.Recv r) {
      Msg msg = take(p, r.color());
      checkLength(p, r.color(), msg, r.length());
      double done = head(msg, pe[4 * p + 1]) + msg.wavelets;
      pe[4 * p] = Math.max(pe[4 * p], done);
      if (functional) {
        combine(buffer(p, r.buffer()), r.offset(), msg.data, msg.half, r.combine(), fp32(r.buffer()));
      }
    } else {
      Action.Relay r = (Action.Relay) a;
      Msg msg = take(p, r.in());
      checkLength(p, r.in(), msg, r.length());
      double headIn = head(msg, pe[4 * p]);
      double out = Math.max(pe[4 * p], headIn) + m.beta();
      float[] data = null;
      boolean half = msg.half;
      if (functional) {
        float[] buf = buffer(p, r.buffer());
        boolean fp32 = fp32(r.buffer());
        if (r.combine() == Combine.STORE) {
          combine(buf, r.offset(), msg.data, msg.half, Combine.STORE, fp32);
          data = msg.data;
        } else {
          data = java.util.Arrays.copyOfRange(buf, r.offset(), r.offset() + r.length());
          combine(data, 0, msg.data, msg.half, r.combine(), fp32);
          half = !fp32;
        }
      }
      send(p, r.out(), out, data, half, r.length(), (long) bytesOf(r.buffer()) * r.length());
      pe[4 * p] = Math.max(pe[4 * p], out + msg.wavelets);
    }
  }

  private void checkLength(int p, int color, Msg msg, int len) {
    if (msg.len != len) {
      throw error(p % w, p / w, color, "expects %d elements but PE (%d,%d) sent %d", len, msg.src % w, msg.src / w,
          msg.len);
    }
  }

  /**
   * Combines arriving values into {@code buf} at {@code off}, rounding to the buffer's precision
   * ({@code half}: the values are fp16 already, which rounding keeps bit for bit).
   */
  static void combine(float[] buf, int off, float[] in, boolean half, Combine how, boolean fp32) {
    int n = in.length;
    switch (how) {
      case STORE -> {
        if (fp32 || half) {
          System.arraycopy(in, 0, buf, off, n);
        } else {
          for (int i = 0; i < n; i++) {
            buf[off + i] = Fp16.round(in[i]);
          }
        }
      }
      case ADD -> {
        for (int i = 0; i < n; i++) {
          float v = buf[off + i] + in[i];
          buf[off + i] = fp32 ? v : Fp16.round(v);
        }
      }
      case MAX -> {
        for (int i = 0; i < n; i++) {
          float v = Math.max(buf[off + i], in[i]);
          buf[off + i] = fp32 ? v : Fp16.round(v);
        }
      }
    }
  }
}
