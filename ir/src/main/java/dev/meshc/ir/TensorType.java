package dev.meshc.ir;

/** Element type, static shape and mesh layout of one tensor. */
public record TensorType(DType dtype, Shape shape, Layout layout) {
  public TensorType {
    if (layout.rank() != shape.rank()) {
      throw MeshcException.input("layout %s has rank %d but shape %s has rank %d",
          layout, layout.rank(), shape, shape.rank());
    }
  }

  /** A type with the {@linkplain Layout#standard standard} layout for its rank. */
  public static TensorType standard(DType dtype, Shape shape) {
    return new TensorType(dtype, shape, Layout.standard(shape.rank()));
  }

  public int rank() {
    return shape.rank();
  }

  public TensorType withLayout(Layout l) {
    return new TensorType(dtype, shape, l);
  }

  public TensorType withShape(Shape s) {
    return new TensorType(dtype, s, layout);
  }

  /** Bytes of the whole tensor in its element type. */
  public long bytes() {
    return Math.multiplyExact(shape.elements(), (long) dtype.bytes());
  }

  /** {@code f32[1,16,64] <*,y,x>}, as the tile IR prints it. */
  @Override
  public String toString() {
    return dtype.irName() + shape + " " + layout;
  }
}
