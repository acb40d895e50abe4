package dev.meshc.ir;

import java.util.Locale;

/**
 * Element types. The tile IR names them as MLIR does ({@code f32}, {@code i64}); {@link #onnxCode()}
 * is the ONNX {@code TensorProto.DataType} number.
 */
public enum DType {
  F32("f32", 1, 4, true),
  U8("u8", 2, 1, false),
  I8("i8", 3, 1, false),
  U16("u16", 4, 2, false),
  I16("i16", 5, 2, false),
  I32("i32", 6, 4, false),
  I64("i64", 7, 8, false),
  BOOL("bool", 9, 1, false),
  F16("f16", 10, 2, true),
  F64("f64", 11, 8, true),
  U32("u32", 12, 4, false),
  U64("u64", 13, 8, false),
  BF16("bf16", 16, 2, true);

  private final String irName;
  private final int onnxCode;
  private final int bytes;
  private final boolean floating;

  DType(String irName, int onnxCode, int bytes, boolean floating) {
    this.irName = irName;
    this.onnxCode = onnxCode;
    this.bytes = bytes;
    this.floating = floating;
  }

  public String irName() {
    return irName;
  }

  public int onnxCode() {
    return onnxCode;
  }

  /** Bytes per element in storage. */
  public int bytes() {
    return bytes;
  }

  public boolean isFloating() {
    return floating;
  }

  public static DType fromIrName(String name) {
    for (DType t : values()) {
      if (t.irName.equals(name)) {
        return t;
      }
    }
    throw MeshcException.input("unknown element type '%s'", name);
  }

  /** The type for an ONNX data-type code, or an error naming the code when meshc has no such type. */
  public static DType fromOnnx(int code) {
    for (DType t : values()) {
      if (t.onnxCode == code) {
        return t;
      }
    }
    throw MeshcException.input("unsupported ONNX element type %d", code);
  }

  @Override
  public String toString() {
    return irName.toLowerCase(Locale.ROOT);
  }
}
