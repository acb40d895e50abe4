package dev.meshc.compiler.plan;

import static dev.meshc.compiler.Inspection.humanBytes;

import dev.meshc.ir.machine.MachineSpec;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/** A plan as people and programs read it: a text report, a JSON-ready map and an SVG of the wafers. */
public final class PlanReport {
  private PlanReport() {}

  /** The JSON summary (keys documented in the README); like every output, free of timings, so reproducible. */
  public static Map<String, Object> json(Plan p) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("model", p.model());
    j.put("machine", p.machine());
    j.put("phase", p.workload().phase().label());
    j.put("prompt_len", p.workload().promptLen());
    j.put("max_context", p.workload().maxContext());
    j.put("feasible", p.feasible());
    List<Object> regions = new ArrayList<>();
    for (Plan.Region r : p.regions()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("index", r.index());
      m.put("wafer", r.wafer());
      m.put("x", r.x());
      m.put("y", r.y());
      m.put("width", r.grid());
      m.put("height", r.grid());
      m.put("layers", List.of(r.firstLayer(), r.endLayer()));
      m.put("lm_head", r.head());
      m.put("pe_bytes", r.peBytes());
      m.put("weight_bytes", r.weightBytes());
      m.put("kv_bytes", r.kvBytes());
      m.put("buffer_bytes", r.transientBytes());
      m.put("colors", r.colors());
      if (r.queues() != null) {
        m.put("input_queues", r.queues().inputs());
        m.put("output_queues", r.queues().outputs());
      }
      m.put("cycles_per_layer", r.layerCycles());
      m.put("cycles", r.cycles());
      m.put("handoff_cycles", r.handoffCycles());
      if (p.workload().phase() == Workload.Phase.DECODE) {
        m.put("kv_capacity_tokens", r.kvCapacity());
        m.put("kv_capacity_append_tokens", r.kvSlots());
      }
      regions.add(m);
    }
    j.put("regions", regions);
    j.put("wafers", p.wafers());
    j.put("pes_used", p.pesUsed());
    j.put("max_pe_bytes", p.maxPeBytes());
    j.put("max_colors_per_pe", p.maxColorsPerPe());
    j.put("predicted_cycles", p.cycles());
    if (p.workload().phase() == Workload.Phase.DECODE) {
      j.put("predicted_seconds_per_token", p.seconds());
    } else {
      j.put("predicted_prefill_seconds", p.seconds());
    }
    j.put("predicted_tokens_per_second", p.tokensPerSecond());
    j.put("solver_status", p.solverStatus());
    j.put("optimality_gap", p.optimalityGap());
    j.put("explanation", p.explanation());
    return j;
  }

  /** The human report: a table of regions, totals, and the program of one {@code layer} on region 0. */
  public static String text(Plan p, CostModel cost, ModelShape.LayerShape layer) {
    MachineSpec m = cost.machine();
    Workload w = p.workload();
    StringBuilder s = new StringBuilder();
    String what = w.phase() == Workload.Phase.DECODE ? "decode, context up to " + w.maxContext()
        : "prefill, prompt " + w.promptLen();
    s.append(String.format(Locale.ROOT, "%s on %s (%s)%n", p.model(), m.name(), what));
    if (!p.feasible()) {
      return s.append("  no plan: ").append(p.explanation()).append(System.lineSeparator()).toString();
    }
    s.append(String.format(Locale.ROOT, "  %-6s %-5s %-11s %-9s %-12s %-10s %-10s %-10s %-7s %12s%n", "region", "wafer",
        "at (x,y)", "grid", "layers", "weights", "kv cache", "buffers", "colours", "cycles"));
    for (Plan.Region r : p.regions()) {
      String layers = r.layers() == 0 ? "-" : r.firstLayer() + "-" + (r.endLayer() - 1);
      s.append(String.format(Locale.ROOT, "  %-6d %-5d %-11s %-9s %-12s %-10s %-10s %-10s %-7d %,12.0f%n", r.index(),
          r.wafer(), "(" + r.x() + "," + r.y() + ")", r.grid() + "x" + r.grid(), layers + (r.head() ? " +head" : ""),
          humanBytes(r.weightBytes()), humanBytes(r.kvBytes()), humanBytes(r.transientBytes()), r.colors(),
          r.cycles()));
    }
    double perLayer = p.regions().get(0).layerCycles();
    s.append(String.format(Locale.ROOT, "  per layer on %dx%d: %,.0f cycles (%.2f us); hand-offs %,.0f cycles%n",
        p.regions().get(0).grid(), p.regions().get(0).grid(), perLayer, m.seconds(perLayer) * 1e6,
        p.regions().stream().mapToDouble(Plan.Region::handoffCycles).sum()));
    if (w.phase() == Workload.Phase.DECODE) {
      s.append(String.format(Locale.ROOT, "  predicted: %,.0f cycles per token = %.1f us, %.1f tokens/s%n", p.cycles(),
          p.seconds() * 1e6, p.tokensPerSecond()));
    } else {
      s.append(String.format(Locale.ROOT, "  predicted: %,.0f cycles for the prompt = %.3f ms, %.0f prompt tokens/s%n",
          p.cycles(), p.seconds() * 1e3, p.tokensPerSecond()));
    }
    if (w.phase() == Workload.Phase.DECODE) {
      Plan.Region least = p.regions().stream().filter(r -> r.layers() > 0)
          .min(java.util.Comparator.comparingLong(Plan.Region::kvCapacity)).orElseThrow();
      s.append(String.format(Locale.ROOT, "  KV cache: the shift-based cache holds %,d tokens (region %d: %,d per "
          + "row x %d rows); appending on one row would hold %,d%n", least.kvCapacity(), least.index(),
          least.kvSlots(), least.grid(), least.kvSlots()));
    }
    s.append(String.format(Locale.ROOT, "  %,d PEs on %d wafer(s); most per PE: %s of %s, %d colours of %d%n",
        p.pesUsed(), p.wafers(), humanBytes(p.maxPeBytes()), humanBytes(m.bufferBudget()), p.maxColorsPerPe(),
        m.colorBudget()));
    s.append(String.format(Locale.ROOT, "  solver: %s, optimality gap %.2f%%%n", p.solverStatus(),
        100 * p.optimalityGap()));
    CostModel.UnitCost u = cost.layer(layer, p.regions().get(0).grid());
    s.append("  layer program (region 0):").append(System.lineSeparator());
    for (CostModel.Step st : u.steps()) {
      s.append(String.format(Locale.ROOT, "    %-22s %-9s %-20s %,10.0f%n", st.name(), st.kernel(), st.shape(),
          st.cycles()));
    }
    return s.toString();
  }

  /** A picture as boxes and words, drawn once and rendered as SVG or PNG. */
  private record Scene(int width, int height, List<Box> boxes, List<Label> labels) {}

  private record Box(double x, double y, double w, double h, String fill, String stroke) {}

  private record Label(double x, double y, String text) {}

  /** The wafers side by side, regions coloured by memory per PE and labelled with their layers. */
  private static Scene scene(Plan p, MachineSpec m) {
    int kw = m.kernelWidth();
    int kh = m.kernelHeight();
    int wafers = Math.max(1, p.wafers());
    double scale = 0.8;
    int gap = 40;
    List<Box> boxes = new ArrayList<>();
    List<Label> labels = new ArrayList<>();
    String rate = p.workload().phase() == Workload.Phase.DECODE ? "tokens/s" : "prompt tokens/s";
    labels.add(new Label(gap, 24, String.format(Locale.ROOT, "%s on %s, %s: %s", p.model(), m.name(),
        p.workload().phase().label(), p.feasible() ? String.format(Locale.ROOT, "%.1f %s; colour = memory per PE "
            + "(of %s)", p.tokensPerSecond(), rate, humanBytes(m.bufferBudget())) : "no plan")));
    for (int i = 0; i < wafers; i++) {
      double ox = gap + i * (kw * scale + gap);
      boxes.add(new Box(ox, gap, kw * scale, kh * scale, "#f4f4f4", "#888888"));
      labels.add(new Label(ox, gap + kh * scale + 20, String.format(Locale.ROOT, "wafer %d (%dx%d usable PEs)", i, kw,
          kh)));
    }
    for (Plan.Region r : p.regions()) {
      double ox = gap + r.wafer() * (kw * scale + gap) + r.x() * scale;
      double oy = gap + r.y() * scale;
      double use = Math.min(1, (double) r.peBytes() / m.bufferBudget());
      boxes.add(new Box(ox, oy, r.grid() * scale, r.grid() * scale, heat(use), "#222222"));
      String layers = r.layers() == 0 ? "" : "layers " + r.firstLayer() + "–" + (r.endLayer() - 1);
      labels.add(new Label(ox + 6, oy + 18, layers + (r.head() ? (layers.isEmpty() ? "" : " + ") + "LM head" : "")));
      labels.add(new Label(ox + 6, oy + 36, String.format(Locale.ROOT, "%dx%d, %s/PE (%.0f%%)", r.grid(), r.grid(),
          humanBytes(r.peBytes()), 100 * use)));
    }
    return new Scene((int) (wafers * (kw * scale + gap) + gap), (int) (kh * scale + 2 * gap + 30), boxes, labels);
  }

  /** The wafers as an SVG: regions coloured by per-PE memory use, labelled with their layers. */
  public static String svg(Plan p, MachineSpec m) {
    Scene sc = scene(p, m);
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
        + "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"14\">%n", sc.width(), sc.height()));
    for (Box b : sc.boxes()) {
      s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
          + "stroke=\"%s\"/>%n", b.x(), b.y(), b.w(), b.h(), b.fill(), b.stroke()));
    }
    for (Label l : sc.labels()) {
      s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", l.x(), l.y(), esc(l.text())));
    }
    return s.append("</svg>").append(System.lineSeparator()).toString();
  }

  /**
   * The same picture as PNG bytes (java.awt, headless). Words need fonts; on a JVM without any
   * the picture comes without them.
   */
  public static byte[] png(Plan p, MachineSpec m) {
    Scene sc = scene(p, m);
    BufferedImage img = new BufferedImage(sc.width(), sc.height(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, sc.width(), sc.height());
    for (Box b : sc.boxes()) {
      int x = (int) Math.round(b.x());
      int y = (int) Math.round(b.y());
      int w = (int) Math.round(b.w());
      int h = (int) Math.round(b.h());
      g.setColor(Color.decode(b.fill()));
      g.fillRect(x, y, w, h);
      g.setColor(Color.decode(b.stroke()));
      g.drawRect(x, y, w, h);
    }
    try {
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
      g.setColor(Color.BLACK);
      for (Label l : sc.labels()) {
        g.drawString(l.text(), (float) l.x(), (float) l.y());
      }
    } catch (RuntimeException | Error noFonts) { // no fonts in this JVM: keep the boxes
      g.setColor(Color.BLACK);
    }
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Light yellow (empty) to dark red (full). */
  static String heat(double f) {
    int r = (int) Math.round(255 - 80 * f);
    int g = (int) Math.round(240 - 200 * f);
    int b = (int) Math.round(170 - 140 * f);
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
