package dev.meshc.ir.kernel;

import dev.meshc.ir.MeshcException;
import java.util.List;

/** The kernel templates by algorithm name, as {@code meshc kernel} and the planner ask for them. */
public final class Kernels {
  private Kernels() {}

  /** GEMM algorithms (any M) and GEMV algorithms (M = 1). */
  public static final List<String> GEMM = List.of("meshgemm", "cannon", "summa", "gemmt");
  public static final List<String> GEMV = List.of("meshgemv", "pipeline", "ring");

  /**
   * The template for {@code algorithm} on a width × height grid. GEMMs need a square grid;
   * {@code groups} is MeshGEMV's K-tree group count per column (0 for ⌈√height⌉).
   */
  public static KernelTemplate create(String algorithm, KernelTemplate.Problem problem, int width, int height,
      boolean fp32, int groups) {
    if (GEMM.contains(algorithm) && width != height) {
      throw MeshcException.input("%s runs on a square grid; %dx%d is not square", algorithm, width, height);
    }
    if (GEMV.contains(algorithm) && problem.m() != 1) {
      throw MeshcException.input("%s multiplies a vector by a matrix: M must be 1 (the shape is %s)", algorithm,
          problem);
    }
    return switch (algorithm) {
      case "meshgemm" -> ShiftGemm.meshGemm(problem, width, fp32);
      case "cannon" -> ShiftGemm.cannon(problem, width, fp32);
      case "summa" -> new Summa(problem, width, fp32);
      case "gemmt" -> new DistGemmT(problem, width, fp32);
      case "meshgemv" -> GemvKernel.meshGemv(problem, width, height, fp32,
          groups > 0 ? groups : KTree.defaultGroups(height));
      case "pipeline" -> GemvKernel.pipeline(problem, width, height, fp32);
      case "ring" -> GemvKernel.ring(problem, width, height, fp32);
      default -> throw MeshcException.input("unknown algorithm '%s'; meshc has %s for GEMM and %s for GEMV",
          algorithm, String.join(", ", GEMM), String.join(", ", GEMV));
    };
  }
}
