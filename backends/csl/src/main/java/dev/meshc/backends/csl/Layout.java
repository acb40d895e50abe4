package dev.meshc.backends.csl;

import dev.meshc.grammar.CslParser;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Dir;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a top-level {@code layout.csl} sets up once its comptime code has run: the kernel
 * rectangle, each PE's program and parameters, and each PE's router entries, every one with the
 * place in the source that made it.
 *
 * <p>Routes a PE program applies at run time (tile_config's {@code reset_routes}) are read from
 * its params by a convention meshc's projects follow: a param {@code routes_NAME} is
 * configuration NAME, a struct from colour names (consts of the layout file) to routes
 * {@code .{ .rx = DIR, .tx = [n]direction{ ... } }}; a route from RAMP to RAMP alone carries
 * nothing. {@link #configs} holds them by NAME, each entry at the {@code @set_tile_code} that
 * passed it.
 */
public record Layout(int width, int height, Map<Long, Tile> tiles, List<RouteEntry> routes,
    Map<String, List<RouteEntry>> configs) {
  /** The prefix of a param that carries a run-time route configuration. */
  public static final String CONFIG_PARAM = "routes_";

  /** {@code @set_tile_code(x, y, file, params)}. */
  public record Tile(int x, int y, String file, Map<String, Object> params, Comptime.Loc loc) {}

  /** {@code @set_color_config(x, y, color, .{ .routes = .{ .rx, .tx } })}. */
  public record RouteEntry(int x, int y, Comptime.ColorVal color, Set<Dir> rx, Set<Dir> tx, Comptime.Loc loc,
      Map<?, ?> config) {}

  /** The largest rectangle the evaluator accepts (a WSE fabric is under a million PEs). */
  static final long MAX_PES = dev.meshc.ir.Limits.MAX_LAYOUT_PES;

  /**
   * PE (x, y)'s key in maps of PEs: y · 2²¹ + x (unique over any rectangle of up to {@link
   * #MAX_PES} PEs) times an odd constant, a bijection of longs. Without the product a HashMap's
   * index, its key's low bits folded with bits 16 up, is x ^ (y << 5): a 830×830 rectangle falls
   * into 2¹⁶ buckets, each a tree.
   */
  public static long key(int x, int y) {
    return (((long) y << 21) + x) * 0x9E3779B97F4A7C15L;
  }

  /** Evaluates {@code src}'s layout block with the given top-level params ({@code --params}). */
  public static Layout evaluate(CslSource src, Map<String, Object> params, long budget) {
    return evaluate(src, params, budget, Comptime.Modules.files(dev.meshc.ir.Limits.DEFAULTS));
  }

  /** As above, reading the CSL files the layout imports through {@code modules}. */
  public static Layout evaluate(CslSource src, Map<String, Object> params, long budget, Comptime.Modules modules) {
    return evaluate(src, params, budget, modules, (name, args, loc) -> null);
  }

  /** As above, {@code first} seeing every builtin call before the layout's own handling (the simulator's @export_name). */
  public static Layout evaluate(CslSource src, Map<String, Object> params, long budget, Comptime.Modules modules,
      Comptime.Hooks first) {
    int[] rect = {-1, -1};
    Map<Long, Tile> tiles = new LinkedHashMap<>();
    List<RouteEntry> routes = new ArrayList<>();
    Comptime[] ct = new Comptime[1];
    // equal params and colour configs held once (comptime values are never changed in place): a
    // wafer's PEs pass a handful of distinct ones, each evaluated anew per PE
    Map<Map<?, ?>, Map<?, ?>> once = new java.util.HashMap<>();
    Comptime.Hooks own = (name, args, loc) -> switch (name) {
      case "@set_rectangle" -> {
        rect[0] = intArg(args, 0, name, loc);
        rect[1] = intArg(args, 1, name, loc);
        if (rect[0] < 1 || rect[1] < 1 || (long) rect[0] * rect[1] > MAX_PES) {
          throw MeshcException.input("%s: @set_rectangle(%d, %d) is not a kernel rectangle meshc checks (1 to %,d PEs)",
              loc, rect[0], rect[1], MAX_PES);
        }
        yield Boolean.TRUE;
      }
      case "@set_tile_code" -> {
        int x = intArg(args, 0, name, loc);
        int y = intArg(args, 1, name, loc);
        onRectangle(rect, x, y, name, loc);
        @SuppressWarnings("unchecked")
        Map<String, Object> ps = args.size() > 3 && args.get(3) instanceof Map<?, ?> m
            ? (Map<String, Object>) once.computeIfAbsent(m, k -> k) : Map.of();
        if (tiles.put(key(x, y), new Tile(x, y, String.valueOf(args.get(2)), ps, loc)) != null) {
          throw MeshcException.input("%s: PE (%d, %d) gets its code twice", loc, x, y);
        }
        yield Boolean.TRUE;
      }
      case "@set_color_config" -> {
        int x = intArg(args, 0, name, loc);
        int y = intArg(args, 1, name, loc);
        onRectangle(rect, x, y, name, loc);
        if (!(args.size() > 3 && args.get(2) instanceof Comptime.ColorVal c)) {
          throw MeshcException.input("%s: @set_color_config needs a colour from @get_color as its third argument", loc);
        }
        Map<?, ?> cfg = args.get(3) instanceof Map<?, ?> m ? once.computeIfAbsent(m, k -> k) : Map.of();
        Map<?, ?> r = cfg.get("routes") instanceof Map<?, ?> m ? m : null;
        if (r == null) {
          throw MeshcException.input("%s: @set_color_config without .routes", loc);
        }
        routes.add(new RouteEntry(x, y, c, dirs(r.get("rx"), loc), dirs(r.get("tx"), loc), loc, cfg));
        yield Boolean.TRUE;
      }
      case "@export_name", "@comptime_assert" -> Boolean.TRUE;
      default -> null;
    };
    Comptime.Hooks hooks = (name, args, loc) -> {
      Object r = first.builtin(name, args, loc);
      return r != null ? r : own.builtin(name, args, loc);
    };
    ct[0] = new Comptime(src.name(), hooks, budget, modules);
    Comptime.Scope scope = ct[0].fileScope(src.tree(), params);
    CslParser.LayoutBlockContext block = null;
    for (CslParser.TopDeclContext d : src.tree().topDecl()) {
      if (d.layoutBlock() != null) {
        block = d.layoutBlock();
      }
    }
    if (block == null) {
      throw MeshcException.input("%s: no layout block: not a top-level layout file", src.name());
    }
    ct[0].run(block.block(), scope);
    if (rect[0] < 0) {
      throw MeshcException.input("%s: the layout block never calls @set_rectangle", src.name());
    }
    Map<String, List<RouteEntry>> configs = new java.util.TreeMap<>();
    for (Tile t : tiles.values()) {
      for (Map.Entry<String, Object> p : t.params().entrySet()) {
        if (p.getKey().startsWith(CONFIG_PARAM) && p.getValue() instanceof Map<?, ?> cfg) {
          List<RouteEntry> list = configs.computeIfAbsent(p.getKey().substring(CONFIG_PARAM.length()),
              k -> new ArrayList<>());
          for (Map.Entry<?, ?> e : cfg.entrySet()) {
            Object c = ct[0].value(scope, String.valueOf(e.getKey()));
            if (!(c instanceof Comptime.ColorVal color) || !(e.getValue() instanceof Map<?, ?> r)) {
              throw MeshcException.input("%s: PE (%d, %d)'s %s.%s is not a colour of this file with a route", t.loc(),
                  t.x(), t.y(), p.getKey(), e.getKey());
            }
            Set<Dir> rx = dirs(r.get("rx"), t.loc());
            Set<Dir> tx = dirs(r.get("tx"), t.loc());
            if (!(rx.equals(Set.of(Dir.RAMP)) && tx.equals(Set.of(Dir.RAMP)))) {
              list.add(new RouteEntry(t.x(), t.y(), color, rx, tx, t.loc(), Map.of("routes", r)));
            }
          }
        }
      }
    }
    return new Layout(rect[0], rect[1], tiles, routes, configs);
  }

  private static void onRectangle(int[] rect, int x, int y, String name, Comptime.Loc loc) {
    if (rect[0] < 0) {
      throw MeshcException.input("%s: %s before @set_rectangle", loc, name);
    }
    if (x < 0 || y < 0 || x >= rect[0] || y >= rect[1]) {
      throw MeshcException.input("%s: %s for PE (%d, %d), outside the %dx%d rectangle", loc, name, x, y, rect[0],
          rect[1]);
    }
  }

  private static int intArg(List<Object> args, int i, String name, Comptime.Loc loc) {
    if (args.size() <= i || !(args.get(i) instanceof Long v) || v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw MeshcException.input("%s: %s needs an integer known at comptime as argument %d", loc, name, i + 1);
    }
    return v.intValue();
  }

  /** A route's {@code .rx} or {@code .tx}: one direction or a list of them. */
  public static Set<Dir> dirs(Object v, Comptime.Loc loc) {
    int mask = 0;
    if (v instanceof Dir d) {
      mask = 1 << d.ordinal();
    } else if (v instanceof List<?> l) {
      for (Object o : l) {
        if (!(o instanceof Dir d)) {
          throw MeshcException.input("%s: a route lists directions (NORTH, SOUTH, EAST, WEST, RAMP), not %s", loc,
              Comptime.describe(o));
        }
        mask |= 1 << d.ordinal();
      }
    } else {
      throw MeshcException.input("%s: a route's .rx and .tx list directions", loc);
    }
    return DIR_SETS.get(mask);
  }

  /** Every set of directions, once, unmodifiable: a wafer's layout has millions of route entries. */
  private static final List<Set<Dir>> DIR_SETS = java.util.stream.IntStream.range(0, 1 << Dir.values().length)
      .mapToObj(mask -> {
        EnumSet<Dir> s = EnumSet.noneOf(Dir.class);
        for (Dir d : Dir.values()) {
          if ((mask & 1 << d.ordinal()) != 0) {
            s.add(d);
          }
        }
        return java.util.Collections.unmodifiableSet(s);
      }).toList();
}
