package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * [..., S, H·D] → [..., H, S, D]: the Reshape/Transpose pair exporters write to split heads, as one
 * op whose layout keeps S and D where S and H·D were, so on the mesh it moves no data.
 */
public record SplitHeads(Value x, long heads, Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("split_heads",
      (in, a, r, loc) -> {
        Defs.arity("split_heads", in, 1, 1);
        return new SplitHeads(in.get(0), a.requireInt("heads"), Defs.one("split_heads", r), loc);
      },
      (in, a) -> {
        Defs.arity("split_heads", in, 1, 1);
        TensorType x = in.get(0);
        Defs.rank("split_heads", "input", x, 2);
        long h = a.requireInt("heads");
        long e = x.shape().dim(-1);
        if (h <= 0 || e % h != 0) {
          throw MeshcException.input("split_heads: width %d does not split into %d heads", e, h);
        }
        long[] d = Defs.dims(x);
        int r = d.length;
        long[] s = new long[r + 1];
        System.arraycopy(d, 0, s, 0, r - 2);
        s[r - 2] = h;
        s[r - 1] = d[r - 2];
        s[r] = e / h;
        List<Layout.Axis> l = new ArrayList<>(x.layout().dims().subList(0, r - 2));
        l.add(Layout.Axis.REPLICATED);
        l.add(x.layout().dim(-2));
        l.add(x.layout().dim(-1));
        return List.of(new TensorType(x.dtype(), Shape.of(s), new Layout(l)));
      });

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return List.of(x);
  }

  @Override
  public Attrs attrs() {
    return Attrs.builder().put("heads", heads).build();
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
