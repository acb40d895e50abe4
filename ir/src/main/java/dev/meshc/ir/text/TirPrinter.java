package dev.meshc.ir.text;

import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.Const;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Layout;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Op;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Writes a module in the .tir text form that {@link TirParser} reads back. The output depends on
 * the module alone (attributes are sorted, everything else is in module order), so printing is
 * deterministic and {@code print(parse(print(m)))} equals {@code print(m)}. The printer does not
 * verify: a broken module still prints, so that it can be looked at.
 */
public final class TirPrinter {
  private static final String HEADER = "# meshc tile IR\ntir 1\n";

  private final Module module;
  private final Set<String> weights;
  private final StringBuilder out = new StringBuilder();

  private TirPrinter(Module module) {
    this.module = module;
    this.weights = module.weightNames();
  }

  /**
   * The text form of {@code m}, ending in a newline.
   *
   * @throws IllegalArgumentException when the module holds what the text form cannot show: a
   *     tensor-valued attribute (only fold-only ops carry one), or layers out of order or overlapping
   */
  public static String print(Module m) {
    return new TirPrinter(m).module();
  }

  private String module() {
    out.append(HEADER).append("module ").append(TirSyntax.quote(module.name())).append(" {\n");
    for (Value v : module.inputs()) {
      out.append("  input ").append(ref(v)).append(" : ").append(type(v.type())).append('\n');
    }
    for (Weight w : module.weights()) {
      out.append("  weight ").append(ref(w.value())).append(" : ").append(type(w.value().type()))
          .append(" = ").append(TirSyntax.quote(w.source()));
      if (!w.perm().isEmpty()) {
        StringJoiner p = new StringJoiner(",", " perm [", "]");
        w.perm().forEach(i -> p.add(Integer.toString(i)));
        out.append(p);
      }
      out.append('\n');
    }
    for (Const c : module.consts()) {
      out.append("  const ").append(ref(c.value())).append(" : ").append(type(c.value().type()))
          .append(" = ").append(literal(c.data())).append('\n');
    }
    body();
    for (Value v : module.outputs()) {
      out.append("  output ").append(ref(v)).append('\n');
    }
    for (Placement p : module.placements()) {
      out.append("  placement ").append(TirSyntax.key(p.phase())).append(' ')
          .append(attrs(p.info(), "placement " + p.phase())).append(" {\n");
      for (Placement.Region r : p.regions()) {
        out.append("    region ").append(r.index()).append(' ').append(attrs(r.info(), "region " + r.index()))
            .append(" {\n");
        for (Placement.Kernel k : r.kernels()) {
          out.append("      kernel ").append(TirSyntax.key(k.name())).append(' ')
              .append(attrs(k.info(), "kernel " + k.name())).append('\n');
        }
        out.append("    }\n");
      }
      out.append("  }\n");
    }
    return out.append("}\n").toString();
  }

  /** The ops, each layer's range wrapped in its {@code layer} block. */
  private void body() {
    List<Op> ops = module.ops();
    int next = 0;
    for (Layer l : module.layers()) {
      if (l.start() < next || l.end() > ops.size()) {
        throw new IllegalArgumentException(String.format(Locale.ROOT,
            "layer %d [%d, %d) overlaps the layer before it or lies outside the %d ops; the text form cannot show it",
            l.index(), l.start(), l.end(), ops.size()));
      }
      for (; next < l.start(); next++) {
        op(next, "  ");
      }
      out.append("  layer ").append(l.index()).append(' ').append(TirSyntax.key(l.kind())).append(' ')
          .append(attrs(l.info(), "layer " + l.index())).append(" {\n");
      for (; next < l.end(); next++) {
        op(next, "    ");
      }
      out.append("  }\n");
    }
    for (; next < ops.size(); next++) {
      op(next, "  ");
    }
  }

  private void op(int index, String indent) {
    Op op = module.ops().get(index);
    String name = op instanceof Generic g ? g.type() : op.name();
    StringJoiner results = new StringJoiner(", ");
    op.results().forEach(v -> results.add(ref(v)));
    out.append(indent).append(results).append(" = ").append(name);
    StringJoiner operands = new StringJoiner(", ", " ", "").setEmptyValue("");
    op.operands().forEach(v -> operands.add(ref(v)));
    out.append(operands);
    if (!op.attrs().isEmpty()) {
      out.append(' ').append(attrs(op.attrs(), "op #" + index + " '" + name + "'"));
    }
    StringJoiner types = new StringJoiner(", ", " : ", "");
    op.results().forEach(v -> types.add(type(v.type())));
    out.append(types);
    Provenance loc = op.loc();
    if (!loc.nodes().isEmpty()) {
      StringJoiner l = new StringJoiner(", ", " loc(", ")");
      loc.nodes().forEach(n -> l.add(TirSyntax.quote(n)));
      out.append(l);
    }
    out.append('\n');
  }

  private String ref(Value v) {
    return TirSyntax.ref(v.name(), weights.contains(v.name()));
  }

  /** {@code f32[1,16,64] <*,y,x>}. */
  static String type(TensorType t) {
    StringJoiner dims = new StringJoiner(",", "[", "]");
    for (long d : t.shape().toArray()) {
      dims.add(Long.toString(d));
    }
    StringJoiner axes = new StringJoiner(",", "<", ">");
    for (Layout.Axis a : t.layout().dims()) {
      axes.add(a.symbol());
    }
    return t.dtype().irName() + dims + " " + axes;
  }

  /** {@code {k = v, ...}} in key order; {@code owner} names the op or layer when a value cannot be printed. */
  private static String attrs(Attrs a, String owner) {
    StringJoiner j = new StringJoiner(", ", "{", "}");
    for (Map.Entry<String, Attr> e : a.asMap().entrySet()) {
      j.add(TirSyntax.key(e.getKey()) + " = " + attr(e.getValue(), owner, e.getKey()));
    }
    return j.toString();
  }

  private static String attr(Attr a, String owner, String key) {
    if (a instanceof Attr.Int i) {
      return Long.toString(i.value());
    }
    if (a instanceof Attr.Float f) {
      return TirSyntax.number(f.value());
    }
    if (a instanceof Attr.Str s) {
      return TirSyntax.quote(s.value());
    }
    if (a instanceof Attr.Ints l) {
      StringJoiner j = new StringJoiner(", ", "[", "]");
      l.values().forEach(v -> j.add(Long.toString(v)));
      return j.toString();
    }
    if (a instanceof Attr.Floats l) {
      StringJoiner j = new StringJoiner(", ", "[", "]");
      l.values().forEach(v -> j.add(TirSyntax.number(v)));
      return j.toString();
    }
    throw new IllegalArgumentException(owner + ": attribute '" + key
        + "' holds a tensor, which the text form cannot show (only fold-only ops carry one)");
  }

  /**
   * A constant's elements: one number when they are all equal (the parser fills the shape with
   * it), else every element in row-major order; {@code []} when there are none.
   */
  private static String literal(Tensor t) {
    if (t.size() == 0) {
      return "[]";
    }
    if (t.isSplat()) {
      return element(t, 0);
    }
    StringJoiner j = new StringJoiner(", ", "[", "]");
    for (int i = 0; i < t.size(); i++) {
      j.add(element(t, i));
    }
    return j.toString();
  }

  private static String element(Tensor t, int i) {
    return t.isFloating() ? TirSyntax.number(t.floats()[i]) : Long.toString(t.longs()[i]);
  }
}
