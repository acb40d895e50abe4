package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/** Token embedding: rows of {@code table} [V, E] picked by integer {@code ids}; result ids.shape + [E]. */
public record Embedding(Value ids, Value table, Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("embedding",
      (in, a, r, loc) -> {
        Defs.arity("embedding", in, 2, 2);
        return new Embedding(in.get(0), in.get(1), Defs.one("embedding", r), loc);
      },
      (in, a) -> {
        Defs.arity("embedding", in, 2, 2);
        TensorType ids = in.get(0);
        TensorType table = in.get(1);
        if (ids.dtype().isFloating()) {
          throw MeshcException.input("embedding: ids must be integers, are %s", ids.dtype().irName());
        }
        if (table.rank() != 2) {
          throw MeshcException.input("embedding: table must be [vocab, width], has shape %s", table.shape());
        }
        long[] s = new long[ids.rank() + 1];
        System.arraycopy(Defs.dims(ids), 0, s, 0, ids.rank());
        s[ids.rank()] = table.shape().dim(1);
        List<Layout.Axis> l = new java.util.ArrayList<>(ids.layout().dims());
        l.add(Layout.Axis.REPLICATED);
        return List.of(new TensorType(table.dtype(), Shape.of(s), new Layout(l).with(-1, Layout.Axis.X)));
      });

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return List.of(ids, table);
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
