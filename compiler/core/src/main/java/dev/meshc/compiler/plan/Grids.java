package dev.meshc.compiler.plan;

import dev.meshc.ir.MeshcException;

/**
 * The region side each phase is fixed to (0: the solver chooses), as {@code --grid} takes it: one
 * side for both phases ({@code 420}), or per phase ({@code prefill:660,decode:360}, either part
 * alone), as the paper ran prefill and decode on grids of their own.
 */
public record Grids(int prefill, int decode) {
  public static final Grids FREE = new Grids(0, 0);

  public Grids {
    if (prefill < 0 || decode < 0) {
      throw MeshcException.input("--grid: a grid side is a positive number of PEs");
    }
  }

  /** The side for {@code phase}. */
  public int of(Workload.Phase phase) {
    return phase == Workload.Phase.DECODE ? decode : prefill;
  }

  public static Grids parse(String s) {
    String t = s.strip();
    if (t.matches("\\d{1,9}")) {
      int p = Integer.parseInt(t);
      return new Grids(p, p);
    }
    int prefill = 0;
    int decode = 0;
    for (String part : t.split(",", -1)) {
      String[] kv = part.strip().split(":", -1);
      if (kv.length != 2 || !kv[1].strip().matches("[1-9]\\d{0,8}")) {
        throw MeshcException.input("--grid %s: a side P, or prefill:P,decode:Q (either part alone)", s);
      }
      int p = Integer.parseInt(kv[1].strip());
      switch (kv[0].strip()) {
        case "prefill" -> prefill = p;
        case "decode" -> decode = p;
        default -> throw MeshcException.input("--grid %s: '%s' is not a phase (prefill or decode)", s, kv[0].strip());
      }
    }
    return new Grids(prefill, decode);
  }

  @Override
  public String toString() {
    return prefill == decode ? Integer.toString(prefill) : "prefill:" + prefill + ",decode:" + decode;
  }
}
