package dev.meshc.compiler.io;

import dev.meshc.ir.DType;
import dev.meshc.ir.Fp16;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format (versions 1–3, C order, little-endian), so users hand meshc inputs
 * and compare its outputs in Python.
 */
public final class Npy {
  private Npy() {}

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-z])(\\d+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /** The file of an output named {@code output}, written by run and eval and read as its reference. */
  public static String fileName(String output) {
    return output.replaceAll("[^A-Za-z0-9_.-]", "_") + ".npy";
  }

  public static Tensor read(Path file) {
    return read(file, Limits.DEFAULTS);
  }

  /** As above, refusing a header longer than {@code limits} allows (real ones are ~100 bytes). */
  public static Tensor read(Path file, Limits limits) {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] magic = in.readNBytes(8);
      if (magic.length < 8 || !java.util.Arrays.equals(java.util.Arrays.copyOf(magic, 6), MAGIC)) {
        throw MeshcException.input("%s: not a .npy file (bad magic)", file);
      }
      int major = magic[6];
      int headerLen;
      if (major == 1) {
        byte[] h = in.readNBytes(2);
        headerLen = h.length < 2 ? -1 : (h[0] & 0xff) | (h[1] & 0xff) << 8;
      } else if (major == 2 || major == 3) {
        byte[] h = in.readNBytes(4);
        headerLen = h.length < 4 ? -1 : ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN).getInt();
      } else {
        throw MeshcException.input("%s: .npy version %d is not supported", file, major);
      }
      if (headerLen < 0) {
        throw MeshcException.input("%s: .npy header length %d is out of range", file, headerLen);
      }
      if (headerLen > limits.npyHeaderBytes()) {
        throw Limits.exceeded(file, "the .npy header's length in bytes", headerLen, "npy-header-bytes",
            limits.npyHeaderBytes());
      }
      byte[] hb = in.readNBytes(headerLen);
      if (hb.length < headerLen) {
        throw MeshcException.input("%s: truncated .npy header", file);
      }
      String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
      Matcher d = DESCR.matcher(header);
      Matcher f = FORTRAN.matcher(header);
      Matcher s = SHAPE.matcher(header);
      if (!d.find() || !f.find() || !s.find()) {
        throw MeshcException.input("%s: .npy header lacks descr, fortran_order or shape: %s", file, header.trim());
      }
      if (f.group(1).equals("True")) {
        throw MeshcException.input("%s: Fortran-order arrays are not supported; save with np.ascontiguousarray", file);
      }
      if (d.group(1).equals(">")) {
        throw MeshcException.input("%s: big-endian arrays are not supported", file);
      }
      DType dt = dtype(d.group(2), Integer.parseInt(d.group(3)), file);
      Shape shape = parseShape(s.group(1), file);
      long bytes = Math.multiplyExact(shape.elements(), (long) dt.bytes());
      if (bytes > Integer.MAX_VALUE - 8) {
        throw MeshcException.input("%s: array of %d bytes is too large", file, bytes);
      }
      byte[] data = in.readNBytes((int) bytes);
      if (data.length < bytes) {
        throw MeshcException.input("%s: .npy data is truncated (%d of %d bytes)", file, data.length, bytes);
      }
      return decode(dt, shape, ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN));
    } catch (IOException e) {
      throw MeshcException.input("%s: cannot read: %s", file, e.getMessage());
    } catch (ArithmeticException e) {
      throw MeshcException.input("%s: .npy shape overflows", file);
    }
  }

  private static DType dtype(String kind, int size, Path file) {
    String key = kind + size;
    return switch (key) {
      case "f4" -> DType.F32;
      case "f2" -> DType.F16;
      case "f8" -> DType.F64;
      case "i8" -> DType.I64;
      case "i4" -> DType.I32;
      case "i2" -> DType.I16;
      case "i1" -> DType.I8;
      case "u1" -> DType.U8;
      case "b1" -> DType.BOOL;
      default -> throw MeshcException.input("%s: .npy dtype '%s' is not supported", file, key);
    };
  }

  private static Shape parseShape(String text, Path file) {
    List<Long> dims = new ArrayList<>();
    for (String p : text.split(",")) {
      String t = p.trim();
      if (t.isEmpty()) {
        continue;
      }
      try {
        dims.add(Long.parseLong(t.replace("L", "")));
      } catch (NumberFormatException e) {
        throw MeshcException.input("%s: bad .npy shape (%s)", file, text);
      }
    }
    return Shape.of(dims);
  }

  private static Tensor decode(DType dt, Shape shape, ByteBuffer b) {
    int n = shape.elementsAsInt();
    if (dt.isFloating()) {
      float[] f = new float[n];
      for (int i = 0; i < n; i++) {
        f[i] = dt == DType.F32 ? b.getFloat() : dt == DType.F16 ? Fp16.toFloat(b.getShort()) : (float) b.getDouble();
      }
      return Tensor.ofFloats(dt, shape, f);
    }
    long[] l = new long[n];
    for (int i = 0; i < n; i++) {
      l[i] = switch (dt) {
        case I64 -> b.getLong();
        case I32 -> b.getInt();
        case I16 -> b.getShort();
        case I8 -> b.get();
        case U8 -> b.get() & 0xff;
        default -> b.get() != 0 ? 1 : 0;
      };
    }
    return Tensor.ofLongs(dt, shape, l);
  }

  /** Writes {@code t} as .npy v1.0: floating types as float32, integers as int64, booleans as bool. */
  public static void write(Tensor t, OutputStream out) throws IOException {
    String descr = t.isFloating() ? "<f4" : t.dtype() == DType.BOOL ? "|b1" : "<i8";
    StringBuilder shape = new StringBuilder("(");
    for (int i = 0; i < t.shape().rank(); i++) {
      shape.append(t.shape().dim(i)).append(t.shape().rank() == 1 ? "," : i + 1 < t.shape().rank() ? ", " : "");
    }
    shape.append(')');
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    out.write(MAGIC);
    out.write(new byte[] {1, 0, (byte) (header.length() & 0xff), (byte) (header.length() >> 8)});
    out.write(header.getBytes(StandardCharsets.ISO_8859_1));
    int unit = t.isFloating() ? 4 : t.dtype() == DType.BOOL ? 1 : 8;
    ByteBuffer b = ByteBuffer.allocate(t.size() * unit).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < t.size(); i++) {
      if (t.isFloating()) {
        b.putFloat(t.floats()[i]);
      } else if (unit == 1) {
        b.put((byte) (t.longs()[i] != 0 ? 1 : 0));
      } else {
        b.putLong(t.longs()[i]);
      }
    }
    out.write(b.array());
  }
}
