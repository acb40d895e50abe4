package dev.meshc.backends.csl.sim;

import dev.meshc.backends.csl.Comptime;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Dir;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The routers of the kernel rectangle: per PE and colour the route {@code @set_color_config} (or a
 * PE's {@code @set_local_color_config}) gave it, with its switch positions and its ramp filter. A
 * wavelet is routed when it is sent, hop by hop through the routes as they stand, so a control
 * wavelet that advances a switch changes the route for the wavelets behind it.
 */
final class Fabric {
  /** One 32-bit wavelet; {@code time} is the cycle it reaches the ramp it is delivered to. */
  record Wavelet(int data, boolean control, long time) {}

  /**
   * A PE whose ramp receives a wavelet, the hops it took to get there, its colour there (swaps change
   * it) and its bits there (a control wavelet's commands are popped on the way).
   */
  record Hit(int x, int y, int hops, int color, int bits) {}

  // A control wavelet's payload carries two router commands, 3 bits each from bit 22: an opcode in
  // the low 2 bits (NOP 0, SWITCH_ADV 1, SWITCH_RST 2, TEARDOWN 3) and NO_CE in bit 2; a task ID in
  // bits 16-21 and 16 data bits. The layout is the one csl-examples' benchmarks/cholesky writes by
  // hand ("(5 << 22) | (4 << 25)": ADV + NO_CE, then NOP + NO_CE); the rest is meshc's model: a
  // router with switches applies the first command, and pops it (the second moves up) when its
  // .pop_mode says so.
  static final int CMD_SHIFT = 22;
  static final int NOP = 0;
  static final int SWITCH_ADV = 1;
  static final int SWITCH_RST = 2;

  static int command(int bits) {
    return (bits >>> CMD_SHIFT) & 7;
  }

  /** The payload with its first command popped: the second takes its place, a NOP (keeping NO_CE) the second's. */
  static int popped(int bits) {
    int second = (bits >>> (CMD_SHIFT + 3)) & 7;
    int rest = bits & ~(0x3f << CMD_SHIFT);
    return rest | (second << CMD_SHIFT) | ((second & 4) << (CMD_SHIFT + 3));
  }

  /**
   * A route position: where it receives from and sends to, and whether a wavelet leaving east or
   * west ({@code .color_swap_x}) or north or south ({@code .color_swap_y}) flips its colour's lowest bit.
   */
  record Pos(Set<Dir> rx, Set<Dir> tx, boolean swapX, boolean swapY) {}

  /** A range filter (the kind the tutorials use): the ramp takes wavelets whose upper 16 bits are in [min, max]. */
  record Filter(int min, int max) {}

  /** A colour's route on one router: position 0 is {@code .routes}, 1–3 the switch's {@code .posN}. */
  static final class Route {
    final List<Pos> positions;
    final boolean ring;
    final Filter filter;
    final Comptime.Loc loc;
    /** {@code .pop_mode}: a control wavelet ends at this router always, or when it advances the switch. */
    final boolean alwaysPop;
    final boolean popOnAdvance;
    int pos;

    Route(List<Pos> positions, int pos, boolean ring, Filter filter, Comptime.Loc loc, boolean alwaysPop,
        boolean popOnAdvance) {
      this.positions = positions;
      this.pos = pos;
      this.ring = ring;
      this.filter = filter;
      this.loc = loc;
      this.alwaysPop = alwaysPop;
      this.popOnAdvance = popOnAdvance;
    }

    /** Whether a SWITCH_ADV control wavelet moves this switch. */
    boolean moves() {
      return positions.size() > 1 && (pos + 1 < positions.size() || ring);
    }

    Pos now() {
      return positions.get(pos);
    }

    /** A control wavelet that carries SWITCH_ADV has passed: the next position (the first again in ring mode). */
    void advance() {
      if (positions.size() > 1) {
        pos = pos + 1 < positions.size() ? pos + 1 : ring ? 0 : pos;
      }
    }
  }

  /**
   * A router on the way has no route that takes the wavelet: it waits at that router's input (the
   * route may be set at run time, as {@code <tile_config>}'s {@code reset_routes} does); one that no
   * route ever takes holds its sender until the program deadlocks, and the report says where.
   */
  static final class NoRoute extends RuntimeException {
    NoRoute(String message) {
      super(message, null, false, false);
    }
  }


  private final int width;
  private final int height;
  private final Route[] routes;
  private final boolean wse2;
  /** The colours a router routes ({@code MachineSpec.routableColors}). */
  final int colors;

  Fabric(int width, int height, int colors, boolean wse2) {
    this.width = width;
    this.height = height;
    this.colors = colors;
    this.wse2 = wse2;
    this.routes = new Route[width * height * colors];
  }

  Route route(int x, int y, int color) {
    return routes[(y * width + x) * colors + color];
  }

  /** Sets PE (x, y)'s route for {@code color} (one the simulator has checked is routable) from a color config struct ({@code .routes}, {@code .switches}, {@code .filter}). */
  void configure(int x, int y, int color, Map<?, ?> cfg, Comptime.Loc loc) {
    Map<?, ?> r = cfg.get("routes") instanceof Map<?, ?> m ? m : null;
    if (r == null) {
      throw MeshcException.input("%s: a colour config without .routes", loc);
    }
    for (Object k : r.keySet()) {
      if (!String.valueOf(k).matches("rx|tx|color_swap_x|color_swap_y")) {
        throw MeshcException.input("%s: route option .%s is not modelled yet", loc, k);
      }
    }
    boolean swapX = Boolean.TRUE.equals(r.get("color_swap_x"));
    boolean swapY = Boolean.TRUE.equals(r.get("color_swap_y"));
    if ((swapX || swapY) && !wse2) {
      throw MeshcException.input("%s: colour swap is WSE-2's (the SDK does not support it on WSE-3)", loc);
    }
    Pos base = new Pos(dirs(r.get("rx"), loc), dirs(r.get("tx"), loc), swapX, swapY);
    List<Pos> positions = new ArrayList<>(List.of(base));
    int current = 0;
    boolean ring = false;
    boolean alwaysPop = false;
    boolean popOnAdvance = false;
    if (cfg.get("switches") instanceof Map<?, ?> sw) {
      if (sw.get("pop_mode") instanceof Map<?, ?> pm) {
        alwaysPop = Boolean.TRUE.equals(pm.get("always_pop"));
        popOnAdvance = Boolean.TRUE.equals(pm.get("pop_on_advance"));
        for (Object k : pm.keySet()) {
          if (!String.valueOf(k).matches("always_pop|pop_on_advance|no_pop")) {
            throw MeshcException.input("%s: pop mode .%s is not modelled yet", loc, k);
          }
        }
      }
      for (int p = 1; p <= 3; p++) {
        if (sw.get("pos" + p) instanceof Map<?, ?> pm) {
          positions.add(new Pos(pm.containsKey("rx") ? dirs(pm.get("rx"), loc) : base.rx(),
              pm.containsKey("tx") ? dirs(pm.get("tx"), loc) : base.tx(), swapX, swapY));
        }
      }
      current = sw.get("current_switch_pos") instanceof Long l ? l.intValue() : 0;
      ring = Boolean.TRUE.equals(sw.get("ring_mode"));
      if (current < 0 || current >= positions.size()) {
        throw MeshcException.input("%s: .current_switch_pos = %d, but the switch has positions 0 to %d", loc, current,
            positions.size() - 1);
      }
      for (Object k : sw.keySet()) {
        if (!String.valueOf(k).matches("pos[123]|current_switch_pos|ring_mode|pop_mode")) {
          throw MeshcException.input("%s: switch option .%s is not modelled yet", loc, k);
        }
      }
    }
    Filter filter = null;
    if (cfg.get("filter") instanceof Map<?, ?> f) {
      if (!(f.get("kind") instanceof Map<?, ?> kind && Boolean.TRUE.equals(kind.get("range")))) {
        throw MeshcException.input("%s: only range filters (.kind = .{ .range = true }) are modelled yet", loc);
      }
      filter = new Filter(intOf(f.get("min_idx"), "min_idx", loc), intOf(f.get("max_idx"), "max_idx", loc));
    }
    for (Object k : cfg.keySet()) {
      if (!String.valueOf(k).matches("routes|switches|filter")) {
        throw MeshcException.input("%s: colour config option .%s is not modelled yet", loc, k);
      }
    }
    routes[(y * width + x) * colors + color] = new Route(List.copyOf(positions), current, ring, filter, loc, alwaysPop,
        popOnAdvance);
  }

  /**
   * The ramps a wavelet sent by PE (x, y) on {@code color} reaches, routes as they stand. A router
   * it reaches that does not receive from where it came loses it, and so does the rectangle's edge:
   * both are errors at {@code at}, the operation that sent it.
   */
  List<Hit> trace(int x, int y, int color, Fabric.Wavelet w, Comptime.Loc at) {
    List<Hit> hits = new ArrayList<>();
    walk(x, y, color, Dir.RAMP, 0, w, w.data(), at, hits, false, x, y, new java.util.HashSet<>());
    return hits;
  }

  /** Routes the wavelet again, this time letting a control wavelet's commands move the switches it passes. */
  void commit(int x, int y, int color, Fabric.Wavelet w, Comptime.Loc at) {
    walk(x, y, color, Dir.RAMP, 0, w, w.data(), at, new ArrayList<>(), true, x, y, new java.util.HashSet<>());
  }

  private void walk(int x, int y, int color, Dir from, int hops, Fabric.Wavelet w, int bits, Comptime.Loc at,
      List<Hit> hits, boolean commit, int sx, int sy, Set<Long> seen) {
    if (!seen.add((((long) y * width + x) * 8 + from.ordinal()) * colors + color)) {
      return; // a route that loops back on itself: each router forwards a wavelet once
    }
    Route r = route(x, y, color);
    if (r == null || !r.now().rx().contains(from)) {
      throw new NoRoute(String.format(java.util.Locale.ROOT, "a wavelet on colour %d sent by PE (%d, %d) reaches PE "
          + "(%d, %d)%s, whose router has no route for colour %d that receives from %s", color, sx, sy, x, y,
          from == Dir.RAMP ? " from its own ramp" : " from the " + from.name(), color, from));
    }
    Set<Dir> tx = r.now().tx();
    if (w.control() && r.positions.size() > 1) {
      int op = command(bits) & 3;
      boolean moves = op == SWITCH_ADV && r.moves() || op == SWITCH_RST && r.pos != 0;
      if (commit && moves) {
        if (op == SWITCH_ADV) {
          r.advance();
        } else {
          r.pos = 0;
        }
      }
      if (r.alwaysPop || r.popOnAdvance && moves) {
        bits = popped(bits);
      }
    } else if (w.control() && r.alwaysPop) {
      bits = popped(bits);
    }
    for (Dir d : tx) {
      if (d == Dir.RAMP) {
        if (w.control() || r.filter == null || inRange(r.filter, w.data() >>> 16)) {
          hits.add(new Hit(x, y, hops, color, bits));
        }
        continue;
      }
      int nx = x + d.dx();
      int ny = y + d.dy();
      if (nx < 0 || ny < 0 || nx >= width || ny >= height) {
        throw MeshcException.input("%s: a wavelet on colour %d sent by PE (%d, %d) leaves the kernel rectangle at PE "
            + "(%d, %d) going %s (route at %s): the wavelet is lost", at, color, sx, sy, x, y, d, r.loc);
      }
      boolean swap = d == Dir.EAST || d == Dir.WEST ? r.now().swapX() : r.now().swapY();
      walk(nx, ny, swap ? color ^ 1 : color, d.opposite(), hops + 1, w, bits, at, hits, commit, sx, sy, seen);
    }
  }

  private static boolean inRange(Filter f, int idx) {
    return idx >= f.min() && idx <= f.max();
  }

  private static int intOf(Object v, String what, Comptime.Loc loc) {
    if (v instanceof Long l) {
      return l.intValue();
    }
    throw MeshcException.input("%s: filter .%s must be an integer known at comptime", loc, what);
  }

  static Set<Dir> dirs(Object v, Comptime.Loc loc) {
    return v == null ? EnumSet.noneOf(Dir.class) : dev.meshc.backends.csl.Layout.dirs(v, loc);
  }
}
