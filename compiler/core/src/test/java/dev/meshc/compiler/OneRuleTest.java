package dev.meshc.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.backends.csl.CslCheck;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.ir.Limits;
import dev.meshc.ir.kernel.KTree;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The kernel program's one-rule promise, tested by changing a rule: the K-tree's group count
 * ({@link KTree#withGroupRule}) moves the planner's decode cost, the runtime's simulated cycles and
 * the CSL project's routes together, and under each rule the three still agree with one another
 * (simulated within 1% of predicted with fp16 partial sums, as the planner prices them; the
 * project's router entries equal the templates', as check-csl compares them). Nothing restates the
 * rule: if the planner, the runtime or the CSL backend kept a copy, one of them would not move.
 */
class OneRuleTest {
  /** What one rule gives: the plan's cycles per token, the runtime's, and the project's CSL text. */
  record Seen(long predicted, double simulated, String csl, int checkFindings) {}

  private static Seen compileRunAndEmit(IntUnaryOperator rule, int grid, Path dir) {
    return KTree.withGroupRule(rule, () -> {
      Path out = dir.resolve("g" + grid + "-" + rule.applyAsInt(grid));
      Compilation.Options o = new Compilation.Options(TestModels.example("models/tiny-llama.onnx"),
          List.of(InputBinding.parse("input_ids=1x8")), "wse2", "decode", null, 32,
          new dev.meshc.compiler.plan.Grids(grid, grid), 1, 10, 0, List.of("plan", "csl"), Limits.DEFAULTS, null, 1);
      Compilation.Result r = Compilation.run(o, out, null);
      assertTrue(r.feasible(), () -> String.join("; ", r.failures()));
      PlanDir.Loaded p = PlanDir.read(out);
      Execution.Generation g = Execution.generate(p, new long[] {483, 320, 350}, 2,
          new Execution.Options(false, Limits.DEFAULTS, null), Progress.NONE);
      assertTrue(g.program().same(), g.program().firstDifference());
      Path csl = out; // the project is written beside the plan
      CslCheck.Report check = CslCheck.check(List.of(csl), false);
      return new Seen(g.predictedCyclesPerToken(), g.simulatedCyclesPerToken(), text(csl),
          check.findings().size());
    });
  }

  private static String text(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(f -> f.toString().endsWith(".csl")).sorted().map(f -> {
        try {
          return Files.readString(f);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).collect(Collectors.joining("\n"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Groups of {@code size} PEs instead of about √P: every reader follows, and the plan, the run
   * and the CSL still agree.
   */
  @Property(tries = 3, seed = "16")
  void oneChangeMovesThePlannerTheRuntimeAndTheCslTogether(@ForAll @IntRange(min = 1, max = 4) int size)
      throws IOException {
    int grid = 8;
    IntUnaryOperator rule = n -> (n + size - 1) / size;
    if (rule.applyAsInt(grid) == KTree.SQRT_GROUPS.applyAsInt(grid)) {
      rule = n -> 1; // the same tree as the default: use one group (a plain chain) instead
    }
    Path dir = Files.createTempDirectory("meshc-one-rule");
    Seen base = compileRunAndEmit(KTree.SQRT_GROUPS, grid, dir);
    Seen changed = compileRunAndEmit(rule, grid, dir);
    for (Seen s : List.of(base, changed)) {
      assertEquals(s.predicted(), s.simulated(), 0.01 * s.predicted(), "simulated against predicted per token");
      assertEquals(0, s.checkFindings(), "check-csl on the project written under the same rule");
    }
    assertNotEquals(base.predicted(), changed.predicted(), "the planner's cost follows the rule");
    assertNotEquals(base.simulated(), changed.simulated(), 0.5, "the runtime's cycles follow the rule");
    assertNotEquals(base.csl(), changed.csl(), "the CSL routes follow the rule");
  }
}
