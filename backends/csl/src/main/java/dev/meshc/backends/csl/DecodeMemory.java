package dev.meshc.backends.csl;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.Module;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bytes a decode PE holds, as the decode program declares them: {@link DecodeProgram#storage}
 * (every top-level {@code var} of decode.csl) printed alone under its size params and evaluated
 * with check-csl's own evaluator ({@link Comptime}, as {@link CslChecker} sizes a PE's program).
 * The planner sizes its decode regions with this, so the plan's memory per PE is the program's.
 */
public final class DecodeMemory {
  /** A PE's bytes: weight arrays, the KV cache (with its ring counters), everything else. */
  public record Bytes(long weights, long kv, long other) {
    public long total() {
      return weights + kv + other;
    }
  }

  private static final Set<String> KV = Set.of(DecodeProgram.KV_CACHE);
  private static final long STEPS = 10_000_000L; // evaluation steps; the block is a few hundred

  private final CslSource storage;
  private final Set<String> weights;
  private final Map<List<Object>, Bytes> seen = new HashMap<>();

  private DecodeMemory(CslSource storage, Set<String> weights) {
    this.storage = storage;
    this.weights = weights;
  }

  /**
   * The storage of {@code oneToken}'s decode program (the model lifted at one token, as the CSL
   * is written from); throws {@link dev.meshc.ir.MeshcException} for a model the decode CSL refuses.
   */
  public static DecodeMemory of(Module oneToken) {
    DecodeModel d = DecodeModel.of(oneToken, new float[] {1f}); // θ sizes nothing
    CslText c = new CslText();
    DecodeProgram.sizes(c);
    DecodeProgram.storage(c, d);
    return new DecodeMemory(CslSource.parse(d.name() + " storage", c.toString()),
        Set.copyOf(d.arrays().stream().map(DecodeModel.Array::symbol).toList()));
  }

  /**
   * A PE of a region of side {@code p} holding {@code layers} layers (and the LM head when {@code
   * lmHead}), {@code slots} KV slots per PE.
   */
  public synchronized Bytes of(int p, int layers, boolean lmHead, long slots) {
    return seen.computeIfAbsent(List.of(p, layers, lmHead, slots), k -> {
      Comptime ct = new Comptime(storage.name(), null, STEPS);
      Comptime.Scope scope = ct.fileScope(storage.tree(), Map.of("P", (long) p, "L", (long) layers, "St", slots,
          "lm_head", lmHead, "idle", false));
      long w = 0;
      long kv = 0;
      long other = 0;
      for (CslParser.TopDeclContext t : storage.tree().topDecl()) {
        if (t.varDecl() != null) {
          long b = CslChecker.bytes(ct.varType(t.varDecl(), scope));
          String name = t.varDecl().ID().getText();
          if (weights.contains(name)) {
            w += b;
          } else if (KV.contains(name)) {
            kv += b;
          } else {
            other += b;
          }
        }
      }
      return new Bytes(w, kv, other);
    });
  }
}
