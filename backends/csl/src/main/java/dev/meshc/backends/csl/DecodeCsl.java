package dev.meshc.backends.csl;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.kernel.DecodeFabric;
import dev.meshc.ir.kernel.Dir;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A compiled decoder's decode plan as a Cerebras SDK project: every region of the plan is a
 * square of PEs at its place on the fabric, running the layers the planner gave it with
 * WaferLLM's decode chain (see {@code decode.csl}); the routes are {@link DecodeFabric}'s — two
 * K-trees and the KV shift — printed once per route class, with a table of each index's class, so
 * a region's PEs differ in routes, not in program (a PE reads where it sits at run time); the host
 * script loads the weights from the ONNX file, tiles them as the plan says, and generates tokens
 * greedily, one region launch at a time.
 */
final class DecodeCsl {
  private DecodeCsl() {}

  /**
   * One region's sizes: what its PEs hold; {@code why} says, for the layout's comments, what the
   * plan decided and which ONNX initializers the region's layers read.
   */
  record Region(int index, int wafer, int x, int y, int p, int layer0, int layers, boolean lmHead, int st,
      long planBytes, long planColors, long planInputs, long planOutputs, List<String> why) {}

  static CslProject emit(Module m, float[] theta, Placement plan, MachineSpec machine, String modelPath) {
    CslProject.Target target = CslProject.Target.of(machine);
    DecodeModel d = DecodeModel.of(m, theta);
    if (plan.regions().isEmpty()) {
      throw MeshcException.input("%s: the decode plan is infeasible; there is nothing to write", m.name());
    }
    long ctx = plan.info().getInt("max_context", 0);
    List<Region> regions = new ArrayList<>();
    int wafers = 0;
    for (Placement.Region r : plan.regions()) {
      int p = (int) r.info().requireInt("grid");
      long[] layers = r.info().getInts("layers");
      boolean lm = r.info().getInt("lm_head", 0) == 1;
      Region reg = new Region(r.index(), (int) r.info().getInt("wafer", 0), (int) r.info().requireInt("x"),
          (int) r.info().requireInt("y"), p, (int) layers[0], (int) (layers[1] - layers[0]), lm, tile(ctx, p),
          r.info().getInt("weight_bytes", 0) + r.info().getInt("kv_bytes", 0) + r.info().getInt("buffer_bytes", 0),
          r.info().getInt("colors", 0), r.info().getInt("input_queues", 0), r.info().getInt("output_queues", 0),
          why(d, r.info(), layers, lm));
      regions.add(reg);
      wafers = Math.max(wafers, reg.wafer() + 1);
    }
    // one SDK program per wafer (in its own folder when there are several); one host script drives them
    Map<String, String> files = new TreeMap<>();
    StringBuilder commands = new StringBuilder();
    int[][] dims = new int[wafers][2];
    List<HostFiles.Program> programs = new ArrayList<>();
    List<HandoffCsl.Link> links = new ArrayList<>();
    for (int w = 0; w < wafers; w++) {
      int width = 0;
      int height = 0;
      List<Region> here = new ArrayList<>();
      StringBuilder rs = new StringBuilder();
      StringBuilder planned = new StringBuilder(); // what check-csl compares each region's PE programs with
      for (Region r : regions) {
        if (r.wafer() == w) {
          here.add(r);
          width = Math.max(width, r.x() + r.p());
          height = Math.max(height, r.y() + r.p());
          rs.append(rs.length() == 0 ? "" : ";").append(r.x()).append(',').append(r.y()).append(',').append(r.p());
          planned.append(planned.length() == 0 ? "" : ";").append(r.index()).append(':').append(r.planBytes())
              .append(':').append(r.planColors()).append(':').append(r.planInputs()).append(':').append(r.planOutputs());
        }
      }
      dims[w] = new int[] {width, height};
      List<HandoffCsl.Link> onWafer = HandoffCsl.links(here, d.width(), machine);
      links.addAll(onWafer);
      String dir = wafers == 1 ? "" : "wafer-" + w + "/";
      programs.add(new HostFiles.Program(wafers == 1 ? "." : "wafer-" + w, width, height, ""));
      files.put(dir + "layout.csl", layout(d, here, onWafer, width, height, machine));
      files.put(dir + "decode.csl", DecodeProgram.text(d, target, machine.queuePerColor(), here, onWafer));
      files.put(dir + CslProject.MANIFEST, CslProject.manifest("decode", new dev.meshc.ir.kernel.KernelTemplate.Problem(
          1, d.width(), d.vocab()), width, height, 0, machine, "") + "regions=" + rs + "\n" + "plan_regions=" + planned + "\n" + HandoffCsl.manifest(onWafer));
      commands.append(wafers == 1 ? GemvCsl.cslc(width, height, "", target, "out")
          : "(cd wafer-" + w + " && " + GemvCsl.cslc(width, height, "", target, "../out-" + w) + ")").append('\n');
    }
    files.put("weights.json", DecodeHost.manifest(d, m, regions, links, modelPath, ctx));
    files.put("run.py", DecodeHost.script());
    files.put("commands.sh", "#!/bin/sh\n# meshc: build this decode project with cslc and run it on the simulator (Cerebras "
        + "SDK " + target.sdk + ").\n# memcpy needs 3 columns west and 2 east of the kernel plus a one-PE border: fabric (W+7)x(H+2)."
        + (wafers == 1 ? "" : "\n# One program per wafer; run.py drives them all (out-0, out-1, ...).") + "\nset -e\n"
        + commands + "cs_python run.py --name out\n");
    HostFiles.appliance(files, programs, target, machine.fabricWidth(), machine.fabricHeight(), "decode");
    files.put("README.md", readme(d, regions, links.size(), dims, machine, ctx));
    return new CslProject(files);
  }

  /** The plan's figures for a region, and the ONNX initializers its first and last layers (and head) read. */
  private static List<String> why(DecodeModel d, dev.meshc.ir.Attrs info, long[] layers, boolean lm) {
    List<String> w = new ArrayList<>();
    w.add(String.format(Locale.ROOT, "the plan: %,d bytes of weights, %,d of KV cache and %,d of buffers per PE; %d "
        + "colours, %d input and %d output queues; %,d cycles per layer", info.getInt("weight_bytes", 0),
        info.getInt("kv_bytes", 0), info.getInt("buffer_bytes", 0), info.getInt("colors", 0),
        info.getInt("input_queues", 0), info.getInt("output_queues", 0), info.getInt("cycles_per_layer", 0)));
    int first = (int) layers[0];
    int last = (int) layers[1] - 1;
    DecodeModel.Array w0 = d.arrays().stream().filter(DecodeModel.Array::perLayer).findFirst().orElse(null);
    if (w0 != null && last >= first) {
      String a0 = "'" + w0.sources().get(first).initializer() + "'";
      w.add(first == last ? String.format("ONNX: layer %d's %s is %s (weights.json lists every initializer)", first,
          w0.symbol(), a0) : String.format("ONNX: %s of layer %d is %s, of layer %d '%s' (weights.json lists every "
          + "initializer)", w0.symbol(), first, a0, last, w0.sources().get(last).initializer()));
    }
    if (lm) {
      d.arrays().stream().filter(a -> !a.perLayer() && a.rows() != null).reduce((x, y) -> y)
          .ifPresent(a -> w.add("ONNX: the LM head is '" + a.sources().get(0).initializer() + "'"));
    }
    return w;
  }

  static int tile(long n, int p) {
    return (int) Math.max(1, (n + p - 1) / p);
  }

  private static String layout(DecodeModel d, List<Region> regions, List<HandoffCsl.Link> links, int width,
      int height, MachineSpec m) {
    CslProject.Target target = CslProject.Target.of(m);
    boolean rerouted = m.queuePerColor(); // WSE-3: see DecodeFabric
    CslText c = new CslText();
    c.line("// meshc: the decode plan of %s as a %dx%d kernel, %s (Cerebras SDK %s).", d.name(), width, height,
        m.name(), target.sdk);
    c.line("// %d region%s, each a square of PEs running its layers with WaferLLM's decode chain (decode.csl).",
        regions.size(), regions.size() == 1 ? "" : "s");
    for (Region r : regions) {
      c.line("// region %d: %dx%d PEs at (%d, %d), layers [%d, %d)%s; %d KV slots per PE", r.index(), r.p(), r.p(),
          r.x(), r.y(), r.layer0(), r.layer0() + r.layers(), r.lmHead() ? " and the LM head" : "", r.st());
      for (String w : r.why()) {
        c.line("//   %s", w);
      }
    }
    c.line("// Routes (every region the same rules, DecodeFabric in meshc's IR): a K-tree along each column, one");
    c.line("// along each row, and the KV cache's one-hop shift north; checked PE by PE by meshc check-csl.");
    if (!links.isEmpty()) {
      c.line("// Between regions, the hand-offs of the residual (meshc's Handoff, below): static on every machine.");
    }
    if (rerouted) {
      c.line("// On WSE-3 a queue binds one colour for good and a PE has six to spare, so the three share five");
      c.line("// colours: this file computes each PE's routes in three configurations (routes_column, routes_row,");
      c.line("// routes_shift) and decode.csl switches between them at run time; no route is set here.");
    }
    c.blank();
    if (rerouted) {
      c.line("// the five colours, routed as the column K-tree, the row K-tree or the KV shift");
      KTreeCsl.colours(c, m, DecodeFabric.Y_BASE, "c_");
    } else {
      c.line("// the column K-tree (logical colours 0-4)");
      KTreeCsl.colours(c, m, DecodeFabric.Y_BASE, "cy_");
      c.line("// the row K-tree (logical colours 5-9)");
      KTreeCsl.colours(c, m, DecodeFabric.X_BASE, "cx_");
      c.line("// the KV shift: a row sends north on its parity's colour, takes the row below's on the other");
      c.line("const cs0: color = @get_color(%d);", m.physicalColor(DecodeFabric.SHIFT_BASE));
      c.line("const cs1: color = @get_color(%d);", m.physicalColor(DecodeFabric.SHIFT_BASE + 1));
    }
    c.blank();
    c.line("const memcpy = @import_module(\"<memcpy/get_params>\", .{ .width = %d, .height = %d });", width, height);
    c.blank();
    if (rerouted) {
      c.line("// a colour that carries nothing in a configuration: from the ramp back to it");
      c.line("const NONE = .{ .rx = RAMP, .tx = [1]direction{ RAMP } };");
      c.line("const NONES = .{ .c_p1_0 = NONE, .c_p1_1 = NONE, .c_p2_0 = NONE, .c_p2_1 = NONE, .c_b = NONE };");
      c.blank();
    }
    // a PE's routes depend on its index on each line through DecodeFabric alone: one class per
    // distinct set, a table of classes per region side, and each class's routes printed once
    Map<String, Map<List<Route>, Integer>> ids = new TreeMap<>();
    Map<Integer, Map<String, int[]>> tables = new TreeMap<>();
    List<String> axes = rerouted ? DecodeFabric.CONFIGS : List.of("column", "row");
    for (Region r : regions) {
      if (r.p() > 1 && !tables.containsKey(r.p())) {
        DecodeFabric f = new DecodeFabric(r.p(), 0, rerouted);
        Map<String, int[]> t = new TreeMap<>();
        for (String ax : axes) {
          List<List<Route>> keys = new ArrayList<>();
          for (int i = 0; i < r.p(); i++) {
            keys.add(lineRoutes(f, ax, i));
          }
          t.put(ax, KTreeCsl.classes(keys, ids.computeIfAbsent(ax, k -> new java.util.LinkedHashMap<>())));
        }
        tables.put(r.p(), t);
      }
    }
    if (!tables.isEmpty()) {
      c.line("// each index's route class on a line of P PEs (meshc's DecodeFabric), per region side P");
      for (Map.Entry<Integer, Map<String, int[]>> t : tables.entrySet()) {
        for (Map.Entry<String, int[]> ax : t.getValue().entrySet()) {
          c.line("const %s_class_%d = %s;", ax.getKey(), t.getKey(), KTreeCsl.table(ax.getValue()));
        }
      }
    }
    // the router entries the classes (static routes) and the hand-offs use, each named once
    Map<Route, Integer> kinds = new java.util.LinkedHashMap<>();
    List<List<int[]>> runs = new ArrayList<>();
    links.forEach(l -> runs.add(HandoffCsl.runs(l, kinds)));
    List<Route> entries = new ArrayList<>();
    if (!rerouted) {
      ids.values().forEach(byAxis -> byAxis.keySet().forEach(entries::addAll));
    }
    entries.addAll(HandoffCsl.entries(kinds));
    if (!entries.isEmpty()) {
      c.blank();
      c.line("// the router entries %s use", rerouted ? "the hand-offs" : links.isEmpty() ? "the classes"
          : "the classes and the hand-offs");
      java.util.Set<String> named = new java.util.TreeSet<>();
      for (Route rt : entries) {
        if (named.add(routeName(rt))) {
          c.line("const %s = .{ .routes = .{ .rx = .{ %s }, .tx = .{ %s } } };", routeName(rt), rt.rx(),
              KTreeCsl.join(rt.tx()));
        }
      }
    }
    if (!links.isEmpty()) {
      c.blank();
      HandoffCsl.declare(c, links, kinds, runs, m);
    }
    if (!tables.isEmpty()) {
      for (String ax : axes) {
        c.blank();
        List<List<Route>> classes = new ArrayList<>(ids.get(ax).keySet());
        if (rerouted) {
          c.line("// the %s configuration's routes of each class (k halved until a few are left)", ax);
          c.line("fn %s_config(k: i16) comptime_struct {", ax);
        } else {
          c.line("// the %s's routes of each class, at PE (x, y) (k halved until a few are left)",
              ax.equals("column") ? "column K-tree and KV shift" : "row K-tree");
          c.line("fn %s_routes(x: i16, y: i16, k: i16) void {", ax);
        }
        dispatch(c, 0, classes.size(), k -> {
          if (rerouted) {
            c.line("return %s;", config(classes.get(k)));
          } else {
            for (Route rt : classes.get(k)) {
              c.line("@set_color_config(x, y, %s, %s);", colourName(rt.color()), routeName(rt));
            }
          }
        });
        c.line("}");
      }
      c.blank();
    }
    c.line("// what a region's PEs hold, and their colours; where a PE sits it reads at run time (<layout>)");
    c.line("fn pe_params(P: i16, L: i16, St: i16, lm_head: bool, idle: bool) comptime_struct {");
    c.line("return .{");
    c.line(".P = P, .L = L, .St = St, .lm_head = lm_head, .idle = idle,");
    StringBuilder cols = new StringBuilder();
    for (String ax : rerouted ? new String[] {"c_"} : new String[] {"cy_", "cx_"}) {
      for (String n : KTreeCsl.NAMES) {
        cols.append('.').append(ax).append(n).append(" = ").append(ax).append(n).append(", ");
      }
    }
    c.line("%s", rerouted ? cols.toString().stripTrailing() : cols + ".cs0 = cs0, .cs1 = cs1,");
    c.line("};");
    c.line("}");
    c.blank();
    String idleRoutes = rerouted ? ", .{ .routes_column = NONES, .routes_row = NONES, .routes_shift = NONES }" : "";
    List<int[]> idle = idle(regions, width, height);
    if (!idle.isEmpty()) {
      c.line("// PEs no region holds, over [x0, x1) × [y0, y1): the program with nothing to do");
      c.line("fn idle(x0: i16, x1: i16, y0: i16, y1: i16) void {");
      String ps = rerouted ? "@concat_structs(pe_params(1, 1, 1, false, true)" + idleRoutes + ")"
          : "pe_params(1, 1, 1, false, true)";
      c.line("const params = %s;", links.isEmpty() ? ps : "@concat_structs(" + ps + ", " + HandoffCsl.params(links,
          null) + ")");
      c.line("var x: i16 = x0;");
      c.line("while (x < x1) : (x += 1) {");
      c.line("var y: i16 = y0;");
      c.line("while (y < y1) : (y += 1) {");
      c.line("@set_tile_code(x, y, \"decode.csl\", @concat_structs(.{ .memcpy_params = memcpy.get_params(x) }, params));");
      c.line("}");
      c.line("}");
      c.line("}");
      c.blank();
    }
    c.line("layout {");
    c.line("@set_rectangle(%d, %d);", width, height);
    for (int[] cell : idle) {
      c.line("idle(%d, %d, %d, %d);", cell[0], cell[1], cell[2], cell[3]);
    }
    for (Region r : regions) {
      c.blank();
      c.line("// region %d: layers [%d, %d)%s", r.index(), r.layer0(), r.layer0() + r.layers(),
          r.lmHead() ? " and the LM head" : "");
      c.line("const params%d = pe_params(%d, %d, %d, %s, false);", r.index(), r.p(), r.layers(), r.st(), r.lmHead());
      String params = "params" + r.index();
      if (rerouted) {
        params = r.p() > 1 ? String.format(Locale.ROOT, "@concat_structs(%s, .{ .routes_column = column_config("
            + "column_class_%d[py]), .routes_row = row_config(row_class_%d[px]), .routes_shift = shift_config("
            + "shift_class_%d[py]) })", params, r.p(), r.p(), r.p())
            : "@concat_structs(" + params + idleRoutes + ")";
      }
      c.line("var px%d: i16 = 0;", r.index());
      c.line("while (px%d < %d) : (px%d += 1) {", r.index(), r.p(), r.index());
      c.line("const px: i16 = px%d;", r.index());
      c.line("const memcpy_params = memcpy.get_params(%d + px);", r.x());
      c.line("var py: i16 = 0;");
      c.line("while (py < %d) : (py += 1) {", r.p());
      c.line("@set_tile_code(%d + px, %d + py, \"decode.csl\", @concat_structs(.{ .memcpy_params = memcpy_params },",
          r.x(), r.y());
      c.line("%s));", links.isEmpty() ? params : "@concat_structs(" + params + ", " + HandoffCsl.params(links, r) + ")");
      if (r.p() > 1 && !rerouted) {
        c.line("column_routes(%d + px, %d + py, column_class_%d[py]);", r.x(), r.y(), r.p());
        c.line("row_routes(%d + px, %d + py, row_class_%d[px]);", r.x(), r.y(), r.p());
      }
      c.line("}");
      c.line("}");
    }
    if (!links.isEmpty()) {
      c.blank();
      HandoffCsl.set(c, links, runs);
    }
    c.blank();
    for (String sym : DecodeProgram.symbols(d)) {
      c.line("@export_name(\"%s\", [*]f16, true);", sym);
    }
    c.line("@export_name(\"step\", fn(i16, i16)void);");
    c.line("}");
    return c.toString();
  }

  /** The routes of index i on one line of {@code f}: the column tree and the KV shift (by y), or the row tree (by x). */
  private static List<Route> lineRoutes(DecodeFabric f, String axis, int i) {
    if (f.rerouted()) {
      return axis.equals("row") ? f.routes(axis, i, 0) : f.routes(axis, 0, i);
    }
    List<Route> out = new ArrayList<>();
    for (Route r : axis.equals("row") ? f.routes(i, 0) : f.routes(0, i)) {
      boolean row = r.color() >= DecodeFabric.X_BASE && r.color() < DecodeFabric.SHIFT_BASE;
      if (row == axis.equals("row")) {
        out.add(r);
      }
    }
    return out;
  }

  /**
   * The rectangle less the regions, as [x0, x1, y0, y1) cells of the grid the regions' edges cut
   * it into (a cell lies inside a region or outside all), each row band's run of cells merged.
   */
  private static List<int[]> idle(List<Region> regions, int width, int height) {
    java.util.TreeSet<Integer> xs = new java.util.TreeSet<>(List.of(0, width));
    java.util.TreeSet<Integer> ys = new java.util.TreeSet<>(List.of(0, height));
    for (Region r : regions) {
      xs.addAll(List.of(r.x(), r.x() + r.p()));
      ys.addAll(List.of(r.y(), r.y() + r.p()));
    }
    List<Integer> xl = new ArrayList<>(xs);
    List<Integer> yl = new ArrayList<>(ys);
    List<int[]> cells = new ArrayList<>();
    for (int j = 0; j + 1 < yl.size(); j++) {
      int[] run = null;
      for (int i = 0; i + 1 < xl.size(); i++) {
        int x = xl.get(i);
        int y = yl.get(j);
        boolean held = regions.stream().anyMatch(r -> x >= r.x() && x < r.x() + r.p() && y >= r.y() && y < r.y() + r.p());
        if (held) {
          run = null;
        } else if (run != null) {
          run[1] = xl.get(i + 1);
        } else {
          run = new int[] {x, xl.get(i + 1), y, yl.get(j + 1)};
          cells.add(run);
        }
      }
    }
    return cells;
  }

  /** {@code if} over k in [lo, hi): halves while more than four are left, then one branch per k. */
  static void dispatch(CslText c, int lo, int hi, java.util.function.IntConsumer branch) {
    if (hi - lo > 4) {
      int mid = (lo + hi) / 2;
      c.line("if (k < %d) {", mid);
      dispatch(c, lo, mid, branch);
      c.line("} else {");
      dispatch(c, mid, hi, branch);
      c.line("}");
      return;
    }
    if (hi - lo == 1) {
      branch.accept(lo);
      return;
    }
    for (int k = lo; k < hi; k++) {
      c.line(k == lo ? "if (k == %d) {" : k == hi - 1 ? "} else {" : "} else if (k == %d) {", k);
      branch.accept(k);
    }
    c.line("}");
  }

  /** A router entry's const in layout.csl: {@code south_to_north_ramp}. */
  static String routeName(Route r) {
    StringBuilder b = new StringBuilder(r.rx().name().toLowerCase(Locale.ROOT)).append("_to");
    for (Dir d : r.tx()) {
      b.append('_').append(d.name().toLowerCase(Locale.ROOT));
    }
    return b.toString();
  }

  /** A logical colour's name in layout.csl. */
  private static String colourName(int color) {
    return color >= DecodeFabric.SHIFT_BASE ? "cs" + (color - DecodeFabric.SHIFT_BASE)
        : color >= DecodeFabric.X_BASE ? "cx_" + KTreeCsl.NAMES[color - DecodeFabric.X_BASE] : "cy_" + KTreeCsl.NAMES[color];
  }

  /** One run-time configuration of the five colours ({@code .c_p1_0 = .{ .rx, .tx }, …}); NONE where a colour carries nothing. */
  private static String config(List<Route> routes) {
    String[] v = new String[KTree.COLORS];
    java.util.Arrays.fill(v, "NONE");
    for (Route r : routes) {
      v[r.color()] = String.format(".{ .rx = %s, .tx = [%d]direction{ %s } }", r.rx(), r.tx().size(), KTreeCsl.join(r.tx()));
    }
    StringBuilder b = new StringBuilder(".{ ");
    for (int k = 0; k < v.length; k++) {
      b.append(k == 0 ? "" : ", ").append(".c_").append(KTreeCsl.NAMES[k]).append(" = ").append(v[k]);
    }
    return b.append(" }").toString();
  }

  private static String readme(DecodeModel d, List<Region> regions, int fabric, int[][] dims, MachineSpec m,
      long ctx) {
    CslText c = new CslText();
    StringBuilder kernels = new StringBuilder();
    for (int[] wh : dims) {
      kernels.append(kernels.length() == 0 ? "" : " and ").append(wh[0]).append('x').append(wh[1]);
    }
    CslProject.Target target = CslProject.Target.of(m);
    c.line("# %s: decode on %s %s (%s, Cerebras SDK %s)", d.name(), dims.length == 1 ? "a" : dims.length + " wafers:",
        kernels + (dims.length == 1 ? " kernel" : " kernels"), m.name(), target.sdk);
    c.blank();
    c.line("Written by meshc from the model's decode plan: the regions, grids and layers the planner chose, the");
    c.line("K-tree and KV-shift routes of its kernel templates, and the weight tiling the plan implies.");
    c.blank();
    c.line("| region | wafer | PEs | at | layers | LM head |");
    c.line("|---|---|---|---|---|---|");
    for (Region r : regions) {
      c.line("| %d | %d | %dx%d | (%d, %d) | %d–%d | %s |", r.index(), r.wafer(), r.p(), r.p(), r.x(), r.y(),
          r.layer0(), r.layer0() + r.layers() - 1, r.lmHead() ? "yes" : "");
    }
    c.blank();
    c.line("Model: width %d, %d heads of %d (%d kv heads, stored expanded to the query heads), vocabulary %d%s; "
        + "context up to %d tokens.", d.width(), d.heads(), d.headDim(), d.kvHeads(), d.vocab(), d.rope() != null
        ? String.format(Locale.ROOT, ", RoPE on %d channels per head (θ %s)", d.rope().rotaryDim(), d.rope().theta())
        : "", ctx);
    c.blank();
    c.line("| file | what |");
    c.line("|---|---|");
    c.line("| `layout.csl` | the regions, each PE's program parameters, the two K-trees' and the KV shift's routes |");
    c.line("| `decode.csl` | one PE: its weight tiles, KV cache and the layer chain (below) |");
    c.line("| `weights.json` | which ONNX initializers (and columns) feed each projection and norm, and the sizes |");
    c.line("| `run.py` | the host: weights from the ONNX file tiled onto the PEs, greedy generation, a check against "
        + "ONNX Runtime |");
    c.line("| `commands.sh` | the exact `cslc` and `cs_python` commands |");
    c.line("| `compile_appliance.py`, `appliance.sh` | the appliance path: `SdkCompiler` for the system's whole fabric, then "
        + "`run.py --artifact` through the appliance's `SdkRuntime` |");
    c.blank();
    c.line("`decode.csl`'s `layer()` is the model's layer as meshc's kernel program runs it, op by op (each line "
        + "names its op): a MeshGEMV per projection, its output on the axis its input is not (Y → X, then X → Y with "
        + "W placed pre-transposed, so nothing is transposed per token), summed by the K-tree along the column or "
        + "the row; the row kernel per norm; the local kernel per activation, RoPE and residual add; per attention "
        + "the new K and V into the shift-based cache (a row per PE row; when rows fill unevenly, one-hop northward "
        + "shifts), q·Kᵀ over the cache kept transposed, softmax over the slots along the column and p·V. Reshapes, "
        + "head splits, slices and constant scales of a projection's output are folded into the columns its GEMV "
        + "computes (weights.json lists them). Storage and arithmetic are fp16 (WSE's `@fmach`); norm statistics are "
        + "summed in f32 on each PE.");
    if (m.queuePerColor()) {
      c.blank();
      c.line("On WSE-3 an input or output queue is bound to one colour for good, and a PE has six of each to spare; "
          + "the column tree, the row tree and the KV shift therefore share five colours (queues 2–6), and "
          + "`decode.csl`'s `reroute` switches every router between three configurations with tile_config's "
          + "`reset_routes` before each all-reduce and the shift, as WaferLLM's WSE-3 decode does. `layout.csl` "
          + "computes each PE's routes in each configuration (`routes_column`, `routes_row`, `routes_shift`) and "
          + "sets none itself; `meshc check-csl` checks each configuration as the routers stand once switched. "
          + "A PE switches once its previous all-reduce has ended; its neighbours may switch a moment later.");
    }
    c.blank();
    if (regions.size() == 1) {
      c.line("One region holds the whole model: the host writes the residual in and reads the logits out; the "
          + "embedding lookup is the host's.");
    } else {
      c.line("Between regions the residual goes on the fabric where meshc's hand-off template lays it (%d of the %d "
        + "hand-offs here): line k leaves one PE of the sending region's row k, runs along its column to the next "
        + "region's row k and crosses it, every PE there taking it off its router, on a colour of its own "
        + "(`layout.csl` sets the routes, `decode.csl`'s `step` sends and receives). Regions so joined form a "
        + "chain, which the host launches once per token (`step`, with the chain's first region); between chains "
        + "(stacked regions, other wafers) the host carries the residual, memcpy out of one region and into the "
        + "next. The embedding lookup is the host's. A plan over several wafers is one program per wafer "
        + "(`wafer-N/`), built into `out-N`; the host script drives them in turn.", fabric, regions.size() - 1);
    }
    c.blank();
    c.line("## Run it");
    c.blank();
    c.line("`pip install onnx onnxruntime` into the SDK's Python (ONNX Runtime only for the check), then");
    c.line("`sh commands.sh` on the simulator. On a system through the appliance (the SDK's client package):");
    c.line("`sh appliance.sh --prompt 1,2,3 --new 16` compiles every wafer's program with `SdkCompiler` for the");
    c.line("system's whole fabric (`compile_appliance.py`) and runs `run.py --artifact ...` with `SdkRuntime(artifact,");
    c.line("simulator=False)`, one per wafer; `--simulator` uses the appliance's simulator. A system reached directly:");
    c.line("build with the system's fabric and run `cs_python run.py --name out --cmaddr IP:PORT --prompt 1,2,3 --new 16`.");
    c.blank();
    c.line("Check it without the SDK: `meshc check-csl .`.");
    return c.toString();
  }
}
