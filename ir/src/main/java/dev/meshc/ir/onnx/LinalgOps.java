package dev.meshc.ir.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Matrix products: MatMul (NumPy semantics, batch broadcasting) and Gemm. */
final class LinalgOps {
  private LinalgOps() {}

  static List<OnnxOp> all() {
    return List.of(new MatMul(), new Gemm());
  }

  static final class MatMul extends Base {
    MatMul() {
      super("MatMul", LayoutRule.MATMUL);
    }

    /** [batch..., M, N] for operands promoted to rank ≥ 2, with the 1-D dims dropped again. */
    private Shape resultShape(Shape a, Shape b) {
      if (a.rank() == 0 || b.rank() == 0) {
        throw error("operands must have rank >= 1, have %s and %s", a, b);
      }
      Shape pa = a.rank() == 1 ? Shape.of(1, a.dim(0)) : a;
      Shape pb = b.rank() == 1 ? Shape.of(b.dim(0), 1) : b;
      if (pa.dim(-1) != pb.dim(-2)) {
        throw error("inner dimensions differ: %s · %s", a, b);
      }
      Shape batch = Broadcast.shape("MatMul",
          List.of(Shape.of(Arrays.copyOf(pa.toArray(), pa.rank() - 2)),
              Shape.of(Arrays.copyOf(pb.toArray(), pb.rank() - 2))));
      List<Long> d = new ArrayList<>(batch.toList());
      if (a.rank() > 1) {
        d.add(pa.dim(-2));
      }
      if (b.rank() > 1) {
        d.add(pb.dim(-1));
      }
      return Shape.of(d);
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 2);
      if (!in.get(0).dtype().isFloating() || in.get(0).dtype() != in.get(1).dtype()) {
        throw error("needs two operands of one floating type, has %s and %s", in.get(0), in.get(1));
      }
      return List.of(new Sig(in.get(0).dtype(), resultShape(in.get(0).shape(), in.get(1).shape())));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs attrs) {
      Tensor a = in.get(0);
      Tensor b = in.get(1);
      Shape out = resultShape(a.shape(), b.shape());
      Shape pa = a.shape().rank() == 1 ? Shape.of(1, a.shape().dim(0)) : a.shape();
      Shape pb = b.shape().rank() == 1 ? Shape.of(b.shape().dim(0), 1) : b.shape();
      int m = (int) pa.dim(-2);
      int k = (int) pa.dim(-1);
      int n = (int) pb.dim(-1);
      Shape batchA = Shape.of(Arrays.copyOf(pa.toArray(), pa.rank() - 2));
      Shape batchB = Shape.of(Arrays.copyOf(pb.toArray(), pb.rank() - 2));
      Shape batch = Broadcast.shape("MatMul", List.of(batchA, batchB));
      int[] ia = Broadcast.offsets(batchA, batch);
      int[] ib = Broadcast.offsets(batchB, batch);
      float[] r = new float[ia.length * m * n];
      for (int t = 0; t < ia.length; t++) {
        Kernels.matmul(a.floats(), ia[t] * m * k, b.floats(), ib[t] * k * n, r, t * m * n, m, k, n);
      }
      return List.of(Tensor.ofFloats(a.dtype(), out, r).rounded());
    }
  }

  /** Gemm: alpha·op(A)·op(B) + beta·C, with op a transpose when transA/transB is set. */
  static final class Gemm extends Base {
    Gemm() {
      super("Gemm", LayoutRule.MATMUL);
    }

    @Override
    public Normalized normalize(int opset, Attrs a, List<NodeInput> in, int outputs, String node) {
      Attrs n = Attrs.builder()
          .put("alpha", a.getFloat("alpha", 1f)).put("beta", a.getFloat("beta", 1f))
          .put("transA", a.getInt("transA", 0)).put("transB", a.getInt("transB", 0)).build();
      return new Normalized(n, in.size() > 2 && in.get(2).present() ? List.of(0, 1, 2) : List.of(0, 1));
    }

    private long[] mkn(Shape a, Shape b, Attrs at) {
      if (a.rank() != 2 || b.rank() != 2) {
        throw error("operands must be matrices, have %s and %s", a, b);
      }
      boolean ta = at.getInt("transA", 0) != 0;
      boolean tb = at.getInt("transB", 0) != 0;
      long m = ta ? a.dim(1) : a.dim(0);
      long k = ta ? a.dim(0) : a.dim(1);
      long kb = tb ? b.dim(1) : b.dim(0);
      long n = tb ? b.dim(0) : b.dim(1);
      if (k != kb) {
        throw error("inner dimensions differ: %s · %s (transA=%b, transB=%b)", a, b, ta, tb);
      }
      return new long[] {m, k, n};
    }

    @Override
    public List<Sig> infer(List<Sig> in, Attrs a) {
      arity(in, 2, 3);
      long[] mkn = mkn(in.get(0).shape(), in.get(1).shape(), a);
      Shape out = Shape.of(mkn[0], mkn[2]);
      if (in.size() == 3) {
        Broadcast.shape("Gemm", List.of(in.get(2).shape(), out));
      }
      return List.of(new Sig(in.get(0).dtype(), out));
    }

    @Override
    public List<Tensor> eval(List<Tensor> in, Attrs at) {
      Tensor a = in.get(0);
      Tensor b = in.get(1);
      long[] mkn = mkn(a.shape(), b.shape(), at);
      int m = (int) mkn[0];
      int k = (int) mkn[1];
      int n = (int) mkn[2];
      float[] fa = at.getInt("transA", 0) != 0 ? transpose(a.floats(), k, m) : a.floats();
      float[] fb = at.getInt("transB", 0) != 0 ? transpose(b.floats(), n, k) : b.floats();
      float[] r = new float[m * n];
      Kernels.matmul(fa, 0, fb, 0, r, 0, m, k, n);
      float alpha = at.getFloat("alpha", 1f);
      float beta = at.getFloat("beta", 1f);
      Shape out = Shape.of(m, n);
      int[] ic = in.size() == 3 ? Broadcast.offsets(in.get(2).shape(), out) : null;
      for (int i = 0; i < r.length; i++) {
        double v = (double) alpha * r[i];
        if (ic != null) {
          v += (double) beta * in.get(2).floats()[ic[i]];
        }
        r[i] = (float) v;
      }
      return List.of(Tensor.ofFloats(a.dtype(), out, r).rounded());
    }

    static float[] transpose(float[] x, int rows, int cols) {
      float[] r = new float[x.length];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          r[j * rows + i] = x[i * cols + j];
        }
      }
      return r;
    }
  }
}
