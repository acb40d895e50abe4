package dev.meshc.compiler.plan;

import dev.meshc.ir.kernel.Tiles;
import dev.meshc.ir.machine.MachineSpec;
import java.util.HashMap;
import java.util.Map;

/**
 * The paper's end-to-end throughput per request: generated tokens / (prefill time of the prompt +
 * decode time of every generated token), each decode step priced at the context it attends over
 * (prompt + tokens so far), on the phases' own plans.
 */
public record EndToEnd(long promptLen, long genLen, double prefillSeconds, double decodeSeconds) {
  public double tokensPerSecond() {
    return genLen / (prefillSeconds + decodeSeconds);
  }

  /**
   * From the prefill plan of a {@code promptLen} prompt and the decode plan: step i (from 0) of
   * the {@code genLen} attends over promptLen + i + 1 tokens. A region's cost depends on the
   * context only through the KV slots per PE, so each distinct count is priced once.
   */
  public static EndToEnd of(Plan prefill, Plan decode, ModelShape shape, MachineSpec m, long promptLen, long genLen) {
    ModelShape.LayerShape layer = shape.envelope();
    Map<Long, Double> priced = new HashMap<>();
    double cycles = 0;
    for (long i = 0; i < genLen; i++) {
      long context = promptLen + i + 1;
      for (Plan.Region r : decode.regions()) {
        long key = (long) r.index() << 32 | Tiles.tile(context, r.grid());
        double c = priced.computeIfAbsent(key, k -> {
          CostModel cost = new CostModel(m, Workload.decode(context));
          double head = r.head() && shape.head() != null ? cost.head(shape.head(), layer.normed(), r.grid()).cycles() : 0;
          return r.layers() * cost.layer(layer, r.grid()).cycles() + head;
        });
        cycles += c + r.handoffCycles();
      }
    }
    return new EndToEnd(promptLen, genLen, prefill.seconds(), m.seconds(cycles));
  }
}
