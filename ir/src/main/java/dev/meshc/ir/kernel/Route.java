package dev.meshc.ir.kernel;

import java.util.EnumSet;
import java.util.Set;

/**
 * One colour's entry in a PE's router: wavelets of {@code color} enter from {@code rx} and leave
 * toward every port in {@code tx} (RAMP in tx delivers to the PE; several ports multicast). This
 * is what CSL's {@code @set_color_config(x, y, color, .{.routes = .{.rx, .tx}})} says.
 */
public record Route(int color, Dir rx, Set<Dir> tx) {
  public Route {
    tx = java.util.Collections.unmodifiableSet(tx.isEmpty() ? EnumSet.noneOf(Dir.class) : EnumSet.copyOf(tx));
    if (tx.isEmpty()) {
      throw new IllegalArgumentException("route for colour " + color + " goes nowhere");
    }
    if (tx.contains(rx) && rx != Dir.RAMP) {
      throw new IllegalArgumentException("route for colour " + color + " sends back where it came from");
    }
  }

  public static Route of(int color, Dir rx, Dir... tx) {
    EnumSet<Dir> set = EnumSet.noneOf(Dir.class);
    for (Dir d : tx) {
      set.add(d);
    }
    return new Route(color, rx, set);
  }

  /** The PE injects on this colour. */
  public boolean sends() {
    return rx == Dir.RAMP;
  }

  /** The PE receives on this colour. */
  public boolean receives() {
    return tx.contains(Dir.RAMP);
  }

  /** Wavelets only pass through. */
  public boolean passes() {
    return !sends() && !receives();
  }
}
