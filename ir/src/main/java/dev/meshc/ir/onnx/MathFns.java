package dev.meshc.ir.onnx;

/** Scalar functions Java's Math lacks. */
public final class MathFns {
  private MathFns() {}

  private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
  private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;

  /**
   * The error function to double precision: its Maclaurin series below |x| = 2.5, and erfc's
   * continued fraction (evaluated by Lentz's method) above, where the series would cancel.
   */
  public static double erf(double x) {
    if (Double.isNaN(x)) {
      return x;
    }
    double ax = Math.abs(x);
    if (ax < 2.5) {
      double x2 = x * x;
      double term = x;
      double sum = x;
      for (int n = 1; n < 200; n++) {
        term *= -x2 / n;
        double t = term / (2 * n + 1);
        sum += t;
        if (Math.abs(t) < 1e-17 * Math.abs(sum)) {
          break;
        }
      }
      return TWO_OVER_SQRT_PI * sum;
    }
    if (ax > 6.5) {
      return Math.copySign(1.0, x);
    }
    double erfc = erfcContinuedFraction(ax);
    return Math.copySign(1.0 - erfc, x);
  }

  /** erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), for x ≥ 2. */
  private static double erfcContinuedFraction(double x) {
    double tiny = 1e-300;
    double f = x;
    double c = x;
    double d = 0;
    for (int n = 1; n < 500; n++) {
      double a = n / 2.0;
      d = x + a * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = x + a / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      double delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) {
        break;
      }
    }
    return Math.exp(-x * x) * ONE_OVER_SQRT_PI / f;
  }

  public static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }

  /** GELU, erf form: x·Φ(x). */
  public static double geluErf(double x) {
    return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
  }

  /** GELU, tanh form (gelu_new). */
  public static double geluTanh(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  public static double silu(double x) {
    return x * sigmoid(x);
  }

  /** max(x, 0) (OPT's FFN). */
  public static double relu(double x) {
    return Math.max(x, 0);
  }

  /** max(x, 0)², squared ReLU (Nemotron, Persimmon). */
  public static double relu2(double x) {
    double r = relu(x);
    return r * r;
  }
}
