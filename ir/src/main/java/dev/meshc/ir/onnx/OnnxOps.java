package dev.meshc.ir.onnx;

import dev.meshc.ir.MeshcException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The ONNX operators meshc understands (default domain), by op type. */
public final class OnnxOps {
  private static final Map<String, OnnxOp> OPS;

  static {
    Map<String, OnnxOp> m = new TreeMap<>();
    List<OnnxOp> all = new ArrayList<>();
    all.addAll(ElementwiseOps.all());
    all.addAll(ReduceOps.all());
    all.addAll(LinalgOps.all());
    all.addAll(ShapeOps.all());
    for (OnnxOp op : all) {
      if (m.put(op.type(), op) != null) {
        throw new IllegalStateException("two definitions of " + op.type());
      }
    }
    OPS = Collections.unmodifiableMap(m);
  }

  private OnnxOps() {}

  public static Optional<OnnxOp> find(String type) {
    return Optional.ofNullable(OPS.get(type));
  }

  /** The definition of {@code type}, or an error listing what is supported. */
  public static OnnxOp get(String type) {
    OnnxOp op = OPS.get(type);
    if (op == null) {
      throw MeshcException.input("unsupported op %s; meshc supports %s", type, supported());
    }
    return op;
  }

  /** Supported op types, sorted, including Constant (which the importer folds itself). */
  public static List<String> supported() {
    List<String> r = new ArrayList<>(OPS.keySet());
    r.add("Constant");
    Collections.sort(r);
    return r;
  }
}
