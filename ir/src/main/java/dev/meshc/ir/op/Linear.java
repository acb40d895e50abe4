package dev.meshc.ir.op;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layout;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.TensorType;
import dev.meshc.ir.Value;
import java.util.List;

/**
 * A projection by a weight: {@code x}[..., K] · {@code w}[K, N] (+ {@code bias}[N]). On the mesh
 * it is a MeshGEMM in prefill and a MeshGEMV in decode; the result keeps x's row split and puts N
 * along X, as MeshGEMM leaves C.
 */
public record Linear(Value x, Value w, Value bias, Value out, Provenance loc) implements Op {
  public static final OpDef DEF = Defs.def("linear",
      (in, a, r, loc) -> {
        Defs.arity("linear", in, 2, 3);
        return new Linear(in.get(0), in.get(1), Defs.opt(in, 2), Defs.one("linear", r), loc);
      },
      (in, a) -> {
        Defs.arity("linear", in, 2, 3);
        TensorType x = in.get(0);
        TensorType w = in.get(1);
        Defs.rank("linear", "input", x, 1);
        Defs.floating("linear", "input", x);
        if (w.rank() != 2) {
          throw MeshcException.input("linear: weight must be [in, out], has shape %s", w.shape());
        }
        Defs.sameDim("linear", "input width", x.shape().dim(-1), "weight rows", w.shape().dim(0));
        long n = w.shape().dim(1);
        if (in.size() == 3) {
          Defs.vector("linear", "bias", in.get(2), n);
        }
        long[] s = Defs.dims(x);
        s[s.length - 1] = n;
        return List.of(new TensorType(x.dtype(), Shape.of(s), x.layout().with(-1, Layout.Axis.X)));
      });

  @Override
  public OpDef def() {
    return DEF;
  }

  @Override
  public List<Value> operands() {
    return bias == null ? List.of(x, w) : List.of(x, w, bias);
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
