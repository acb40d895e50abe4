package dev.meshc.cli;

import dev.meshc.ir.MeshcException;
import picocli.CommandLine.Option;

/** {@code --accumulate fp32|fp16}, for every command that runs kernels with real numbers. */
final class AccumulateOption {
  @Option(names = "--accumulate", paramLabel = "fp32|fp16", defaultValue = "fp32",
      description = "partial sums in fp32 (default) or fp16, as WSE's @fmach")
  String accumulate;

  /** True for fp32 partial sums; a value other than fp32 or fp16 is bad input. */
  boolean fp32() {
    if (!accumulate.equals("fp32") && !accumulate.equals("fp16")) {
      throw MeshcException.input("--accumulate %s should be fp16 or fp32", accumulate);
    }
    return accumulate.equals("fp32");
  }

  @Override
  public String toString() {
    return accumulate;
  }
}
