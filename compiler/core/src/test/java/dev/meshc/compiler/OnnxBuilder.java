package dev.meshc.compiler;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Builds small ONNX models for tests, including malformed ones. */
public final class OnnxBuilder {
  public static final int FLOAT = 1;
  public static final int INT64 = 7;

  private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
  private long irVersion = 8;
  private long opset = 17;
  private String domain = "";

  public OnnxBuilder ir(long v) {
    irVersion = v;
    return this;
  }

  public OnnxBuilder opset(long v) {
    opset = v;
    return this;
  }

  public OnnxBuilder opsetDomain(String d) {
    domain = d;
    return this;
  }

  /** A graph input or output; each dim is a Number (fixed) or a String (dynamic, by name). */
  private static ValueInfoProto info(String name, int type, Object... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      s.addDim(d instanceof Number n ? TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue())
          : TensorShapeProto.Dimension.newBuilder().setDimParam((String) d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
  }

  public OnnxBuilder input(String name, int type, Object... dims) {
    graph.addInput(info(name, type, dims));
    return this;
  }

  public OnnxBuilder output(String name, int type, Object... dims) {
    graph.addOutput(info(name, type, dims));
    return this;
  }

  public OnnxBuilder floats(String name, long[] dims, float... data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : data) {
      b.putFloat(f);
    }
    graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(box(dims))
        .setRawData(ByteString.copyFrom(b.array())));
    return this;
  }

  public OnnxBuilder ints(String name, long[] dims, long... data) {
    graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(INT64).addAllDims(box(dims))
        .addAllInt64Data(box(data)));
    return this;
  }

  /** A float initializer whose bytes live in an external file (which need not exist). */
  public OnnxBuilder external(String name, long[] dims, String location, long offset, long length) {
    graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(box(dims))
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
        .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
        .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(length))));
    return this;
  }

  /** A node; attributes as name, value pairs (Long, Float, String, long[]). */
  public OnnxBuilder node(String op, List<String> in, List<String> out, Object... attrs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(op + "_" + graph.getNodeCount())
        .addAllInput(in).addAllOutput(out);
    for (int i = 0; i < attrs.length; i += 2) {
      AttributeProto.Builder a = AttributeProto.newBuilder().setName((String) attrs[i]);
      Object v = attrs[i + 1];
      if (v instanceof Long l) {
        a.setType(AttributeProto.AttributeType.INT).setI(l);
      } else if (v instanceof Float f) {
        a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
      } else if (v instanceof String s) {
        a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
      } else {
        a.setType(AttributeProto.AttributeType.INTS).addAllInts(box((long[]) v));
      }
      n.addAttribute(a);
    }
    graph.addNode(n);
    return this;
  }

  /** A node in another domain. */
  public OnnxBuilder customNode(String domainName, String op, List<String> in, List<String> out) {
    graph.addNode(NodeProto.newBuilder().setOpType(op).setDomain(domainName).setName("custom").addAllInput(in)
        .addAllOutput(out));
    return this;
  }

  public ModelProto build() {
    return ModelProto.newBuilder().setIrVersion(irVersion).setProducerName("meshc-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(opset)).setGraph(graph).build();
  }

  public Path write(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, build().toByteArray());
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Long> box(long[] v) {
    return java.util.Arrays.stream(v).boxed().toList();
  }

  /** x[batch, 4] · w[4, 3] + b: a one-Linear model, the smallest thing that lifts. */
  public static OnnxBuilder linear() {
    float[] w = new float[12];
    for (int i = 0; i < w.length; i++) {
      w[i] = (i % 5) * 0.25f - 0.5f;
    }
    return new OnnxBuilder()
        .input("x", FLOAT, "batch", 4)
        .output("y", FLOAT, "batch", 3)
        .floats("w", new long[] {4, 3}, w)
        .floats("b", new long[] {3}, 0.1f, -0.2f, 0.3f)
        .node("MatMul", List.of("x", "w"), List.of("xw"))
        .node("Add", List.of("xw", "b"), List.of("y"));
  }
}
