package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layout;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.ArrayList;
import java.util.List;

/** [..., H, S, D] → [..., S, H·D], the inverse of {@link SplitHeads}. */
public record MergeHeads(Value x, Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("merge_heads",
      (in, a, r, loc) -> {
        Defs.arity("merge_heads", in, 1, 1);
        return new MergeHeads(in.get(0), Defs.one("merge_heads", r), loc);
      },
      (in, a) -> {
        Defs.arity("merge_heads", in, 1, 1);
        TensorType x = in.get(0);
        Defs.rank("merge_heads", "input", x, 3);
        long[] d = Defs.dims(x);
        int r = d.length;
        long[] s = new long[r - 1];
        System.arraycopy(d, 0, s, 0, r - 3);
        s[r - 3] = d[r - 2];
        s[r - 2] = Math.multiplyExact(d[r - 3], d[r - 1]);
        List<Layout.Axis> l = new ArrayList<>(x.layout().dims().subList(0, r - 3));
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
    return Attrs.EMPTY;
  }

  @Override
  public List<Value> results() {
    return List.of(out);
  }
}
