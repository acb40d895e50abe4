package dev.meshc.compiler.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.meshc.ir.DType;
import dev.meshc.ir.Shape;
import java.nio.file.Path;

/**
 * What the importer knows about an ONNX initializer without reading its values: element type,
 * shape and where the bytes are. {@link TensorData#read} fetches them when someone runs the model.
 */
public record Initializer(String name, DType dtype, Shape shape, Storage storage) {

  /** Where an initializer's bytes live. */
  public sealed interface Storage {}

  /** In the model file itself (raw_data or a typed field of the TensorProto). */
  public record Inline(TensorProto proto) implements Storage {}

  /**
   * In an external data file beside the model: {@code file} is already checked to resolve inside
   * the model's folder; {@code length} is -1 when the model leaves it to the end of the file.
   */
  public record External(String location, Path file, long offset, long length) implements Storage {}

  /**
   * A weight: a floating initializer with more than one element. Weights are referenced, never
   * read while compiling; every other initializer (integers, scalars) acts as a constant.
   */
  public boolean isWeight() {
    return dtype.isFloating() && shape.elements() > 1;
  }

  public boolean isExternal() {
    return storage instanceof External;
  }

  public long bytes() {
    return Math.multiplyExact(shape.elements(), (long) dtype.bytes());
  }
}
