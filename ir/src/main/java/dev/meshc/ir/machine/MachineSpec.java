package dev.meshc.ir.machine;

import dev.meshc.ir.MeshcException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The machine as PLMR sees it: a mesh of PEs with small memories, a colour budget per router,
 * per-hop and per-relay latency, link bandwidth and compute rate. Presets {@code wse2} and
 * {@code wse3} come from {@code <name>.properties} beside this class, where every number has its
 * source written next to it; any other machine is a file with the same keys.
 *
 * @param name                 what to call it in reports
 * @param fabricWidth          fabric columns (WSE-2: 757, the compile scripts' --fabric-dims)
 * @param fabricHeight         fabric rows (WSE-2: 996)
 * @param kernelOffsetX        first kernel column (4: memcpy takes 3 columns west plus a border)
 * @param kernelOffsetY        first kernel row (1: the border)
 * @param haloWidth            fabric columns a kernel needs beyond its own (7: a P-wide kernel needs P+7)
 * @param haloHeight           fabric rows a kernel needs beyond its own (2)
 * @param bytesPerPe           SRAM per PE (48 KiB on WSE-2)
 * @param programReserveBytes  of that, what code, stack and the memcpy runtime keep (an estimate)
 * @param routableColors       colours a router can route (24: IDs 0–23)
 * @param reservedColors       colour IDs the host-I/O framework keeps (21, 22, 23)
 * @param alpha                cycles per hop on a hardware-configured route
 * @param beta                 cycles per software relay stage (receive, combine, re-send)
 * @param waveletBits          bits a link moves per cycle per direction (one 32-bit wavelet)
 * @param fmacsPerCycle        fp16 multiply-accumulates per cycle per PE (effective)
 * @param clockHz              core clock, to turn cycles into seconds
 * @param stepOverhead         cycles every step of a layer program pays on top of its kernel or
 *                             collective (task activation, DSD set-up, synchronous stalls); the
 *                             planner's layer costs use it, single-kernel runs do not
 * @param waferLinkLatency     cycles for an activation to start arriving on the next wafer
 * @param waferLinkBytesPerCycle bytes per cycle between two wafers of a multi-wafer pipeline
 * @param queuePerColor        a PE's input and output queues are each bound to one colour for the
 *                             program's life (WSE-3, SDK 1.4), so a PE takes in at most as many
 *                             colours as it has queues to spare; decode then re-routes one set
 *                             of colours between its trees at run time (key {@code
 *                             queue_per_color}, default false)
 */
public record MachineSpec(String name, int fabricWidth, int fabricHeight, int kernelOffsetX, int kernelOffsetY,
    int haloWidth, int haloHeight, int bytesPerPe, int programReserveBytes, int routableColors,
    List<Integer> reservedColors, double alpha, double beta, int waveletBits, double fmacsPerCycle,
    double clockHz, double stepOverhead, double waferLinkLatency, double waferLinkBytesPerCycle,
    boolean queuePerColor) {

  public MachineSpec {
    reservedColors = List.copyOf(reservedColors);
    require(fabricWidth > haloWidth && fabricHeight > haloHeight, "the fabric is smaller than its halo");
    require(bytesPerPe > programReserveBytes && programReserveBytes >= 0, "bytes_per_pe must exceed program_reserve_bytes");
    require(routableColors > reservedColors.size(), "no routable colours are left after the reserved ones");
    // a WSE router has 24; meshc keeps a PE's colours as bits of a long (DecodeFabric.colorsAt)
    require(routableColors <= 64, "routable_colors is at most 64 (a WSE router has 24)");
    for (int c : reservedColors) {
      require(c >= 0 && c < routableColors, "reserved colour " + c + " is not among the routable ones");
    }
    require(alpha >= 0 && beta >= 0, "alpha and beta must be non-negative");
    require(waveletBits >= 16 && waveletBits % 16 == 0, "wavelet_bits must be a multiple of 16");
    require(fmacsPerCycle > 0 && clockHz > 0, "fmacs_per_cycle and clock_hz must be positive");
    require(stepOverhead >= 0 && waferLinkLatency >= 0, "step_overhead and wafer_link_latency must be non-negative");
    require(waferLinkBytesPerCycle > 0, "wafer_link_bytes_per_cycle must be positive");
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw MeshcException.input("machine spec: %s", what);
    }
  }

  /** Columns a kernel can use: the fabric less the memcpy halo. */
  public int kernelWidth() {
    return fabricWidth - haloWidth;
  }

  public int kernelHeight() {
    return fabricHeight - haloHeight;
  }

  /** The side of the largest square kernel (750 on WSE-2). */
  public int maxSquareGrid() {
    return Math.min(kernelWidth(), kernelHeight());
  }

  /** Colours a kernel may use: the routable ones less the reserved. */
  public int colorBudget() {
    return routableColors - reservedColors.size();
  }

  /** Bytes a kernel's buffers may take on one PE. */
  public int bufferBudget() {
    return bytesPerPe - programReserveBytes;
  }

  /** fp16 values per wavelet (2 for 32-bit wavelets). */
  public int halvesPerWavelet() {
    return waveletBits / 16;
  }

  /** Cycles to move {@code bytes} to the next wafer of a pipeline over the system's links. */
  public double waferLinkCycles(long bytes) {
    return waferLinkLatency + bytes / waferLinkBytesPerCycle;
  }

  /** Wavelets to move {@code halves} fp16 values. */
  public long wavelets(long halves) {
    return (halves + halvesPerWavelet() - 1) / halvesPerWavelet();
  }

  /** The physical colour ID of logical colour {@code k}: the k-th ID that is not reserved. */
  public int physicalColor(int k) {
    int seen = 0;
    for (int id = 0; id < routableColors; id++) {
      if (!reservedColors.contains(id)) {
        if (seen == k) {
          return id;
        }
        seen++;
      }
    }
    throw MeshcException.input("%s has %d usable colours; colour %d does not exist", name, colorBudget(), k);
  }

  public double seconds(double cycles) {
    return cycles / clockHz;
  }

  /** Fails naming the limit when a grid does not fit the fabric. */
  public void checkGrid(int width, int height) {
    if (width < 1 || height < 1 || width > kernelWidth() || height > kernelHeight()) {
      throw MeshcException.input("a %dx%d grid does not fit %s: kernels can use at most %dx%d PEs (fabric %dx%d "
          + "less a %d-column, %d-row memcpy halo)", width, height, name, kernelWidth(), kernelHeight(), fabricWidth,
          fabricHeight, haloWidth, haloHeight);
    }
  }

  // ---- presets and files ----------------------------------------------------------------------

  /** A preset by name ({@code wse2}, {@code wse3}) or a machine file by path. */
  public static MachineSpec load(String nameOrFile) {
    String key = nameOrFile.toLowerCase(Locale.ROOT);
    if (key.equals("wse2") || key.equals("wse3")) {
      try (InputStream in = MachineSpec.class.getResourceAsStream(key + ".properties")) {
        return parse(in, key);
      } catch (IOException e) {
        throw new IllegalStateException("preset " + key + " is missing from the jar", e);
      }
    }
    Path p = Path.of(nameOrFile);
    if (!Files.isRegularFile(p)) {
      throw MeshcException.input("--machine %s: not a preset (wse2, wse3) and no such file", nameOrFile);
    }
    try (Reader r = Files.newBufferedReader(p)) {
      Properties props = new Properties();
      props.load(r);
      return fromProperties(props, p.toString());
    } catch (IOException e) {
      throw MeshcException.input("--machine %s: cannot read: %s", nameOrFile, e.getMessage());
    }
  }

  private static MachineSpec parse(InputStream in, String what) throws IOException {
    Properties props = new Properties();
    props.load(in);
    return fromProperties(props, what);
  }

  /** Builds a spec from {@code key = value} lines (the preset files show every key). */
  public static MachineSpec fromProperties(Properties p, String what) {
    List<Integer> reserved = new ArrayList<>();
    for (String s : get(p, "reserved_colors", what).split(",")) {
      if (!s.isBlank()) {
        reserved.add((int) number(s.trim(), "reserved_colors", what));
      }
    }
    return new MachineSpec(get(p, "name", what),
        (int) num(p, "fabric_width", what), (int) num(p, "fabric_height", what),
        (int) num(p, "kernel_offset_x", what), (int) num(p, "kernel_offset_y", what),
        (int) num(p, "halo_width", what), (int) num(p, "halo_height", what),
        (int) num(p, "bytes_per_pe", what), (int) num(p, "program_reserve_bytes", what),
        (int) num(p, "routable_colors", what), reserved,
        num(p, "alpha", what), num(p, "beta", what), (int) num(p, "wavelet_bits", what),
        num(p, "fmacs_per_cycle", what), num(p, "clock_hz", what), num(p, "step_overhead", what),
        num(p, "wafer_link_latency", what), num(p, "wafer_link_bytes_per_cycle", what),
        bool(p, "queue_per_color", what));
  }

  private static String get(Properties p, String key, String what) {
    String v = p.getProperty(key);
    if (v == null) {
      throw MeshcException.input("machine spec %s: missing key '%s'", what, key);
    }
    return v.trim();
  }

  private static boolean bool(Properties p, String key, String what) {
    String v = p.getProperty(key, "false").trim();
    if (!v.equals("true") && !v.equals("false")) {
      throw MeshcException.input("machine spec %s: '%s' = '%s' is not true or false", what, key, v);
    }
    return v.equals("true");
  }

  private static double num(Properties p, String key, String what) {
    return number(get(p, key, what), key, what);
  }

  private static double number(String v, String key, String what) {
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw MeshcException.input("machine spec %s: '%s' = '%s' is not a number", what, key, v);
    }
  }
}
