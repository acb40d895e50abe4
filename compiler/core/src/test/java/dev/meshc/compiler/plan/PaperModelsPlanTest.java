package dev.meshc.compiler.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.TestModels;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The paper's four models (shapes only, weights absent) planned on WSE-2. */
class PaperModelsPlanTest {
  static final MachineSpec WSE2 = MachineSpec.load("wse2");
  private static final Map<String, ModelShape> SHAPES = new ConcurrentHashMap<>();

  static ModelShape shape(String name) {
    return SHAPES.computeIfAbsent(name, n -> {
      Path p = TestModels.example("models/" + n + "-shape.onnx");
      assertTrue(Files.exists(p), p + " is committed");
      // as meshc compile plans decode: regions sized by the decode program's storage
      return ModelShape.decoding(Frontend.load(p, List.of(InputBinding.parse("input_ids=1x16"))).module());
    });
  }

  static Plan plan(String model, Workload w, int grid) {
    return new Planner(shape(model), WSE2, w, new Planner.Options(grid, 0, 3, 0.02, 1)).plan();
  }

  /** Acceptance 1: decode with 4096 context and prefill of a 4096 prompt plan, and pass the verifier. */
  @ParameterizedTest
  @CsvSource({"llama3-8b", "llama2-13b", "codellama-34b", "qwen2-72b"})
  void plansBothPhasesAndPassesTheVerifier(String model) {
    for (Workload w : List.of(Workload.decode(4096), Workload.prefill(4096))) {
      Plan p = plan(model, w, 0);
      assertTrue(p.feasible(), model + " " + w.phase().label() + ": " + p.explanation());
      assertEquals(List.of(), PlanVerifier.verify(p, shape(model), WSE2), model + " " + w.phase().label());
      assertTrue(p.maxPeBytes() <= WSE2.bufferBudget() && p.maxColorsPerPe() <= WSE2.colorBudget());
    }
  }

  /**
   * Acceptance 2: decode tokens/s on 420×420 regions within ±15% of the paper's figures, every layer
   * on a 420² region (as many regions and wafers as memory needs, hand-offs included); and decode is
   * strictly slower from 420² to 540² to 660², as the paper measured.
   */
  @ParameterizedTest
  @CsvSource({"llama3-8b, 2699.9", "llama2-13b, 2039.2", "codellama-34b, 1450.8", "qwen2-72b, 839.7"})
  void decodeOn420MatchesThePaper(String model, double paper) {
    Plan p = plan(model, Workload.decode(4096), 420);
    assertTrue(p.feasible(), p.explanation());
    assertEquals(paper, p.tokensPerSecond(), 0.15 * paper, model + " tokens/s");
    Plan mid = plan(model, Workload.decode(4096), 540);
    Plan bigger = plan(model, Workload.decode(4096), 660);
    assertTrue(mid.tokensPerSecond() < p.tokensPerSecond(), "540² should decode slower than 420²");
    assertTrue(bigger.tokensPerSecond() < mid.tokensPerSecond(), "660² should decode slower than 540²");
  }

  /**
   * Issue 18: prefill of a 4096-token prompt on 480×480 regions plans for all four models (the
   * 72B's CP-SAT model was invalid: its objective could overflow) and lands within ±15% of the
   * paper's Table 3 column, with nothing fitted to it; and prefill is strictly faster from 480² to
   * 600² to 720², as the paper measured.
   */
  @ParameterizedTest
  @CsvSource({"llama3-8b, 20320.6", "llama2-13b, 13685.1", "codellama-34b, 5471.4", "qwen2-72b, 2785.2"})
  void prefillOn480PlansNearThePaper(String model, double paper) {
    Plan p = plan(model, Workload.prefill(4096), 480);
    assertTrue(p.feasible(), p.explanation());
    assertEquals(paper, 4096 / p.seconds(), 0.15 * paper, model + " prompt tokens/s");
    Plan mid = plan(model, Workload.prefill(4096), 600);
    Plan bigger = plan(model, Workload.prefill(4096), 720);
    assertTrue(mid.feasible() && bigger.feasible(), mid.explanation() + " / " + bigger.explanation());
    assertTrue(mid.seconds() < p.seconds(), "600² should prefill faster than 480²");
    assertTrue(bigger.seconds() < mid.seconds(), "720² should prefill faster than 600²");
  }

  /** Acceptance 3 (first half): the solver's plan is no worse than the paper's grids for LLaMA3-8B. */
  @Test
  void solverIsNoWorseThanThePapersHandChoice() {
    for (var c : List.of(new Object[] {Workload.decode(4096), 360}, new Object[] {Workload.prefill(4096), 660})) {
      Workload w = (Workload) c[0];
      Plan hand = plan("llama3-8b", w, (int) c[1]);
      Plan free = new Planner(shape("llama3-8b"), WSE2, w, new Planner.Options(0, hand.wafers(), 8, 0, 1)).plan();
      assertTrue(hand.feasible() && free.feasible());
      assertTrue(free.cycles() <= hand.cycles() * (1 + 1e-9), w.phase().label() + ": solver " + free.cycles()
          + " cycles vs the paper's grid " + hand.cycles());
    }
  }
}
