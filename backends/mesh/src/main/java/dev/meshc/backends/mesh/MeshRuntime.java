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
  // start, compute, compute at the round's start]; per link (direction · PEs + PE: the links a
  // line's chain or ring takes in one direction lie together, apart from those of the other
  // direction, which another thread may be taking) [free from, its value before the round that
  // last used it, that round or −1].
  private final double[] pe;
  private final double[] linkState;
  private final boolean skipping;
  private long pending; // messages sent and not yet received, at the end of the last round
  private long skippedRounds; // PE-rounds advanced by a time shift rather than simulated
  private final int[][][] paths; // per (PE, colour): each delivery's links, traced once
  private final int[][] pathDest; // per (PE, colour): each delivery's PE
  private final Tree[] trees; // per (PE, colour) that multicasts: its deliveries as one tree of links
  private final List<int[]> traced = new ArrayList<>(); // scratch: one trace's deliveries
  private final int[] traceLinks; // scratch: the path a trace has followed so far
  // Per (PE, colour), SLOT ints, few so that a wafer's fit the caches better: the mailbox's first
  // and last message (−1: empty), a FIFO as the PE's input queue is; and the route: −1 never sent
  // on, −2 not a short route, else a unicast of at most SHORT hops as its directions (2 bits each
  // from bit 4) and hop count (bits 0–3), which the link numbers follow from.
  private static final int FIRST = 0;
  private static final int LAST = 1;
  private static final int ROUTE_CODE = 2;
  private static final int SLOT = 3;
  private static final int SHORT = 13;
  private final int[] slots;
  private final int[] waiting; // per PE: the colour whose mailbox it waits on, or −1
  private final int[] step; // per direction (Dir ordinal): the PE number one hop along it adds
  // Messages in flight are numbered and pooled in flat arrays (a wafer-scale run moves 10⁹ of them;
  // an object each costs an allocation and a collector barrier per mailbox store). Per message MI
  // ints: its sender, length in elements, wavelets, the sender's (PE, colour) and which of that
  // route's deliveries it is (or: a short route's code, and −1), the next message in its mailbox,
  // and 1 when its values are fp16 exactly (they left an fp16 buffer); and two doubles: when it was
  // issued and, for a multicast, when its head arrives (NaN: a unicast's is found on receipt).
  private static final int MI = 7;
  private static final int SRC = 0;
  private static final int LENGTH = 1;
  private static final int WAVELETS = 2;
  private static final int ROUTE = 3;
  private static final int DELIVERY = 4;
  private static final int NEXT = 5;
  private static final int HALF = 6;
  // Rounds run on one lane (solo: the PEs in order, the woken queued behind) or, when no result can
  // depend on the order of PEs (sharesNothing, decided per span of rounds with the same programs),
  // on a crew of lanes, one per band of columns, each on its own thread.
  private final Lane solo;
  private final Lane[] crew; // null: this run is never split
  private final byte[] laneOf; // per PE: its lane in the crew
  private final boolean splitAlways; // no two senders' routes meet, whatever rounds send
  private boolean splitNow; // the crew runs the rounds up to spanEnd
  private int spanEnd; // the round the next decision is taken in
  private long crewRounds; // rounds the crew ran
  @SuppressWarnings("unchecked")
  private List<Action>[] acts = new List[0]; // per PE: this round's actions, null once all are done
  private int[] split = new int[0]; // per PE: its next action
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
  private long transfers; // at the end of the last round
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
  private record Traced(int[][][] paths, int[][] pathDest, Tree[] trees, int[] linkOwner, boolean[] shares) {
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

  private MeshRuntime(KernelTemplate t, MachineSpec m, boolean functional, boolean oneColumn, boolean skipping,
      int threads) {
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
    Traced known = functional ? TRACED.get(t) : null; // routes a finished run of t traced
    this.paths = known != null ? known.paths().clone() : new int[n * colors][][];
    this.pathDest = known != null ? known.pathDest().clone() : new int[n * colors][];
    this.trees = known != null ? known.trees().clone() : new Tree[n * colors];
    this.slots = new int[SLOT * n * colors];
    for (int i = 0; i < n * colors; i++) {
      slots[SLOT * i + FIRST] = -1;
      slots[SLOT * i + LAST] = -1;
      slots[SLOT * i + ROUTE_CODE] = -1;
    }
    this.waiting = new int[n];
    java.util.Arrays.fill(waiting, -1);
    this.step = new int[4];
    for (int d = 0; d < 4; d++) {
      step[d] = Dir.values()[d].dx() + Dir.values()[d].dy() * w;
    }
    this.traceLinks = new int[w + h + 2];
    this.flowSrc = functional ? new int[n * 4 * colors] : null;
    this.flowRound = functional ? new int[n * 4 * colors] : null;
    this.linkOwner = known != null ? known.linkOwner().clone() : functional ? new int[n * 4 * colors] : null;
    this.shares = known != null ? known.shares().clone() : functional ? new boolean[n * colors] : null;
    this.lastSent = functional ? new int[n * colors] : null;
    configure();
    this.solo = new Lane(0, 0, w);
    int bands = functional ? 1 : Math.min(Math.min(threads, w), Byte.MAX_VALUE);
    if (bands > 1 && traceAll()) {
      this.splitAlways = sharesNothing(null);
      this.crew = new Lane[bands];
      this.laneOf = new byte[n];
      for (int b = 0; b < bands; b++) {
        crew[b] = new Lane(b, (int) ((long) w * b / bands), (int) ((long) w * (b + 1) / bands));
        crew[b].later = new int[64];
        for (int y = 0; y < h; y++) {
          java.util.Arrays.fill(laneOf, y * w + crew[b].x0, y * w + crew[b].x1, (byte) b);
        }
      }
    } else {
      this.splitAlways = false;
      this.crew = null;
      this.laneOf = null;
    }
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
    MeshRuntime r = new MeshRuntime(t, m, true, false, false, 1);
    for (String name : new java.util.TreeSet<>(inputs.keySet())) {
      long[] shape = t.inputShape(name);
      r.load(name, inputs.get(name), shape[0], shape[1]);
    }
    r.execute();
    TRACED.put(t, new Traced(r.paths.clone(), r.pathDest.clone(), r.trees.clone(), r.linkOwner.clone(),
        r.shares.clone()));
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
    long work = (long) (oneColumn ? 1 : t.width()) * t.height() * t.rounds();
    return timing(t, m, oneColumn, skipRepeats, work < CREW_MIN_WORK ? 1 : THREADS).result();
  }

  /** A timing run's result, and how many of its rounds ran split over threads. */
  record Split(RunResult result, long crewRounds) {}

  /**
   * ... with its rounds split over {@code threads} threads when the order of PEs cannot change
   * the result (tests check that every number of threads gives the same).
   */
  static Split timing(KernelTemplate t, MachineSpec m, boolean oneColumn, boolean skipRepeats, int threads) {
    if (oneColumn && !t.columnsIndependent()) {
      throw new IllegalArgumentException(t.algorithm() + " does not declare independent columns");
    }
    MeshRuntime r = new MeshRuntime(t, m, false, oneColumn, skipRepeats, threads);
    r.execute();
    return new Split(r.result(null), r.crewRounds);
  }

  private RunResult result(float[] c) {
    double cycles = 0;
    double comp = 0;
    for (int p = 0; p < n; p++) {
      cycles = Math.max(cycles, pe[4 * p]);
      comp = Math.max(comp, pe[4 * p + 2]);
    }
    int hops = 0; // the longest delivery of a route that was sent on
    for (int slot = 0; slot < n * colors; slot++) {
      if (slots[SLOT * slot + ROUTE_CODE] != -1 && paths[slot] != null) {
        for (int[] path : paths[slot]) {
          hops = Math.max(hops, path.length);
        }
      }
    }
    return new RunResult(cycles, comp, cycles - comp, maxBytes, maxColors, hops, transfers, c);
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
    acts = newPrograms(n);
    split = new int[n];
    List<Action>[] prog = newPrograms(n); // this round's program per PE
    List<Action>[] prevProg = newPrograms(n); // the previous round's
    for (round = 0; round < t.rounds(); round++) {
      List<Action>[] swap = prevProg;
      prevProg = prog;
      prog = swap;
      progNow = prog;
      if (crew != null && round >= spanEnd) {
        decideSplit();
      }
      if (splitNow) {
        runCrew();
        crewRounds++;
      } else {
        fetch(0, w);
        solo.run(0, n);
      }
      for (Lane lane : splitNow ? crew : new Lane[] {solo}) {
        transfers += lane.transfers;
        pending += lane.pending;
        lane.transfers = 0;
        lane.pending = 0;
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
        int msg = slots[SLOT * (p * colors + c) + FIRST];
        if (msg >= 0) {
          int src = pool(p).msgInt[MI * msg + SRC];
          throw error(p % w, p / w, c, "has a message nobody received (from PE (%d,%d))", src % w, src / w);
        }
      }
    }
  }

  // ---- splitting a round over threads ----------------------------------------------------------

  /**
   * Traces every route that sends (a timing run splits only when it knows them all); false when
   * one does not trace, whose error a send on it then reports.
   */
  private boolean traceAll() {
    for (int slot = 0; slot < n * colors; slot++) {
      if (table[slot] != null && table[slot].sends() && paths[slot] == null) {
        try {
          traceRoute(slot / colors, slot % colors);
        } catch (MeshcException e) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Whether no link and no mailbox is reached by more than one sender's routes (of those that
   * send, or all when {@code sending} is null). Only there could the order in which a round runs
   * its PEs change a result: a link is taken first come first served and a mailbox is a FIFO,
   * while everything else a PE does reads its own state and its messages (one sender's messages
   * reach a mailbox, and take a link, in its program's order). So such rounds (SUMMA's and
   * dist-GEMM-T's chains always, Cannon's rings in each of its phases) may run in any order, on
   * any number of threads, with the same result; MeshGEMM's interleaved rings, whose two-hop
   * sends cross each other's links, and trees that gather into one mailbox run in order.
   */
  private boolean sharesNothing(boolean[] sending) {
    int[] linkUser = new int[4 * n]; // sender + 1, 0 none
    int[] boxUser = new int[n * colors];
    for (int slot = 0; slot < n * colors; slot++) {
      if (paths[slot] == null || sending != null && !sending[slot]) {
        continue;
      }
      for (int link : links(slot)) {
        if (linkUser[link] != 0 && linkUser[link] != slot + 1) {
          return false;
        }
        linkUser[link] = slot + 1;
      }
      for (int dest : pathDest[slot]) {
        int box = dest * colors + slot % colors;
        if (boxUser[box] != 0 && boxUser[box] != slot + 1) {
          return false;
        }
        boxUser[box] = slot + 1;
      }
    }
    return true;
  }

  /**
   * At the start of a span of rounds that run the same programs (the template's promise): the
   * crew runs it when no two of the routes its programs send on meet ({@link #sharesNothing},
   * Cannon's rings: its forward and reverse rings meet, but a round runs one per row) and it is
   * long enough to pay for the check (about one round's work).
   */
  private void decideSplit() {
    spanEnd = Math.min(t.sameProgramUntil(round), t.rounds());
    boolean split = splitAlways;
    if (!split && spanEnd - round >= CHECKED_SPAN) {
      boolean[] sending = new boolean[n * colors];
      for (int p = 0; p < n; p++) {
        for (Action a : t.actions(round, p % w, p / w)) {
          int color = sendColor(a);
          if (color >= 0) {
            sending[p * colors + color] = true;
          }
        }
      }
      split = sharesNothing(sending);
    }
    splitNow = split;
  }

  @SuppressWarnings("unchecked")
  private static List<Action>[] newPrograms(int n) {
    return new List[n];
  }

  /** Writes a message's MI ints at {@code at} (in a pool or an outbox), with no next message. */
  private static void fields(int[] ints, int at, int src, int wavelets, int len, boolean half, int route,
      int delivery) {
    ints[at + SRC] = src;
    ints[at + LENGTH] = len;
    ints[at + WAVELETS] = wavelets;
    ints[at + ROUTE] = route;
    ints[at + DELIVERY] = delivery;
    ints[at + NEXT] = -1;
    ints[at + HALF] = half ? 1 : 0;
  }

  /**
   * The lane whose pool holds the messages in PE p's mailboxes: its band's on a run that may split
   * (its rounds that run solo use the same pools, so no mail moves when the crew starts or stops).
   */
  private Lane pool(int p) {
    return crew != null ? crew[laneOf[p]] : solo;
  }

  private List<Action>[] progNow; // this round's program per PE

  /** Every PE of columns [x0, x1) starts the round: its clocks noted, its actions fetched. */
  private void fetch(int x0, int x1) {
    for (int y = 0; y < h; y++) {
      fetch(y, x0, x1);
    }
  }

  /** ... of row y alone. */
  private void fetch(int y, int x0, int x1) {
    for (int x = x0; x < x1; x++) {
      int p = y * w + x;
      pe[4 * p + 1] = pe[4 * p];
      pe[4 * p + 3] = pe[4 * p + 2];
      List<Action> a = t.actions(round, x, y);
      acts[p] = a;
      progNow[p] = a;
      split[p] = 0;
    }
  }

  /** Issues PE p's actions up to its first receive: they wait on nothing. */
  private void issuePrefix(Lane lane, int p) {
    List<Action> a = acts[p];
    int i = 0;
    while (i < a.size() && !a.get(i).receives()) {
      issue(lane, p, a.get(i));
      i++;
    }
    split[p] = i;
    if (i == a.size()) {
      acts[p] = null;
    }
  }

  /**
   * Runs the receive part of PE p's actions from its next one until it waits on an empty mailbox
   * (it is woken when a message arrives) or is done. Receives are dataflow, so relay chains may
   * run either way along a line in one round.
   */
  private void proceed(Lane lane, int p) {
    List<Action> a = acts[p];
    int i = split[p];
    for (; i < a.size(); i++) {
      Action act = a.get(i);
      if (act instanceof Action.Send send) {
        throw error(p % w, p / w, send.color(), "sends in round %d after receiving; a send there would wait on "
            + "its own round", round);
      }
      if (act.receives()) {
        int color = act instanceof Action.Recv r ? r.color() : ((Action.Relay) act).in();
        if (slots[SLOT * (p * colors + color) + FIRST] < 0) {
          waiting[p] = color;
          break;
        }
        receive(lane, p, act);
      } else {
        issue(lane, p, act);
      }
    }
    split[p] = i;
    if (i == a.size()) {
      acts[p] = null;
    }
  }

  /**
   * What one thread of a run owns: the pool of the messages in its PEs' mailboxes, its queue of
   * PEs to run, what it counted this round; on a crew, its band of columns [x0, x1) and its inbox
   * of messages that other lanes sent to its PEs.
   */
  private final class Lane {
    // the lanes of a crew are allocated together and each writes its counters per message: 72
    // bytes of padding, laid out first, keep one lane's fields off the cache line of the next
    long pad0, pad1, pad2, pad3, pad4, pad5, pad6, pad7, pad8;
    final int x0;
    final int x1;
    int[] msgInt = new int[MI * 256];
    double[] msgTime = new double[2 * 256];
    float[][] msgData = new float[256][]; // functional runs: each message's values
    int[] free = new int[256]; // pooled messages free for reuse, the last freed on top (a stack, not
    int freeLen; // a chain through the messages: taking one must not wait on reading another)
    int msgs; // message numbers handed out so far
    int[] ready = new int[16]; // PEs to run: solo, all that receive and then the woken; on a crew, the woken first
    int readyLen;
    // on a crew: the woken PEs of rows other than the one being run, [rowStart, rowStart + w)
    int[] later;
    int laterLen;
    int rowStart;
    double[] treeStart = new double[64]; // scratch: when each link of a tree takes the head
    long transfers;
    long pending;
    // crew: messages for its PEs from other lanes, [dest, colour, MI fields] and [issue, arrival]
    int[] inInt = new int[(MI + 2) * 64];
    double[] inTime = new double[2 * 64];
    int inLen;
    int[] spareInt = new int[0];
    double[] spareTime = new double[0];
    volatile boolean mail; // inLen > 0, read without the lock
    final int index; // in the crew (0 for solo)
    int[][] outInt; // per lane of the crew: messages kept for its PEs, as in the inbox
    double[][] outTime;
    int[] outLen;
    boolean outSent = true; // every outbox is empty

    Lane(int index, int x0, int x1) {
      this.index = index;
      this.x0 = x0;
      this.x1 = x1;
    }

    /** A message from the pool, its fields set. */
    int message(int src, double issue, int wavelets, int len, float[] data, boolean half, int route, int delivery,
        double arrival) {
      int msg;
      if (freeLen > 0) {
        msg = free[--freeLen];
      } else {
        msg = msgs++;
        if (msg == msgData.length) {
          msgInt = java.util.Arrays.copyOf(msgInt, 2 * msgInt.length);
          msgTime = java.util.Arrays.copyOf(msgTime, 2 * msgTime.length);
          msgData = java.util.Arrays.copyOf(msgData, 2 * msgData.length);
        }
      }
      fields(msgInt, MI * msg, src, wavelets, len, half, route, delivery);
      msgTime[2 * msg] = issue;
      msgTime[2 * msg + 1] = arrival;
      if (functional) {
        msgData[msg] = data;
      }
      return msg;
    }

    /** Returns a received message to the pool. */
    void release(int msg) {
      if (freeLen == free.length) {
        free = java.util.Arrays.copyOf(free, 2 * freeLen);
      }
      free[freeLen++] = msg;
      if (functional) {
        msgData[msg] = null;
      }
    }

    void queue(int p) {
      if (later != null && (p < rowStart || p >= rowStart + w)) {
        if (laterLen == later.length) {
          later = java.util.Arrays.copyOf(later, 2 * laterLen);
        }
        later[laterLen++] = p;
        return;
      }
      if (readyLen == ready.length) {
        ready = java.util.Arrays.copyOf(ready, 2 * ready.length);
      }
      ready[readyLen++] = p;
    }

    /** Solo: PEs [from, to) issue, then their receive parts run in order, the woken queued behind. */
    void run(int from, int to) {
      for (int p = from; p < to; p++) {
        issuePrefix(this, p);
      }
      readyLen = 0;
      for (int p = from; p < to; p++) {
        if (acts[p] != null) {
          queue(p);
        }
      }
      for (int next = 0; next < readyLen; next++) {
        proceed(this, ready[next]);
      }
    }

    /**
     * On a crew: its band sweeps its rows, each row fetched and issued, then the row before it
     * runs its receive parts, a woken PE at once (a message is read a row or two after it was
     * written, while its lines are still in the core's caches, and a chain that leaves the band
     * reaches the next lane sooner); messages from other lanes are taken as they come, until no
     * lane has work.
     */
    void runBand(Crew c) {
      try {
        band(c);
      } catch (RuntimeException e) {
        c.abort(); // the other lanes stop waiting for this one
        throw e;
      }
    }

    private void band(Crew c) {
      for (int y = 0; y <= h; y++) {
        if (y < h) {
          fetch(y, x0, x1);
          for (int p = y * w + x0; p < y * w + x1; p++) {
            issuePrefix(this, p);
          }
        }
        if (y > 0) {
          for (int p = (y - 1) * w + x0; p < (y - 1) * w + x1; p++) {
            if (acts[p] != null) {
              rowStart = (y - 1) * w;
              proceed(this, p);
              drain();
              if (mail) {
                takeMail(c);
              }
            }
          }
          runLater(c);
        }
        c.send(this); // row by row: a lane that waits on this one gets its messages as they come
      }
      while (c.await(this)) {
        takeMail(c);
        runLater(c);
        c.send(this);
      }
    }

    /** Runs the woken PEs of the row being run, each at once. */
    private void drain() {
      while (readyLen > 0) {
        proceed(this, ready[--readyLen]);
      }
    }

    /** Runs the woken PEs of other rows in the order they woke: a wave along a column goes row by row. */
    private void runLater(Crew c) {
      for (int i = 0; i < laterLen; i++) {
        int q = later[i];
        rowStart = q - q % w;
        proceed(this, q);
        drain();
        if (mail) {
          takeMail(c);
        }
      }
      laterLen = 0;
    }

    private void takeMail(Crew c) {
      int[] ints;
      double[] times;
      int len;
      synchronized (c) { // the other buffer is this lane's alone until the next take
        ints = inInt;
        times = inTime;
        len = inLen;
        inInt = spareInt;
        inTime = spareTime;
        spareInt = ints;
        spareTime = times;
        inLen = 0;
        mail = false;
      }
      for (int e = 0; e < len; e++) {
        int b = (MI + 2) * e;
        int msg = message(ints[b + 2 + SRC], times[2 * e], ints[b + 2 + WAVELETS], ints[b + 2 + LENGTH], null,
            ints[b + 2 + HALF] != 0, ints[b + 2 + ROUTE], ints[b + 2 + DELIVERY], times[2 * e + 1]);
        rowStart = ints[b] - ints[b] % w;
        deliver(this, ints[b], ints[b + 1], msg);
        drain();
      }
    }

    /** Keeps a message for PE dest of lane {@code to} until the crew sends this lane's outboxes. */
    void out(Lane to, int dest, int color, int src, double issue, int wavelets, int len, boolean half, int route,
        int delivery, double arrival) {
      int k = to.index;
      if (outInt == null) {
        outInt = new int[crew.length][MI + 2];
        outTime = new double[crew.length][2];
        outLen = new int[crew.length];
      }
      if ((outLen[k] + 1) * (MI + 2) > outInt[k].length) {
        outInt[k] = java.util.Arrays.copyOf(outInt[k], 2 * (outLen[k] + 1) * (MI + 2));
        outTime[k] = java.util.Arrays.copyOf(outTime[k], 2 * (outLen[k] + 1) * 2);
      }
      int b = (MI + 2) * outLen[k];
      outInt[k][b] = dest;
      outInt[k][b + 1] = color;
      fields(outInt[k], b + 2, src, wavelets, len, half, route, delivery);
      outTime[k][2 * outLen[k]] = issue;
      outTime[k][2 * outLen[k] + 1] = arrival;
      outLen[k]++;
      outSent = false;
    }

    /** Moves {@code len} kept messages into this lane's inbox; the caller holds the crew's lock. */
    void receiveFrom(int[] ints, double[] times, int len) {
      if ((inLen + len) * (MI + 2) > inInt.length) {
        inInt = java.util.Arrays.copyOf(inInt, Math.max(64, 2 * (inLen + len)) * (MI + 2));
        inTime = java.util.Arrays.copyOf(inTime, Math.max(64, 2 * (inLen + len)) * 2);
      }
      System.arraycopy(ints, 0, inInt, inLen * (MI + 2), len * (MI + 2));
      System.arraycopy(times, 0, inTime, 2 * inLen, 2 * len);
      inLen += len;
      mail = true;
    }
  }

  /** A round's crew: its lock guards the lanes' inboxes and who is idle. */
  private static final class Crew {
    private final Lane[] lanes;
    private int idle;
    private boolean done;

    Crew(Lane[] lanes) {
      this.lanes = lanes;
    }

    /** Waits until {@code lane} has mail (true) or every lane is idle with none (false: the round is over). */
    synchronized boolean await(Lane lane) {
      idle++;
      while (true) {
        if (lane.inLen > 0) {
          idle--;
          return true;
        }
        if (done) {
          return false;
        }
        if (idle == lanes.length && java.util.Arrays.stream(lanes).allMatch(l -> l.inLen == 0)) {
          done = true;
          notifyAll();
          return false;
        }
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted in a round", e);
        }
      }
    }

    synchronized void abort() {
      done = true;
      notifyAll();
    }

    /** Moves what {@code from} kept for other lanes into their inboxes, waking them. */
    void send(Lane from) {
      if (from.outSent) {
        return;
      }
      synchronized (this) {
        for (Lane to : lanes) {
          int k = to.index;
          if (from.outLen[k] > 0) {
            to.receiveFrom(from.outInt[k], from.outTime[k], from.outLen[k]);
            from.outLen[k] = 0;
          }
        }
        notifyAll();
      }
      from.outSent = true;
    }
  }

  /** Threads a timing run splits its rounds over: the cores, at most 8. */
  static final int THREADS = Math.min(8, Runtime.getRuntime().availableProcessors());
  /** Fewer PE-rounds than this run on one thread: the split would cost more than it saves. */
  static final long CREW_MIN_WORK = 1L << 24;
  /** Spans of fewer rounds than this are not checked for a split (only templates that always split do). */
  private static final int CHECKED_SPAN = 8;
  private static final java.util.concurrent.ExecutorService POOL = java.util.concurrent.Executors.newCachedThreadPool(
      r -> {
        Thread th = new Thread(r, "meshc-runtime");
        th.setDaemon(true);
        return th;
      });

  /** Runs the round on the crew, one lane per thread (the first on this one), each fetching its band's programs. */
  private void runCrew() {
    Crew c = new Crew(crew);
    List<java.util.concurrent.Future<?>> others = new ArrayList<>();
    for (int b = 1; b < crew.length; b++) {
      Lane lane = crew[b];
      others.add(POOL.submit(() -> lane.runBand(c)));
    }
    RuntimeException first = null;
    try {
      crew[0].runBand(c);
    } catch (RuntimeException e) {
      first = e;
    }
    for (java.util.concurrent.Future<?> f : others) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        if (first == null) {
          first = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted in a round", e);
      }
    }
    if (first != null) {
      throw first;
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
    // first, cheaply: a PE and the first PE it sends to are in one group, so busy ones moved alike
    for (int p = 0; p < n; p++) {
      for (Action a : prog[p]) {
        int color = sendColor(a);
        if (color >= 0) {
          int q = pathDest[p * colors + color][0];
          if (!prog[q].isEmpty() && Math.abs(pe[4 * p] - pe[4 * p + 1] - (pe[4 * q] - pe[4 * q + 1])) > SHIFT_TOLERANCE) {
            return r;
          }
          break;
        }
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
        int color = sendColor(a);
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
        if (sendColor(a) >= 0) {
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

  /** The colour an action sends on (a Send's, a Relay's outgoing), or −1. */
  private static int sendColor(Action a) {
    return a instanceof Action.Send s ? s.color() : a instanceof Action.Relay r ? r.out() : -1;
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

  private void issue(Lane lane, int p, Action a) {
    if (a instanceof Action.Send s) {
      send(lane, p, s.color(), pe[4 * p], slice(p, s.buffer(), s.offset(), s.length()), bytesOf(s.buffer()) == 2,
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
  private void send(Lane lane, int p, int color, double issue, float[] data, boolean half, int len, long bytes) {
    int slot0 = p * colors + color;
    int wavelets = Math.toIntExact(m.wavelets(bytes / 2)); // bytes are whole fp16 halves
    lane.transfers++;
    int code = slots[SLOT * slot0 + ROUTE_CODE];
    if (code >= 0 && !functional) { // a short unicast already traced: straight to the mailbox
      int dest = p;
      for (int k = 0; k < (code & 15); k++) {
        dest += step[code >>> 4 + 2 * k & 3];
      }
      post(lane, dest, color, p, issue, wavelets, len, data, half, code, -1, Double.NaN);
      return;
    }
    if (paths[slot0] == null) { // routes are static: trace once
      traceRoute(p, color);
    }
    if (code == -1) { // its first send: a short unicast is held as its directions from now on
      int[][] links = paths[slot0];
      code = -2;
      if (links.length == 1 && links[0].length <= SHORT) {
        code = links[0].length;
        for (int k = 0; k < links[0].length; k++) {
          code |= links[0][k] / n << 4 + 2 * k;
        }
      }
      slots[SLOT * slot0 + ROUTE_CODE] = code;
    }
    int[][] deliveries = paths[slot0];
    Tree tree = trees[slot0];
    if (functional) {
      if (shares[slot0]) {
        checkFlows(p, color, links(slot0));
      }
      lastSent[slot0] = round + 1;
    }
    if (tree == null) { // a unicast: it moves when the receiver has posted its receive
      post(lane, pathDest[slot0][0], color, p, issue, wavelets, len, data, half, slot0, 0, Double.NaN);
      return;
    }
    // a multicast leaves when issued and takes each link of its tree once
    int[] links = tree.links();
    if (lane.treeStart.length < links.length) {
      lane.treeStart = new double[Math.max(links.length, 2 * lane.treeStart.length)];
    }
    double[] treeStart = lane.treeStart;
    for (int i = 0; i < links.length; i++) {
      int before = tree.parent()[i];
      treeStart[i] = claim(links[i], before < 0 ? issue : treeStart[before] + m.alpha(), wavelets);
    }
    for (int di = 0; di < deliveries.length; di++) {
      post(lane, pathDest[slot0][di], color, p, issue, wavelets, len, data, half, slot0, di,
          treeStart[tree.last()[di]] + m.alpha());
    }
  }

  /**
   * Follows the routers from sender p on {@code color}, checking every entry, to every PE whose
   * route delivers it (RAMP); keeps each delivery's links and PE, and a multicast's tree.
   */
  private void traceRoute(int p, int color) {
    int slot0 = p * colors + color;
    Route r = table[slot0];
    int x = p % w;
    int y = p / w;
    if (r == null || !r.sends()) {
      throw error(x, y, color, "sends but its router %s", r == null ? "has no route for it"
          : "takes it from " + r.rx() + ", not from the PE");
    }
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
    }
    paths[slot0] = links;
    pathDest[slot0] = dests;
    trees[slot0] = links.length > 1 ? Tree.of(links) : null;
    if (functional) {
      own(p, color, links(slot0));
    }
  }

  /** Sends a message to PE dest's mailbox: the lane of dest takes it from its inbox when dest is another lane's. */
  private void post(Lane lane, int dest, int color, int src, double issue, int wavelets, int len, float[] data,
      boolean half, int route, int delivery, double arrival) {
    Lane to = pool(dest);
    lane.pending++;
    if (!splitNow || to == lane) {
      deliver(lane, dest, color, to.message(src, issue, wavelets, len, data, half, route, delivery, arrival));
    } else {
      lane.out(to, dest, color, src, issue, wavelets, len, half, route, delivery, arrival);
    }
  }

  /** Appends message msg of dest's pool to a mailbox of dest, queueing dest on {@code lane} if it waits there. */
  private void deliver(Lane lane, int dest, int color, int msg) {
    int base = SLOT * (dest * colors + color);
    if (waiting[dest] == color) {
      lane.queue(dest);
      waiting[dest] = -1;
    }
    if (slots[base + FIRST] < 0) {
      slots[base + FIRST] = msg;
    } else {
      pool(dest).msgInt[MI * slots[base + LAST] + NEXT] = msg;
    }
    slots[base + LAST] = msg;
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
        int p = link % n;
        throw error(p % w, p / w, color, "carries two flows toward %s in round %d: from PE (%d,%d) and PE (%d,%d)",
            Dir.values()[link / n], round, other % w, other / w, src % w, src / w);
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
      links[depth] = d.ordinal() * n + p; // the path so far is links[0, depth]; branches overwrite beyond it
      trace(q, color, next, links, depth + 1, out);
    }
  }


  /** Moves a head over {@code links} from {@code start}; returns when it reaches the last PE. */
  private double reserve(int[] links, double start, long wavelets) {
    double time = start;
    for (int link : links) {
      time = claim(link, time, wavelets) + m.alpha();
    }
    return time;
  }

  /** A head reaching {@code link} at {@code arrive} takes it once it is free, for its wavelets; returns when. */
  private double claim(int link, double arrive, long wavelets) {
    double s = Math.max(arrive, linkState[3 * link]);
    occupy(link, s + wavelets);
    return s;
  }

  /** Takes the first message of PE p's mailbox for {@code color}; the caller returns it to the pool. */
  private int take(Lane lane, int p, int color) {
    int base = SLOT * (p * colors + color);
    int msg = slots[base + FIRST];
    if (msg < 0) {
      throw error(p % w, p / w, color, "waits in round %d but nothing was sent to it", round);
    }
    int next = pool(p).msgInt[MI * msg + NEXT];
    slots[base + FIRST] = next;
    lane.pending--;
    if (next < 0) {
      slots[base + LAST] = -1;
    }
    return msg;
  }

  /** The time the head of message msg of {@code box} reaches its PE: a unicast starts once the PE is ready for it. */
  private double head(Lane box, int msg, double posted) {
    double arrival = box.msgTime[2 * msg + 1];
    if (!Double.isNaN(arrival)) {
      return arrival;
    }
    double start = Math.max(box.msgTime[2 * msg], posted);
    int i = MI * msg;
    int wavelets = box.msgInt[i + WAVELETS];
    int route = box.msgInt[i + ROUTE];
    if (box.msgInt[i + DELIVERY] >= 0) {
      return reserve(paths[route][box.msgInt[i + DELIVERY]], start, wavelets);
    }
    double time = start; // a short route: route is its code, its links follow from the sender
    int q = box.msgInt[i + SRC];
    for (int k = 0; k < (route & 15); k++) {
      int d = route >>> 4 + 2 * k & 3;
      time = claim(d * n + q, time, wavelets) + m.alpha();
      q += step[d];
    }
    return time;
  }

  private void receive(Lane lane, int p, Action a) {
    Lane box = pool(p);
    int[] mi = box.msgInt;
    if (a instanceof Action.Recv r) {
      int msg = take(lane, p, r.color());
      checkLength(box, p, r.color(), msg, r.length());
      double done = head(box, msg, pe[4 * p + 1]) + mi[MI * msg + WAVELETS];
      pe[4 * p] = Math.max(pe[4 * p], done);
      if (functional) {
        combine(buffer(p, r.buffer()), r.offset(), box.msgData[msg], mi[MI * msg + HALF] != 0, r.combine(),
            fp32(r.buffer()));
      }
      box.release(msg);
    } else {
      Action.Relay r = (Action.Relay) a;
      int msg = take(lane, p, r.in());
      checkLength(box, p, r.in(), msg, r.length());
      double headIn = head(box, msg, pe[4 * p]);
      double out = Math.max(pe[4 * p], headIn) + m.beta();
      int wavelets = mi[MI * msg + WAVELETS];
      float[] data = null;
      boolean half = mi[MI * msg + HALF] != 0;
      if (functional) {
        float[] in = box.msgData[msg];
        float[] buf = buffer(p, r.buffer());
        boolean fp32 = fp32(r.buffer());
        if (r.combine() == Combine.STORE) {
          combine(buf, r.offset(), in, half, Combine.STORE, fp32);
          data = in;
        } else {
          data = java.util.Arrays.copyOfRange(buf, r.offset(), r.offset() + r.length());
          combine(data, 0, in, half, r.combine(), fp32);
          half = !fp32;
        }
      }
      box.release(msg);
      send(lane, p, r.out(), out, data, half, r.length(), (long) bytesOf(r.buffer()) * r.length());
      pe[4 * p] = Math.max(pe[4 * p], out + wavelets);
    }
  }

  private void checkLength(Lane box, int p, int color, int msg, int len) {
    int sent = box.msgInt[MI * msg + LENGTH];
    if (sent != len) {
      int src = box.msgInt[MI * msg + SRC];
      throw error(p % w, p / w, color, "expects %d elements but PE (%d,%d) sent %d", len, src % w, src / w, sent);
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
