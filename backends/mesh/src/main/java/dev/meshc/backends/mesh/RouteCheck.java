package dev.meshc.backends.mesh;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.machine.MachineSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Static checks of a template's routes over the whole grid, without running it: every colour a
 * router sends toward a neighbour is taken there from that side (received or passed on), every
 * colour a router takes from a neighbour is sent its way there, no PE holds more colours than the
 * machine routes, and none is a reserved colour.
 */
public final class RouteCheck {
  private RouteCheck() {}

  /** Fails with one line naming the PE and colour of the first problem. */
  public static void verify(KernelTemplate t, MachineSpec m) {
    int w = t.width();
    int h = t.height();
    if (t.colors() > m.colorBudget()) {
      throw fail(t, "uses %d colours; %s routes %d besides the reserved %s", t.colors(), m.name(), m.colorBudget(),
          m.reservedColors());
    }
    for (int c = 0; c < t.colors(); c++) {
      if (m.reservedColors().contains(m.physicalColor(c))) {
        throw fail(t, "colour %d maps to reserved ID %d", c, m.physicalColor(c));
      }
    }
    Map<Integer, Route>[] rows = routesOfRow(t, 0);
    for (int y = 0; y < h; y++) {
      Map<Integer, Route>[] next = y + 1 < h ? routesOfRow(t, y + 1) : null;
      Map<Integer, Route>[] prev = y > 0 ? routesOfRow(t, y - 1) : null;
      for (int x = 0; x < w; x++) {
        if (rows[x].size() > m.colorBudget()) {
          throw fail(t, "PE (%d,%d) holds %d colours, more than %d", x, y, rows[x].size(), m.colorBudget());
        }
        for (Route r : rows[x].values()) {
          for (Dir d : r.tx()) {
            if (d != Dir.RAMP) {
              Route there = neighbour(rows, prev, next, x, y, d, w, h, t, r);
              if (there == null || there.rx() != d.opposite()) {
                throw fail(t, "PE (%d,%d) sends colour %d %s, but the PE there %s", x, y, r.color(), d,
                    there == null ? "has no route for it" : "takes it from " + there.rx());
              }
            }
          }
          if (r.rx() != Dir.RAMP) {
            Route there = neighbour(rows, prev, next, x, y, r.rx(), w, h, t, r);
            if (there == null || !there.tx().contains(r.rx().opposite())) {
              throw fail(t, "PE (%d,%d) takes colour %d from %s, but nothing is sent its way there", x, y, r.color(),
                  r.rx());
            }
          }
        }
      }
      rows = next;
    }
  }

  private static Route neighbour(Map<Integer, Route>[] row, Map<Integer, Route>[] prev, Map<Integer, Route>[] next,
      int x, int y, Dir d, int w, int h, KernelTemplate t, Route r) {
    int nx = x + d.dx();
    int ny = y + d.dy();
    if (nx < 0 || ny < 0 || nx >= w || ny >= h) {
      throw fail(t, "PE (%d,%d) routes colour %d %s, off the mesh", x, y, r.color(), d);
    }
    Map<Integer, Route>[] rr = ny == y ? row : ny < y ? prev : next;
    return rr[nx].get(r.color());
  }

  @SuppressWarnings("unchecked")
  private static Map<Integer, Route>[] routesOfRow(KernelTemplate t, int y) {
    Map<Integer, Route>[] r = new Map[t.width()];
    for (int x = 0; x < t.width(); x++) {
      Map<Integer, Route> m = new HashMap<>();
      List<Route> routes = t.routes(x, y);
      for (Route route : routes) {
        if (m.put(route.color(), route) != null) {
          throw fail(t, "PE (%d,%d) has two entries for colour %d", x, y, route.color());
        }
      }
      r[x] = m;
    }
    return r;
  }

  private static MeshcException fail(KernelTemplate t, String fmt, Object... args) {
    return new MeshcException(MeshcException.Kind.NO_PLAN, t.algorithm() + ": " + String.format(fmt, args));
  }
}
