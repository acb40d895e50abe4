package dev.meshc.ir.eval;

import static dev.meshc.ir.ModuleBuilder.std;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.Module;
import dev.meshc.ir.ModuleBuilder;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Synthetic weights: drawn as the fixtures were, the same numbers for every view and run of a seed. */
class SyntheticWeightsTest {
  private static final int VOCAB = 300;
  private static final int D = 256;
  private static final int N = 96;

  /**
   * ids → embedding (tied to the LM head) → rms_norm → linear(W [D, N] stored [N, D], + bias) →
   * layer_norm(scale, shift) → linear(back, stored [in, out]) → linear(the embedding table, transposed):
   * every kind of weight the rule names.
   */
  private static Module model(DType dt) {
    ModuleBuilder b = new ModuleBuilder("m");
    Value ids = b.input("ids", std(DType.I64, 1, 4));
    Value table = b.weight("table", std(dt, VOCAB, D), "embed.weight");
    Value head = b.weight("head", std(dt, D, VOCAB), "embed.weight", 1, 0);
    Value g = b.weight("g", std(dt, D), "norm.weight");
    Value w = b.weight("w", std(dt, D, N), "proj.weight", 1, 0);
    Value bias = b.weight("bias", std(dt, N), "proj.bias");
    Value scale = b.weight("scale", std(dt, N), "ln.weight");
    Value shift = b.weight("shift", std(dt, N), "ln.bias");
    Value h = b.op("embedding", "h", List.of(ids, table), Attrs.EMPTY);
    Value n = b.op("rms_norm", "n", List.of(h, g), Attrs.EMPTY);
    Value y = b.op("linear", "y", List.of(n, w, bias), Attrs.EMPTY);
    Value z = b.op("layer_norm", "z", List.of(y, scale, shift), Attrs.EMPTY);
    Value back = b.weight("back", std(dt, N, D), "back.weight"); // stored [in, out], as GPT-2's Conv1D
    Value u = b.op("linear", "u", List.of(z, back), Attrs.EMPTY);
    b.output(b.op("linear", "logits", List.of(u, head), Attrs.EMPTY));
    return b.build();
  }

  private static Weight weight(Module m, String name) {
    return m.weights().stream().filter(w -> w.name().equals(name)).findFirst().orElseThrow();
  }

  private static double[] meanAndStd(float[] v) {
    double s = 0;
    double q = 0;
    for (float x : v) {
      s += x;
      q += (double) x * x;
    }
    double mean = s / v.length;
    return new double[] {mean, Math.sqrt(q / v.length - mean * mean)};
  }

  @Test
  void eachKindIsDrawnAsTheFixturesWere() {
    Module m = model(DType.F32);
    SyntheticWeights s = SyntheticWeights.of(m, 11);
    // std within 3% (a sample of at least 24,576: the estimate's own error is under 0.5%)
    double[] table = meanAndStd(s.read(weight(m, "table")).floats());
    assertEquals(0, table[0], 0.01 / Math.sqrt(D));
    assertEquals(1 / Math.sqrt(D), table[1], 0.03 / Math.sqrt(D), "an embedding: N(0, 1/row width)");
    double[] w = meanAndStd(s.read(weight(m, "w")).floats());
    assertEquals(1 / Math.sqrt(D), w[1], 0.03 / Math.sqrt(D), "a linear's [in, out]: N(0, 1/in)");
    double[] back = meanAndStd(s.read(weight(m, "back")).floats());
    assertEquals(1 / Math.sqrt(N), back[1], 0.03 / Math.sqrt(N), "fan_in is the linear's rows, however stored");
    // vectors: a sample of D or N, so 25% on the std and 4 standard errors on the mean
    double[] g = meanAndStd(s.read(weight(m, "g")).floats());
    assertEquals(1, g[0], 4 * 0.1 / Math.sqrt(D), "a norm's scale: 1 + N(0, 0.1²)");
    assertEquals(0.1, g[1], 0.025);
    double[] scale = meanAndStd(s.read(weight(m, "scale")).floats());
    assertEquals(1, scale[0], 4 * 0.1 / Math.sqrt(N));
    double[] bias = meanAndStd(s.read(weight(m, "bias")).floats());
    assertEquals(0, bias[0], 4 * 0.02 / Math.sqrt(N), "a bias: N(0, 0.02²)");
    assertEquals(0.02, bias[1], 0.005);
    double[] shift = meanAndStd(s.read(weight(m, "shift")).floats());
    assertEquals(0.02, shift[1], 0.005, "a norm's shift is a bias");
  }

  @Test
  void aPermutedViewReadsTheInitializersNumbers() {
    Module m = model(DType.F32);
    SyntheticWeights s = SyntheticWeights.of(m, 11);
    float[] table = s.read(weight(m, "table")).floats();
    float[] head = s.read(weight(m, "head")).floats();
    for (int r = 0; r < VOCAB; r++) {
      for (int c = 0; c < D; c++) {
        assertEquals(table[r * D + c], head[c * VOCAB + r], "the tied head is the table transposed");
      }
    }
  }

  @Test
  void aSeedGivesTheSameNumbersEveryTimeAndAnotherSeedOthers() {
    Module m = model(DType.F32);
    float[] a = SyntheticWeights.of(m, 11).read(weight(m, "w")).floats();
    assertArrayEquals(a, SyntheticWeights.of(m, 11).read(weight(m, "w")).floats());
    float[] b = SyntheticWeights.of(m, 12).read(weight(m, "w")).floats();
    assertFalse(java.util.Arrays.equals(a, b));
    float[] other = SyntheticWeights.of(m, 11).read(weight(m, "back")).floats();
    assertFalse(a[0] == other[0] && a[1] == other[1], "initializers draw from their own streams");
  }

  @Test
  void halfPrecisionWeightsHoldHalfPrecisionValues() {
    Module m = model(DType.F16);
    Tensor t = SyntheticWeights.of(m, 3).read(weight(m, "w"));
    assertEquals(DType.F16, t.dtype());
    for (float v : t.floats()) {
      assertEquals(Fp16.round(v), v);
    }
  }
}
