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
}
