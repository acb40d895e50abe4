package dev.meshc.backends.csl;

import dev.meshc.ir.MeshcException;
import dev.meshc.ir.kernel.DecodeFabric;
import dev.meshc.ir.kernel.Handoff;
import dev.meshc.ir.kernel.GemvKernel;
import dev.meshc.ir.kernel.KTree;
import dev.meshc.ir.kernel.KTreeAllReduce;
import dev.meshc.ir.kernel.KernelTemplate;
import dev.meshc.ir.kernel.Kernels;
import dev.meshc.ir.kernel.Route;
import dev.meshc.ir.machine.MachineSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A Cerebras SDK project meshc wrote: file name → text, in a stable order, and the manifest
 * ({@value #MANIFEST}) that lets {@code meshc check-csl} rebuild the kernel template it came from.
 */
public record CslProject(Map<String, String> files) {
  public static final String MANIFEST = "meshc-project.properties";
  public static final String FORMAT = "meshc-csl 1";

  public CslProject {
    files = Collections.unmodifiableMap(new TreeMap<>(files));
  }

  /** Writes every file into {@code dir} (a multi-wafer project's wafer-N/ folders included). */
  public void writeTo(java.nio.file.Path dir) throws java.io.IOException {
    for (Map.Entry<String, String> f : files.entrySet()) {
      java.nio.file.Path p = dir.resolve(f.getKey());
      java.nio.file.Files.createDirectories(p.getParent());
      java.nio.file.Files.writeString(p, f.getValue(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /** The project's size: every file's UTF-8 bytes. */
  public long bytes() {
    return files.values().stream().mapToLong(v -> v.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).sum();
  }

  /** The SDK a machine's projects follow. */
  public enum Target {
    WSE2("wse2", "1.2"), WSE3("wse3", "1.4");

    public final String arch;
    public final String sdk;

    Target(String arch, String sdk) {
      this.arch = arch;
      this.sdk = sdk;
    }

    /** wse2 and wse3 presets; any other machine file is refused (which SDK it follows is unknown). */
    public static Target of(MachineSpec m) {
      for (Target t : values()) {
        if (t.arch.equals(m.name())) {
          return t;
        }
      }
      throw MeshcException.input("CSL is emitted for wse2 (SDK 1.2) or wse3 (SDK 1.4), not machine '%s'", m.name());
    }
  }

  /** What a project's manifest says. */
  public record Manifest(String algorithm, KernelTemplate.Problem problem, int width, int height, int groups,
      String machine, Map<String, Object> params, List<int[]> regions, List<int[]> handoffs, List<long[]> planRegions) {
    /** The template the project was rendered from. */
    public KernelTemplate template() {
      return Kernels.create(algorithm, problem, width, height, false, groups);
    }

    /**
     * The routes as the templates have them, in physical colour IDs: the kernel's, or for a decode
     * project the {@link DecodeFabric} of the region holding each PE (none outside), re-routed at
     * run time where queues are bound to colours (WSE-3).
     */
    public CslChecker.Template routing(MachineSpec m) {
      boolean rerouted = algorithm.equals("decode") && m.queuePerColor();
      return new CslChecker.Template() {
        @Override
        public List<Route> routes(int x, int y) {
          return physical(m, x, y, null);
        }

        @Override
        public List<String> configurations() {
          return rerouted ? DecodeFabric.CONFIGS : List.of();
        }

        @Override
        public List<Route> routes(String config, int x, int y) {
          return physical(m, x, y, config);
        }
      };
    }

    private List<Route> physical(MachineSpec m, int x, int y, String config) {
      List<Route> logical = new ArrayList<>();
      if (algorithm.equals("decode")) {
        for (int[] reg : regions) {
          if (x >= reg[0] && x < reg[0] + reg[2] && y >= reg[1] && y < reg[1] + reg[2]) {
            DecodeFabric f = fabric(reg[2], m.queuePerColor());
            logical.addAll(config == null ? f.routes(x - reg[0], y - reg[1]) : f.routes(config, x - reg[0], y - reg[1]));
          }
        }
        // the hand-offs' routes are static: every configuration keeps them
        for (int[] h : handoffs) {
          Handoff t = handoff(h);
          int hx = x - t.originX();
          int hy = y - t.originY();
          if (hx >= 0 && hx < t.width() && hy >= 0 && hy < t.height()) {
            t.routes(hx, hy).forEach(r -> logical.add(new Route(h[5], r.rx(), r.tx())));
          }
        }
      } else {
        logical.addAll(template().routes(x, y));
      }
      List<Route> r = new ArrayList<>();
      for (Route route : logical) {
        r.add(new Route(m.physicalColor(route.color()), route.rx(), route.tx()));
      }
      return r;
    }

    /** A manifest's hand-off (ax, ay, bx, by, p, colour) as the template lays it, the residual's width its problem's k. */
    private Handoff handoff(int[] h) {
      return HANDOFFS.computeIfAbsent(List.of(h[0], h[1], h[2], h[3], h[4], (int) problem.k()),
          k -> Handoff.between(h[0], h[1], h[2], h[3], h[4], problem.k(), 0));
    }

    static Manifest read(Properties p, String where) {
      try {
        if (!FORMAT.equals(p.getProperty("format"))) {
          throw MeshcException.input("%s: format '%s', not '%s'", where, p.getProperty("format"), FORMAT);
        }
        String[] shape = p.getProperty("problem").split("x");
        String[] grid = p.getProperty("grid").split("x");
        Map<String, Object> params = new LinkedHashMap<>();
        for (String kv : p.getProperty("params").split(",")) {
          if (!kv.isEmpty()) {
            String[] a = kv.split(":");
            params.put(a[0], Long.parseLong(a[1]));
          }
        }
        List<int[]> regions = new ArrayList<>();
        for (String r : p.getProperty("regions", "").split(";")) {
          if (!r.isEmpty()) {
            String[] a = r.split(",");
            regions.add(new int[] {Integer.parseInt(a[0]), Integer.parseInt(a[1]), Integer.parseInt(a[2])});
          }
        }
        List<int[]> handoffs = new ArrayList<>();
        for (String h : p.getProperty("handoffs", "").split(";")) {
          if (!h.isEmpty()) {
            handoffs.add(java.util.Arrays.stream(h.split(",")).mapToInt(Integer::parseInt).toArray());
            if (handoffs.get(handoffs.size() - 1).length != 6) {
              throw new IllegalArgumentException("a hand-off is ax,ay,bx,by,p,colour: " + h);
            }
          }
        }
        // a decode region's index, and bytes, colours, input and output queues per PE as planned
        List<long[]> planRegions = new ArrayList<>();
        for (String b : p.getProperty("plan_regions", "").split(";")) {
          if (!b.isEmpty()) {
            planRegions.add(java.util.Arrays.stream(b.split(":")).mapToLong(Long::parseLong).toArray());
            if (planRegions.get(planRegions.size() - 1).length != 5) {
              throw new IllegalArgumentException("a planned region is index:bytes:colours:inputs:outputs: " + b);
            }
          }
        }
        if (!planRegions.isEmpty() && planRegions.size() != regions.size()) {
          throw new IllegalArgumentException("plan_regions has " + planRegions.size() + " regions, regions "
              + regions.size());
        }
        return new Manifest(p.getProperty("algorithm"), new KernelTemplate.Problem(Long.parseLong(shape[0]),
            Long.parseLong(shape[1]), Long.parseLong(shape[2])), Integer.parseInt(grid[0]), Integer.parseInt(grid[1]),
            Integer.parseInt(p.getProperty("groups")), p.getProperty("machine"), params, regions, handoffs, planRegions);
      } catch (RuntimeException e) {
        if (e instanceof MeshcException me) {
          throw me;
        }
        throw MeshcException.input("%s: not a meshc project manifest (%s)", where, e.getMessage());
      }
    }
  }

  /**
   * The project for one MeshGEMV y[1,N] = x[1,K]·W[K,N] on a width × height kernel, as the SDK
   * of {@code m} builds it (fp16 accumulation: WSE's {@code @fmach}).
   */
  public static CslProject meshGemv(KernelTemplate.Problem p, int width, int height, int groups, MachineSpec m) {
    return GemvCsl.emit(p, width, height, groups, m);
  }

  /** The project for one dist-GEMM-T C = A·Bᵀ on a P×P kernel (fp16 accumulation), B never transposed. */
  public static CslProject distGemmT(KernelTemplate.Problem p, int grid, MachineSpec m) {
    return GemmTCsl.emit(p, grid, m);
  }

  /** The project for one MeshGEMM C = A·B on a P×P kernel (fp16 accumulation). */
  public static CslProject meshGemm(KernelTemplate.Problem p, int grid, MachineSpec m) {
    return GemmCsl.emit(p, grid, m);
  }

  /** The manifest text: sorted keys, no timestamp (Properties.store writes one). */
  static String manifest(String algorithm, KernelTemplate.Problem p, int width, int height, int groups, MachineSpec m,
      String params) {
    return "# meshc: what meshc check-csl rebuilds this project's kernel template from\n"
        + "format=" + FORMAT + "\n"
        + "algorithm=" + algorithm + "\n"
        + "problem=" + p + "\n"
        + "grid=" + width + "x" + height + "\n"
        + "groups=" + groups + "\n"
        + "machine=" + m.name() + "\n"
        + "params=" + params + "\n";
  }

  /**
   * Each region's router program, by side, kind and the K-tree's groups there (one per size: a
   * 750-wide region answers in O(1)).
   */
  private static final Map<List<Integer>, Handoff> HANDOFFS = new java.util.concurrent.ConcurrentHashMap<>();
  private static final Map<List<Integer>, DecodeFabric> FABRICS = new java.util.concurrent.ConcurrentHashMap<>();

  static DecodeFabric fabric(int p, boolean rerouted) {
    int groups = KTree.defaultGroups(p);
    return FABRICS.computeIfAbsent(List.of(p, rerouted ? 1 : 0, groups), k -> new DecodeFabric(p, groups, rerouted));
  }

  /**
   * A decoder's decode plan as a project for {@code m}: {@code module} is the model lifted at one
   * token, carrying its decode placement; {@code theta} is RoPE's θ per rope op from a longer trace
   * (null when there is none); {@code modelPath} is the ONNX file the host script loads weights from.
   */
  public static CslProject decode(dev.meshc.ir.Module module, float[] theta, String modelPath, MachineSpec m) {
    dev.meshc.ir.Placement plan = module.placements().stream().filter(p -> p.phase().equals("decode")).findFirst()
        .orElseThrow(() -> MeshcException.input("%s has no decode plan: compile it with --phase decode or both",
            module.name()));
    return DecodeCsl.emit(module, theta, plan, m, modelPath);
  }

  /** The K-tree of a MeshGEMV column: its group size, as the template computes it. */
  static KTree tree(GemvKernel t) {
    return ((KTreeAllReduce) t.allReduce()).tree();
  }
}
