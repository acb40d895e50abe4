package dev.meshc.backends.mesh.bench;

import dev.meshc.backends.mesh.MeshRuntime;
import dev.meshc.backends.mesh.RunResult;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.machine.MachineSpec;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Kernel benchmark (README, "Benchmarks"): simulated cycles per algorithm over a sweep of grids
 * and sizes on WSE-2 with the simulation's wall time, then functional MeshGEMM against a plain
 * blocked Java matmul of the same product (the simulator's overhead).
 * {@code mvn -B -q -pl backends/mesh -am test-compile exec:exec@bench [-Dbench.grids=64,128,256,360,720]}
 */
public final class KernelBench {
  private KernelBench() {}

  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  public static void main(String[] args) {
    List<Integer> gemmGrids = args.length > 0 ? parse(args[0]) : List.of(64, 128, 256, 360);
    System.out.printf(Locale.ROOT, "meshc kernel benchmark on %s (alpha %.0f, beta %.0f, %.2f fp16 FMAC/cycle, "
        + "%.1f GHz); %s %s, %d cores%n", WSE2.name(), WSE2.alpha(), WSE2.beta(), WSE2.fmacsPerCycle(),
        WSE2.clockHz() / 1e9, System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    System.out.println();
    System.out.println("GEMV [1,K]x[K,K], fp16 accumulation, timing only (cycles | microseconds | wall s)");
    System.out.printf("%6s %7s %24s %24s %24s%n", "P", "K", "meshgemv", "pipeline", "ring");
    for (int p : new int[] {90, 180, 360, 540, 750}) {
      for (long k : new long[] {8192, 16384, 32768}) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%6d %7d", p, k));
        for (String alg : Kernels.GEMV) {
          row.append(cell(alg, p, 1, k, k));
        }
        System.out.println(row);
      }
    }
    System.out.println();
    System.out.println("GEMM [N,N]x[N,N], fp16 accumulation, timing only (cycles | compute efficiency | wall s)");
    System.out.printf("%6s %7s %24s %24s %24s %24s%n", "P", "N", "meshgemm", "cannon", "summa", "gemmt");
    for (int p : gemmGrids) {
      for (long d : new long[] {2048, 8192}) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%6d %7d", p, d));
        for (String alg : Kernels.GEMM) {
          row.append(cell(alg, p, d, d, d));
        }
        System.out.println(row);
      }
    }
    System.out.println();
    System.out.println("Wafer scale: [16K,16K]x[16K,16K] on 720x720, timing only (cycles | compute efficiency | wall s)");
    for (String alg : List.of("meshgemm", "cannon")) {
      System.out.printf("%14s %24s%n", alg, cell(alg, 720, 16384, 16384, 16384));
    }
    System.out.println();
    System.out.println(describe(overhead(32, 1024)));
  }

  /** A timing-only run and its wall seconds. */
  public record Timed(RunResult result, double wall) {}

  /** {@code alg} on p×p for M×K×N, fp16 accumulation, timing only on WSE-2; null when it does not fit the PEs. */
  public static Timed timed(String alg, int p, long m, long k, long n) {
    KernelTemplate t = Kernels.create(alg, new KernelTemplate.Problem(m, k, n), p, p, false, 0);
    if (t.maxBytesPerPe() > WSE2.bufferBudget()) {
      return null;
    }
    long s = System.nanoTime();
    RunResult r = MeshRuntime.timing(t, WSE2);
    return new Timed(r, (System.nanoTime() - s) / 1e9);
  }

  private static String cell(String alg, int p, long m, long k, long n) {
    Timed timed = timed(alg, p, m, k, n);
    if (timed == null) {
      return String.format("%24s", "does not fit");
    }
    RunResult r = timed.result();
    double wall = timed.wall();
    String second = m == 1 ? String.format(Locale.ROOT, "%.2fus", WSE2.seconds(r.cycles()) * 1e6)
        : String.format(Locale.ROOT, "%.0f%%", 100 * r.computeCycles() / r.cycles());
    return String.format(Locale.ROOT, "%24s", String.format(Locale.ROOT, "%.0f | %s | %.1fs", r.cycles(), second,
        wall));
  }

  /** Seconds of a functional MeshGEMM and of a blocked Java matmul of the same product, the fastest of each. */
  public record Overhead(int grid, int n, double simulation, double plain) {
    public double ratio() {
      return simulation / plain;
    }
  }

  /**
   * Functional MeshGEMM n³ on p×p (real fp16 values, fp32 accumulation; operands made beforehand)
   * against a blocked matmul in plain Java: six alternating runs, the fastest of each, so that a
   * shared machine's noise hits both.
   */
  public static Overhead overhead(int p, int n) {
    Random rnd = new Random(1);
    float[] a = new float[n * n];
    float[] b = new float[n * n];
    for (int i = 0; i < a.length; i++) {
      a[i] = Fp16.round((float) rnd.nextGaussian());
      b[i] = Fp16.round((float) rnd.nextGaussian());
    }
    KernelTemplate t = Kernels.create("meshgemm", new KernelTemplate.Problem(n, n, n), p, p, true, 0);
    double sim = Double.MAX_VALUE;
    double plain = Double.MAX_VALUE;
    for (int run = 0; run < 6; run++) {
      long s = System.nanoTime();
      MeshRuntime.functional(t, WSE2, a, b);
      sim = Math.min(sim, (System.nanoTime() - s) / 1e9);
      s = System.nanoTime();
      blocked(a, b, n);
      plain = Math.min(plain, (System.nanoTime() - s) / 1e9);
    }
    return new Overhead(p, n, sim, plain);
  }

  /** {@link #overhead} as one line. */
  public static String describe(Overhead o) {
    double gflop = 2.0 * o.n() * o.n() * o.n() / 1e9;
    return String.format(Locale.ROOT, "Functional MeshGEMM %dx%dx%d on %dx%d PEs: %.2f s (%.2f GFLOP/s); blocked "
        + "Java matmul: %.2f s (%.2f GFLOP/s); simulator overhead %.2fx (fastest of 6 alternating runs each)", o.n(),
        o.n(), o.n(), o.grid(), o.grid(), o.simulation(), gflop / o.simulation(), o.plain(), gflop / o.plain(),
        o.ratio());
  }

  private static float[] blocked(float[] a, float[] b, int n) {
    float[] c = new float[n * n];
    int bs = 64;
    for (int ii = 0; ii < n; ii += bs) {
      for (int kk = 0; kk < n; kk += bs) {
        for (int jj = 0; jj < n; jj += bs) {
          for (int i = ii; i < ii + bs; i++) {
            for (int k = kk; k < kk + bs; k++) {
              float av = a[i * n + k];
              for (int j = jj; j < jj + bs; j++) {
                c[i * n + j] += av * b[k * n + j];
              }
            }
          }
        }
      }
    }
    return c;
  }

  private static List<Integer> parse(String s) {
    return java.util.Arrays.stream(s.split(",")).map(String::trim).map(Integer::parseInt).toList();
  }
}
