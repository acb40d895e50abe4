package dev.meshc.compiler.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** Decodes ONNX TensorProto data (inline or external) into {@link Tensor}s. */
public final class TensorData {
  private TensorData() {}

  /** Describes a TensorProto without touching its data; external locations are checked here. */
  static Initializer describe(TensorProto t, Path modelDir, String what) {
    DType dt;
    try {
      dt = DType.fromOnnx(t.getDataType());
    } catch (MeshcException e) {
      throw MeshcException.input("%s '%s' has unsupported element type %d", what, t.getName(), t.getDataType());
    }
    long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    for (long d : dims) {
      if (d < 0) {
        throw MeshcException.input("%s '%s' has a negative dimension in %s", what, t.getName(),
            java.util.Arrays.toString(dims));
      }
    }
    Shape shape = Shape.of(dims);
    try {
      Math.multiplyExact(shape.elements(), (long) dt.bytes());
    } catch (ArithmeticException | MeshcException e) {
      throw MeshcException.input("%s '%s' has dims %s whose size overflows", what, t.getName(), shape);
    }
    if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
      return new Initializer(t.getName(), dt, shape, new Initializer.Inline(t));
    }
    String location = null;
    long offset = 0;
    long length = -1;
    for (var e : t.getExternalDataList()) {
      try {
        switch (e.getKey()) {
          case "location" -> location = e.getValue();
          case "offset" -> offset = Long.parseLong(e.getValue());
          case "length" -> length = Long.parseLong(e.getValue());
          default -> { } // checksum and unknown keys carry nothing we need
        }
      } catch (NumberFormatException ex) {
        throw MeshcException.input("%s '%s': external data %s '%s' is not a number", what, t.getName(),
            e.getKey(), e.getValue());
      }
    }
    if (location == null || location.isEmpty()) {
      throw MeshcException.input("%s '%s' is marked EXTERNAL but names no location", what, t.getName());
    }
    if (offset < 0 || length < -1) {
      throw MeshcException.input("%s '%s': external data offset %d / length %d is negative", what, t.getName(),
          offset, length);
    }
    Path file = resolveInside(modelDir, location, what + " '" + t.getName() + "'");
    return new Initializer(t.getName(), dt, shape, new Initializer.External(location, file, offset, length));
  }

  /**
   * Resolves an external-data location against the model's folder, refusing absolute paths,
   * paths that climb out, and symlinks that point out.
   */
  static Path resolveInside(Path modelDir, String location, String what) {
    Path dir = modelDir.toAbsolutePath().normalize();
    Path loc;
    try {
      loc = Path.of(location);
    } catch (java.nio.file.InvalidPathException e) {
      throw MeshcException.input("%s: external data location '%s' is not a valid path", what, location);
    }
    if (loc.isAbsolute() || location.startsWith("/") || location.startsWith("\\")) {
      throw MeshcException.input("%s: external data location '%s' is absolute; it must be a path inside the "
          + "model's folder", what, location);
    }
    Path file = dir.resolve(loc).normalize();
    if (!file.startsWith(dir) || file.equals(dir)) {
      throw MeshcException.input("%s: external data location '%s' leaves the model's folder %s", what, location, dir);
    }
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      try {
        if (!file.toRealPath().startsWith(dir.toRealPath())) {
          throw MeshcException.input("%s: external data location '%s' is a link that leaves the model's folder",
              what, location);
        }
      } catch (IOException e) {
        throw MeshcException.input("%s: cannot resolve external data location '%s': %s", what, location, e.getMessage());
      }
    }
    return file;
  }

  /** The initializer's values. External data is streamed from its file at this moment, not before. */
  public static Tensor read(Initializer init) {
    ByteBuffer bytes;
    if (init.storage() instanceof Initializer.External ext) {
      bytes = readExternal(init, ext);
    } else {
      TensorProto t = ((Initializer.Inline) init.storage()).proto();
      if (t.getRawData().isEmpty() && init.shape().elements() > 0) {
        return fromTypedFields(t, init);
      }
      bytes = t.getRawData().asReadOnlyByteBuffer();
      checkLength(init, bytes.remaining());
    }
    return fromBytes(init.dtype(), init.shape(), bytes.order(ByteOrder.LITTLE_ENDIAN));
  }

  private static void checkLength(Initializer init, long have) {
    long need = init.bytes();
    if (have != need) {
      throw MeshcException.input("initializer '%s' holds %d bytes but its dims %s of %s need %d", init.name(), have,
          init.shape(), init.dtype().irName(), need);
    }
  }

  private static ByteBuffer readExternal(Initializer init, Initializer.External ext) {
    long need = init.bytes();
    if (need > Integer.MAX_VALUE - 8) {
      throw MeshcException.input("initializer '%s' (%d bytes) is too large to read at once", init.name(), need);
    }
    try (FileChannel ch = FileChannel.open(ext.file(), StandardOpenOption.READ)) {
      long length = ext.length() >= 0 ? ext.length() : ch.size() - ext.offset();
      checkLength(init, length);
      if (ext.offset() + length > ch.size()) {
        throw MeshcException.input("initializer '%s': external data '%s' has %d bytes, the model asks for %d at "
            + "offset %d", init.name(), ext.location(), ch.size(), length, ext.offset());
      }
      ByteBuffer buf = ByteBuffer.allocate((int) length);
      long pos = ext.offset();
      while (buf.hasRemaining()) {
        int n = ch.read(buf, pos);
        if (n < 0) {
          break;
        }
        pos += n;
      }
      buf.flip();
      return buf;
    } catch (NoSuchFileException e) {
      throw MeshcException.input("initializer '%s': external data file '%s' is missing (looked for %s); weights are "
          + "needed to run the model", init.name(), ext.location(), ext.file());
    } catch (IOException e) {
      throw MeshcException.input("initializer '%s': cannot read external data '%s': %s", init.name(),
          ext.location(), e.getMessage());
    }
  }

  static Tensor fromBytes(DType dt, Shape shape, ByteBuffer b) {
    int n = shape.elementsAsInt();
    if (dt.isFloating()) {
      float[] f = new float[n];
      for (int i = 0; i < n; i++) {
        f[i] = switch (dt) {
          case F32 -> b.getFloat();
          case F16 -> Fp16.toFloat(b.getShort());
          case BF16 -> Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
          case F64 -> (float) b.getDouble();
          default -> throw new IllegalStateException(dt.toString());
        };
      }
      return Tensor.ofFloats(dt, shape, f);
    }
    long[] l = new long[n];
    for (int i = 0; i < n; i++) {
      l[i] = switch (dt) {
        case I8 -> b.get();
        case U8 -> b.get() & 0xff;
        case BOOL -> b.get() != 0 ? 1 : 0;
        case I16 -> b.getShort();
        case U16 -> b.getShort() & 0xffff;
        case I32 -> b.getInt();
        case U32 -> b.getInt() & 0xffffffffL;
        case I64, U64 -> b.getLong();
        default -> throw new IllegalStateException(dt.toString());
      };
    }
    return Tensor.ofLongs(dt, shape, l);
  }

  private static Tensor fromTypedFields(TensorProto t, Initializer init) {
    DType dt = init.dtype();
    Shape shape = init.shape();
    int n = shape.elementsAsInt();
    List<? extends Number> src = switch (dt) {
      case F32 -> t.getFloatDataList();
      case F64 -> t.getDoubleDataList();
      case I64 -> t.getInt64DataList();
      case U32, U64 -> t.getUint64DataList();
      default -> t.getInt32DataList();
    };
    if (src.size() != n) {
      throw MeshcException.input("initializer '%s' holds %d values but its dims %s need %d", init.name(), src.size(),
          shape, n);
    }
    if (dt.isFloating()) {
      float[] f = new float[n];
      for (int i = 0; i < n; i++) {
        Number v = src.get(i);
        f[i] = switch (dt) {
          case F16 -> Fp16.toFloat((short) v.intValue());
          case BF16 -> Float.intBitsToFloat((v.intValue() & 0xffff) << 16);
          default -> v.floatValue();
        };
      }
      return Tensor.ofFloats(dt, shape, f);
    }
    long[] l = new long[n];
    for (int i = 0; i < n; i++) {
      l[i] = dt == DType.BOOL ? (src.get(i).longValue() != 0 ? 1 : 0) : src.get(i).longValue();
    }
    return Tensor.ofLongs(dt, shape, l);
  }
}
