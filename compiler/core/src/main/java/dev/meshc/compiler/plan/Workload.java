package dev.meshc.compiler.plan;

import dev.meshc.ir.MeshcException;
import java.util.Locale;

/**
 * What a plan is for: the phase and its sequence lengths, which are parameters of the lifted
 * layers, not of the ONNX trace. Prefill runs {@code promptLen} tokens at once; decode runs one
 * token against a KV cache of up to {@code maxContext} tokens.
 */
public record Workload(Phase phase, long promptLen, long maxContext, int batch) {
  public enum Phase {
    PREFILL, DECODE;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Phase parse(String s) {
      for (Phase p : values()) {
        if (p.label().equals(s)) {
          return p;
        }
      }
      throw MeshcException.input("unknown phase '%s': prefill or decode", s);
    }
  }

  public Workload {
    if (promptLen < 1 || maxContext < 1) {
      throw MeshcException.input("--prompt-len and --max-context must be at least 1 (got %d and %d)", promptLen,
          maxContext);
    }
    if (batch != 1) {
      throw MeshcException.input("batch %d: meshc plans one request at a time (batch 1), as the paper measures", batch);
    }
  }

  public static Workload decode(long maxContext) {
    return new Workload(Phase.DECODE, 1, maxContext, 1);
  }

  public static Workload prefill(long promptLen) {
    return new Workload(Phase.PREFILL, promptLen, promptLen, 1);
  }
}
