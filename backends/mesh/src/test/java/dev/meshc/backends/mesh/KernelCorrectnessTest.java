package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.machine.MachineSpec;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel, MeshGEMM, dist-GEMM-T and MeshGEMV and their baselines, equals the exact product
 * of its fp16 inputs on every grid size, with dimensions that do not divide the grid: within 1e-3
 * relative with fp32 accumulation, and within the fp16 recursive-summation bound with fp16.
 */
class KernelCorrectnessTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  static Stream<Arguments> cases() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int p : new int[] {2, 3, 4, 5, 7, 8, 16, 32}) {
      for (String alg : Kernels.GEMM) {
        b.add(Arguments.of(alg, p));
      }
      for (String alg : Kernels.GEMV) {
        b.add(Arguments.of(alg, p));
      }
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0} P={1}")
  @MethodSource("cases")
  void equalsTheReferenceProduct(String alg, int p) {
    boolean gemv = Kernels.GEMV.contains(alg);
    int m = gemv ? 1 : 2 * p + 3;
    int k = 3 * p + 1;
    int n = 2 * p - 1;
    Random r = new Random(p * 31L + alg.hashCode());
    float[] a = Products.fp16Gaussian(m * k, r);
    float[] b = Products.fp16Gaussian(k * n, r);
    boolean transposed = alg.equals("gemmt");
    double[][] ref = Products.reference(a, b, m, k, n, transposed);
    KernelTemplate.Problem problem = new KernelTemplate.Problem(m, k, n);

    RunResult fp32 = MeshRuntime.functional(Kernels.create(alg, problem, p, p, true, 0), WSE2, a, b);
    double rel32 = Products.maxRelError(fp32.c(), ref[0]);
    assertTrue(rel32 <= 1e-3, alg + " P=" + p + " fp32 accumulate: max relative error " + rel32);

    RunResult fp16 = MeshRuntime.functional(Kernels.create(alg, problem, p, p, false, 0), WSE2, a, b);
    double ratio = Products.boundRatio(fp16.c(), ref[0], ref[1], k + p);
    assertTrue(ratio <= 1, alg + " P=" + p + " fp16 accumulate exceeds its bound: " + ratio);
  }

  /**
   * MeshGEMV turned a quarter (a split along X, B pre-transposed, K-tree along rows) computes the
   * same product, on grids that are not square so an axis mix-up shows, and its figures are what
   * the runtime sees.
   */
  @ParameterizedTest(name = "{0}x{1}")
  @org.junit.jupiter.params.provider.CsvSource({"3,5", "8,4", "1,6", "6,1", "16,16"})
  void transposedMeshGemvEqualsTheReferenceProduct(int w, int h) {
    int k = 3 * w + 2;
    int n = 2 * h + 1;
    Random r = new Random(w * 131L + h);
    float[] a = Products.fp16Gaussian(k, r);
    float[] b = Products.fp16Gaussian(k * n, r);
    double[][] ref = Products.reference(a, b, 1, k, n, false);
    var t = dev.meshc.ir.kernel.GemvKernel.transposed(new KernelTemplate.Problem(1, k, n), w, h, true, 0);
    RouteCheck.verify(t, WSE2);
    RunResult run = MeshRuntime.functional(t, WSE2, a, b);
    double rel = Products.maxRelError(run.c(), ref[0]);
    assertTrue(rel <= 1e-3, "max relative error " + rel);
    org.junit.jupiter.api.Assertions.assertEquals(t.maxBytesPerPe(), run.maxPeBytes());
    org.junit.jupiter.api.Assertions.assertEquals(t.maxColorsPerPe(), run.maxColorsPerPe());
    org.junit.jupiter.api.Assertions.assertEquals(t.maxHopsPerTransfer(), run.maxHopsPerTransfer());
  }
}
