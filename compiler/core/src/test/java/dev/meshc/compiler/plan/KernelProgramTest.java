package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.Module;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.machine.MachineSpec;
import dev.meshc.ir.op.Attention;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The prefill kernel program is lowered from the tile IR's ops by one rule, and the planner's
 * figure for a layer is the sum of that program's estimates, at the planned prompt length.
 */
class KernelProgramTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");

  private static Module tinyLlama() {
    return Frontend.load(TestModels.example("models/tiny-llama.onnx"), List.of(InputBinding.parse("input_ids=1x16")))
        .module();
  }

  private static List<String> signatures(List<KernelProgram.Invocation> ks) {
    return ks.stream().map(k -> KernelProgram.Invocation.signature(k.toKernel(WSE2))).toList();
  }

  @Test
  void opsLowerToTheirKernelsAndScaleWithThePromptLength() {
    Module m = tinyLlama();
    int linears = 0;
    int attentions = 0;
    for (int i = 0; i < m.ops().size(); i++) {
      Op op = m.ops().get(i);
      List<KernelProgram.Invocation> at16 = KernelProgram.lower(op, i, 16, 16, 4, false);
      List<KernelProgram.Invocation> at64 = KernelProgram.lower(op, i, 16, 64, 4, false);
      assertEquals(at16.size(), at64.size(), op.name());
      assertEquals(signatures(at16), signatures(KernelProgram.lower(op, i, -1, -1, 4, false)),
          "at the module's own length nothing is rescaled: " + op.name());
      if (op instanceof Linear l) {
        linears++;
        KernelTemplate.Problem p = at16.get(0).template().problem();
        assertEquals("meshgemm", at16.get(0).algorithm());
        assertEquals(new KernelTemplate.Problem(16, l.w().shape().dim(0), l.w().shape().dim(1)), p);
        assertEquals(new KernelTemplate.Problem(64, p.k(), p.n()), at64.get(0).template().problem());
        assertTrue(at16.get(0).weight());
      } else if (op instanceof Attention a) {
        attentions++;
        assertEquals(List.of("gemmt", "softmax", "meshgemm"), at16.stream().map(KernelProgram.Invocation::algorithm)
            .toList());
        assertEquals(a.heads(), at16.get(0).count(), "one run per query head");
        assertEquals(new KernelTemplate.Problem(64, a.headDim(), 64), at64.get(0).template().problem());
        assertEquals(new KernelTemplate.Problem(64, 64, a.headDim()), at64.get(2).template().problem());
      } else if (KernelProgram.localFn(op) == null && !op.name().endsWith("norm")) {
        assertNull(at16.get(0).template(), op.name() + " runs on the host");
        assertEquals(0, at16.get(0).cycles(WSE2));
      }
    }
    assertEquals(2 * 7 + 1, linears); // q, k, v, o, gate, up, down per layer, and the LM head
    assertEquals(2, attentions);
  }

  /** What the planner charges for a layer is exactly its program's estimates. */
  @Test
  void thePlannersLayerCostIsTheProgramsSum() {
    Module m = tinyLlama();
    ModelShape shape = ModelShape.of(m);
    for (long prompt : new long[] {16, 48}) {
      CostModel cost = new CostModel(WSE2, Workload.prefill(prompt));
      double sum = 0;
      long runs = 0;
      for (KernelProgram.Invocation k : shape.layers().get(0).program().lower(prompt, 4)) {
        sum += k.cycles(WSE2);
        runs += k.template() == null ? 0 : k.count();
      }
      CostModel.UnitCost u = cost.layer(shape.envelope(), 4);
      assertEquals(sum, u.cycles(), 1e-6, "prompt " + prompt);
      assertEquals(runs, u.steps().stream().mapToLong(s -> s.shape().contains(" x")
          ? Long.parseLong(s.shape().substring(s.shape().indexOf(" x") + 2)) : 1).sum());
    }
  }

  /**
   * Decode computes K and V expanded to the query heads (tiny-llama: 4 heads, 2 kv heads of 16):
   * the K and V linears are GEMVs as wide as Q's, RoPE on K runs on a row per query head, and
   * nothing else widens; each expanded row copies its query head's kv head.
   */
  @Test
  void decodeRunsKAndVExpandedToTheQueryHeads() {
    Module m = tinyLlama();
    ModelShape.Ops layer = ModelShape.of(m).layers().get(0).program();
    Attention a = (Attention) layer.ops().stream().filter(o -> o instanceof Attention).findFirst().orElseThrow();
    assertEquals(2, a.group());
    java.util.Map<Op, KernelProgram.Expansion> x = KernelProgram.kvExpansion(layer.ops());
    assertEquals(List.of("Linear", "Linear", "Rope"), x.keySet().stream().filter(o -> o instanceof Linear
        || KernelProgram.localFn(o) != null).map(o -> o.getClass().getSimpleName()).sorted().toList(),
        "the K and V linears and RoPE on K (and the head splits between): " + x.keySet());
    List<KernelProgram.Invocation> program = layer.decode(64, 4);
    int widened = 0;
    for (int j = 0; j < layer.ops().size(); j++) {
      Op op = layer.ops().get(j);
      int index = layer.start() + j;
      List<KernelProgram.Invocation> ks = program.stream().filter(k -> k.op() == index).toList();
      if (op instanceof Linear l) {
        long n = ks.get(0).template().problem().n();
        assertEquals(l.w().shape().dim(1) * (x.containsKey(op) ? a.group() : 1), n, op.name());
        widened += x.containsKey(op) ? 1 : 0;
      } else if (x.containsKey(op) && ks.get(0).template() != null) {
        assertEquals(a.heads(), ks.get(0).template().problem().m(), op.name() + ": a row per query head");
        widened++;
      }
    }
    assertEquals(3, widened);
    KernelProgram.Expansion e = x.values().iterator().next();
    assertEquals(a.headDim(), e.width());
    for (long q = 0; q < a.heads(); q++) {
      assertEquals(q / a.group(), e.compactRow(q), "query head " + q + " reads kv head " + q / a.group());
    }
  }
}
