package dev.meshc.backends.mesh;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import org.junit.jupiter.api.Test;

/** What a functional run refuses, in one line: work its time would not allow, memory the heap does not have. */
class FunctionalCapsTest {
  private static KernelTemplate create(String alg, int p, long m, long k, long n) {
    return Kernels.create(alg, new KernelTemplate.Problem(m, k, n), p, p, true, 0);
  }

  @Test
  void aKernelIsHeldToThePeRoundsItsTimeFollows() {
    // a decode step's GEMV on a 300² region is simulated; a small prefill MeshGEMM on 750² is not
    assertTrue(create("meshgemv", 300, 1, 4096, 14336).rounds() * 90_000L <= MeshRuntime.FUNCTIONAL_WORK);
    String refused = MeshRuntime.functionalTooBig(create("meshgemm", 750, 16, 64, 192));
    assertTrue(refused != null && refused.contains("PE-rounds") && !refused.contains("\n"), refused);
  }

  @Test
  void whatTheHeapCannotHoldIsNamedWithTheHeapItWouldNeed() {
    assertNull(MeshRuntime.heapTooSmall("a kernel", 1024, 0.5));
    long heap = Runtime.getRuntime().maxMemory();
    String r = MeshRuntime.heapTooSmall("a kernel", heap, 0.5);
    long wanted = (long) Math.ceil(2.0 * heap / (1 << 30));
    assertTrue(r != null && r.startsWith("a kernel: about ") && r.contains("-Xmx" + wanted + "g")
        && !r.contains("\n"), r);
  }
}
