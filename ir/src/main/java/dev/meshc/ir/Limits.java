package dev.meshc.ir;

import java.util.List;
import java.util.Locale;

/**
 * What meshc reads from a stranger's file before it refuses the file as hostile or broken. Each
 * limit has a default that real inputs stay far below and can be raised ({@code --limit NAME=N},
 * the Maven plugin's {@code limits}); crossing one is a one-line {@link #exceeded} error.
 *
 * @param modelBytes     the .onnx file (protobuf itself stops at 2 GiB; weights beyond go external)
 * @param nodes          graph nodes
 * @param elements       elements of one tensor (an initializer or a bound input)
 * @param nameBytes      characters of a node, value or attribute name, or of a string attribute
 * @param protoDepth     protobuf messages nested in the .onnx file (each subgraph adds three)
 * @param npyHeaderBytes a .npy file's header (NumPy writes about 100 bytes)
 * @param cslBytes       one CSL file
 * @param comptimeSteps  steps of one comptime evaluation (a layout, or a PE program's arrays)
 * @param layoutPes      PEs in a CSL layout's rectangle
 */
public record Limits(long modelBytes, long nodes, long elements, long nameBytes, long protoDepth, long npyHeaderBytes,
    long cslBytes, long comptimeSteps, long layoutPes) {
  /** Protobuf reads one message of at most this many bytes. */
  public static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - 1L;

  /** meshc's layout evaluator holds at most this many PEs: a WSE fabric is under a million. */
  public static final long MAX_LAYOUT_PES = 1L << 20;

  /** The defaults; a decode layout of a whole WSE-2 takes about 10⁹ comptime steps. */
  public static final Limits DEFAULTS = new Limits(MAX_MODEL_BYTES, 1_000_000, 1L << 40, 65_536, 64, 65_536,
      16L << 20, 4_000_000_000L, MAX_LAYOUT_PES);

  /** The names {@code --limit} takes, in the order of the fields. */
  public static final List<String> NAMES = List.of("model-bytes", "nodes", "elements", "name-bytes", "proto-depth",
      "npy-header-bytes", "csl-bytes", "comptime-steps", "layout-pes");

  public Limits {
    for (long v : new long[] {modelBytes, nodes, elements, nameBytes, protoDepth, npyHeaderBytes, cslBytes,
        comptimeSteps, layoutPes}) {
      if (v < 1) {
        throw MeshcException.input("limits must be positive");
      }
    }
    if (modelBytes > MAX_MODEL_BYTES) {
      throw MeshcException.input("--limit model-bytes=%d: protobuf reads at most %d bytes; store weights as "
          + "external data instead", modelBytes, MAX_MODEL_BYTES);
    }
    if (layoutPes > MAX_LAYOUT_PES) {
      throw MeshcException.input("--limit layout-pes=%d: meshc's layout evaluator holds at most %d PEs (a WSE "
          + "fabric is under a million)", layoutPes, MAX_LAYOUT_PES);
    }
    // the depth is protobuf's int; a header and a CSL file are read whole into arrays, which an int indexes
    long most = Integer.MAX_VALUE - 16;
    if (protoDepth > most || npyHeaderBytes > most || cslBytes > most) {
      throw MeshcException.input("--limit proto-depth, npy-header-bytes and csl-bytes go up to %d", most);
    }
  }

  /** These limits with {@code NAME=N} applied. */
  public Limits with(String setting) {
    int eq = setting.indexOf('=');
    String name = eq < 0 ? setting : setting.substring(0, eq);
    long v;
    try {
      v = Long.parseLong(setting.substring(eq + 1).replace("_", ""));
    } catch (RuntimeException e) {
      throw MeshcException.input("--limit %s: expected NAME=N with N a whole number; names: %s", setting,
          String.join(", ", NAMES));
    }
    int i = NAMES.indexOf(name);
    if (i < 0) {
      throw MeshcException.input("--limit %s: no limit '%s'; meshc has %s", setting, name, String.join(", ", NAMES));
    }
    long[] a = values();
    a[i] = v;
    return new Limits(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
  }

  /** These limits with every {@code NAME=N} of {@code settings} applied, in order. */
  public Limits with(List<String> settings) {
    Limits l = this;
    for (String s : settings) {
      l = l.with(s);
    }
    return l;
  }

  /** The values, in the order of {@link #NAMES}. */
  public long[] values() {
    return new long[] {modelBytes, nodes, elements, nameBytes, protoDepth, npyHeaderBytes, cslBytes, comptimeSteps,
        layoutPes};
  }

  /** The one line that refuses {@code where} for crossing limit {@code name}, whose value is {@code limit}. */
  public static MeshcException exceeded(Object where, String what, long value, String name, long limit) {
    return exceeded(where, what, value == Long.MAX_VALUE ? "more than 2^63" : String.format(Locale.ROOT, "%,d", value),
        name, limit);
  }

  /** As above, with the value as text ({@code "more than 64"} where the reader stopped counting). */
  public static MeshcException exceeded(Object where, String what, String value, String name, long limit) {
    return MeshcException.input(String.format(Locale.ROOT, "%s: %s (%s) is over the limit of %,d; raise it with "
        + "--limit %s=N if the file is meant to be this large", where, what, value, limit, name));
  }
}
