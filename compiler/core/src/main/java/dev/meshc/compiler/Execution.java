package dev.meshc.compiler;

import dev.meshc.backends.mesh.MeshDecoder;
import dev.meshc.backends.mesh.MeshExecutor;
import dev.meshc.compiler.io.Npy;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.plan.ModelShape;
import dev.meshc.compiler.plan.Placements;
import dev.meshc.compiler.plan.Plan;
import dev.meshc.compiler.plan.PlanDir;
import dev.meshc.compiler.plan.Planner;
import dev.meshc.compiler.plan.Workload;
import dev.meshc.ir.Limits;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.Placement;
import dev.meshc.ir.Resequence;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.eval.SyntheticWeights;
import dev.meshc.ir.eval.WeightStore;
import dev.meshc.ir.kernel.KernelProgram;
import dev.meshc.ir.machine.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code meshc run} as a library call, for the CLI and the Maven plugin alike: a plan that {@code
 * meshc compile --emit plan} wrote, executed on the Java mesh runtime with the weights streamed
 * from its ONNX file — a prefill on given inputs, or greedy generation from prompt ids — and its
 * outputs held to a reference.
 */
public final class Execution {
  private Execution() {}

  /** The Pearson correlation below which an op (or an output) diverges from its reference. */
  public static final double MIN_PCC = 0.999;

  /**
   * How to run: partial sums in fp32 or fp16; the caps on what is read; an injected fault (or
   * null); the seed of synthetic weights ({@link SyntheticWeights}), or null for the model's own.
   */
  public record Options(boolean fp32, Limits limits, MeshExecutor.Fault fault, Long syntheticWeights) {
    public Options(boolean fp32, Limits limits, MeshExecutor.Fault fault) {
      this(fp32, limits, fault, null);
    }

    /** Where the weights of {@code f}'s module come from under these options. */
    WeightStore weights(Frontend f) {
      return syntheticWeights == null ? f.weights() : SyntheticWeights.of(f.module(), syntheticWeights);
    }
  }

  /**
   * A prefill: the model's outputs, the ops run on the mesh and on the host, the simulated mesh
   * cycles, the plan's prediction, and (when asked) the first op that diverges from the fp32
   * reference evaluator (null when none does).
   */
  public record Prefill(Map<String, Tensor> outputs, long meshOps, long hostOps, double meshCycles,
      long predictedCycles, long predictedCyclesPerLayer, long promptLen, Optional<MeshExecutor.Divergence> divergence,
      Program program) {
    public Prefill {
      outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs)); // the model's order
    }
  }

  /**
   * The plan's kernel program against the one the runtime executed: kernel runs in each (host ops
   * left out), whether the two are the same list, the first place they differ (or null), the
   * simulated cycles (the kernels, the hand-offs between regions and their step overheads; the
   * plan's prediction is {@link Prefill#predictedCycles}) and the plan's hand-off cycles.
   */
  public record Program(long planKernels, long executedKernels, boolean same, String firstDifference,
      double simulatedCycles, long predictedHandoffCycles) {}

  /**
   * Greedy generation: the ids generated, how they were made, the simulated mesh cycles, the
   * plan's decode cycles per token (null without a decode phase), the KV cache's occupancy spread
   * across rows (-1 when not kept) and the MeshGEMVs per token by axis (empty when not decoded);
   * when decoded, the plan's decode program against the one executed, and the simulated cycles
   * per token (kernels and their step overheads, the mean over the steps).
   */
  public record Generation(List<Long> generated, String mode, double meshCycles, Long predictedCyclesPerToken,
      int kvOccupancySpread, Map<String, Integer> gemvsPerToken, Program program, Double simulatedCyclesPerToken) {
    public Generation {
      generated = List.copyOf(generated);
      gemvsPerToken = Collections.unmodifiableMap(new LinkedHashMap<>(gemvsPerToken));
    }
  }

  /** One output held to its reference: Pearson correlation, max abs difference, and whether it passes. */
  public record OutputCheck(String output, Path reference, double pcc, double maxAbsError, boolean ok) {}

  /**
   * Runs the prefill of {@code p} on {@code inputs} (a value for every model input); with {@code
   * check}, also the reference evaluator, to name the first op whose mesh result diverges.
   */
  public static Prefill prefill(PlanDir.Loaded p, Map<String, Tensor> inputs, Options o, boolean check,
      Progress progress) {
    Placement prefill = phase(p, "prefill").orElseThrow(() -> MeshcException.input(
        "%s has no prefill plan: compile with --phase prefill or both", p.manifest().model()));
    progress.start("meshc run", check ? 4 : 3);
    try {
      progress.step(o.syntheticWeights() != null ? "synthetic weights, seed " + o.syntheticWeights()
          : "streaming weights from " + p.model().getFileName());
      Frontend f = Frontend.load(p.model(), bindings(p), o.limits());
      MachineSpec m = MachineSpec.load(p.manifest().machine());
      List<List<Tensor>> perOp = new ArrayList<>(); // the mesh's result of every op, for check
      progress.step("prefill on the mesh runtime (" + p.module().ops().size() + " ops)");
      MeshExecutor.Result r = MeshExecutor.prefill(p.module(), inputs, o.weights(f), m, o.fp32(), o.fault(),
          (op, res) -> {
            if (check) {
              perOp.add(res);
            }
          });
      MeshExecutor.Divergence bad = null;
      if (check) {
        progress.step("checking every op against the reference evaluator");
        bad = MeshExecutor.check(p.module(), inputs, o.weights(f), perOp, MIN_PCC);
      }
      progress.step("done");
      return new Prefill(r.outputs(), r.meshOps(), r.hostOps(), r.meshCycles(),
          prefill.info().getInt("cycles", 0), prefill.regions().get(0).info().getInt("cycles_per_layer", 0),
          Math.max(1, prefill.info().getInt("prompt_len", 1)), Optional.ofNullable(bad), program(prefill, r, m));
    } finally {
      progress.finish();
    }
  }

  /**
   * Greedy generation of {@code maxNew} ids after {@code promptIds}: by decode steps on the mesh
   * when the plan has a decode phase and the model rotary positions, else by recomputing the
   * prefill for each new token at the plan's prefill grid.
   */
  public static Generation generate(PlanDir.Loaded p, long[] promptIds, int maxNew, Options o, Progress progress) {
    if (maxNew < 1 || promptIds.length == 0) {
      throw MeshcException.input("--prompt-ids needs at least one id and --max-new-tokens at least 1");
    }
    Module module = p.module();
    if (module.inputs().size() != 1 || module.outputs().size() != 1) {
      throw MeshcException.input("generation needs a model with one input (the token ids) and one output (the "
          + "logits); %s has %d and %d", module.name(), module.inputs().size(), module.outputs().size());
    }
    String input = module.inputs().get(0).name();
    Placement decodePlan = phase(p, "decode").orElse(null);
    float[] theta = MeshDecoder.thetas(module);
    if (decodePlan != null && !decodePlan.regions().isEmpty() && theta != null) {
      return decode(p, input, decodePlan, theta, promptIds, maxNew, o, progress);
    }
    return recompute(p, input, promptIds, maxNew, o, progress);
  }

  /**
   * A timing-only run of one phase: the plan's prediction against the simulation of its program
   * (every kernel and move, no values), in total and per token (prefill: per prompt token; decode:
   * the one step simulated, at the plan's context), and the program compared with the plan's.
   */
  public record Timing(String phase, long tokens, long predictedCycles, Program program) {
    public double simulatedCycles() {
      return program.simulatedCycles();
    }
  }

  /**
   * Runs phase {@code phase} of {@code p} for time alone ({@link MeshExecutor#timing}): no input
   * values and no weights, so a plan of a model of shapes alone runs at full size.
   */
  public static Timing timing(PlanDir.Loaded p, String phase, Options o, Progress progress) {
    Placement plan = phase(p, phase).orElseThrow(() -> MeshcException.input(
        "%s has no %s plan: compile with --phase %s or both", p.manifest().model(), phase, phase));
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    progress.start("meshc run --timing-only", 2);
    try {
      Module module = p.module();
      long context = 0;
      if (phase.equals("decode")) {
        if (module.inputs().size() != 1) {
          throw MeshcException.input("a decode step needs a model with one input (the token ids); %s has %d",
              module.name(), module.inputs().size());
        }
        progress.step("lifting " + p.model().getFileName() + " at one token");
        module = atLength(p, module.inputs().get(0).name(), 1, o.limits()).module().withPlacements(List.of(plan));
        context = plan.info().getInt("max_context", 1);
      } else {
        progress.step("reading the plan");
      }
      progress.step(phase + " on the mesh runtime, timing only (" + module.ops().size() + " ops)");
      MeshExecutor.Result r = MeshExecutor.timing(module, phase, m, o.fp32(), context);
      long tokens = phase.equals("decode") ? 1 : Math.max(1, plan.info().getInt("prompt_len", 1));
      return new Timing(phase, tokens, plan.info().getInt("cycles", 0), program(plan, r, m));
    } finally {
      progress.finish();
    }
  }

  /** The expected value of one output, and the file it was read from. */
  public record Reference(Path file, Tensor value) {}

  /**
   * Holds each output to its reference ({@link #references}; ONNX Runtime's, say): a Pearson
   * correlation of at least {@code minPcc}.
   */
  public static List<OutputCheck> compare(Map<String, Tensor> outputs, Map<String, Reference> references,
      double minPcc) {
    List<OutputCheck> checks = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
      Reference want = references.get(e.getKey());
      double[] d = MeshExecutor.compare(e.getValue().floats(), want.value().floats());
      checks.add(new OutputCheck(e.getKey(), want.file(), d[0], d[1], d[0] >= minPcc));
    }
    return checks;
  }

  /**
   * The reference of each output, read and checked before a run (so that a mistyped path or a
   * misshapen file fails before the work): {@code <prefix><output>.npy} in the folder {@code
   * reference}, or the file {@code reference} itself for a model with one output; floating, of the
   * output's shape. Anything else is an input error naming the file.
   */
  public static Map<String, Reference> references(Path reference, String prefix, List<Value> outputs, Limits limits) {
    boolean file = Files.isRegularFile(reference);
    if (file && outputs.size() != 1) {
      throw MeshcException.input("reference %s: a file holds one output, but the model has %d (%s): give a folder "
          + "with one <output>.npy each", reference, outputs.size(),
          String.join(", ", outputs.stream().map(Value::name).toList()));
    }
    if (!file && !Files.isDirectory(reference)) {
      throw MeshcException.input("reference %s: no such file or folder", reference);
    }
    Map<String, Reference> refs = new LinkedHashMap<>();
    for (Value o : outputs) {
      Path f = file ? reference : reference.resolve(prefix + Npy.fileName(o.name()));
      if (!Files.isRegularFile(f)) {
        throw MeshcException.input("reference %s: no %s for output '%s'", reference, f.getFileName(), o.name());
      }
      Tensor want = Npy.read(f, limits);
      if (!want.shape().equals(o.shape())) {
        throw MeshcException.input("reference %s: shape %s, but output '%s' is %s", f, want.shape(), o.name(),
            o.shape());
      }
      if (!want.dtype().isFloating() || !o.type().dtype().isFloating()) {
        throw MeshcException.input("reference %s: output '%s' is %s and the reference %s; only floating outputs are "
            + "compared", f, o.name(), o.type().dtype().irName(), want.dtype().irName());
      }
      refs.put(o.name(), new Reference(f, want));
    }
    return refs;
  }

  /**
   * The placed program of {@code plan} against what {@code r} executed, mesh kernels only (host
   * ops are free, and the ones before the first region are in no region's program).
   */
  private static Program program(Placement plan, MeshExecutor.Result r, MachineSpec m) {
    return program(plan, r.kernels(), r.simulatedCycles(), m);
  }

  private static Program program(Placement plan, List<KernelProgram.Invocation> kernels, double simulated,
      MachineSpec m) {
    List<String> placed = new ArrayList<>();
    long planned = 0;
    long handoffs = 0;
    for (Placement.Region region : plan.regions()) {
      handoffs += region.info().getInt("handoff_cycles", 0);
      for (Placement.Kernel k : region.kernels()) {
        if (!k.info().getString("algorithm", KernelProgram.HOST).equals(KernelProgram.HOST)) {
          placed.add(KernelProgram.Invocation.signature(k));
          planned += k.info().getInt("count", 1);
        }
      }
    }
    List<String> ran = new ArrayList<>();
    long executed = 0;
    for (KernelProgram.Invocation k : kernels) {
      if (k.template() != null) {
        ran.add(KernelProgram.Invocation.signature(k.toKernel(m))); // as the plan printed it
        executed += k.count();
      }
    }
    String diff = null;
    for (int i = 0; i < Math.max(placed.size(), ran.size()) && diff == null; i++) {
      String a = i < placed.size() ? placed.get(i) : "nothing";
      String b = i < ran.size() ? ran.get(i) : "nothing";
      if (!a.equals(b)) {
        diff = "kernel " + i + ": planned " + a + ", executed " + b;
      }
    }
    return new Program(planned, executed, diff == null, diff, simulated, handoffs);
  }

  /** The plan's placement of one phase, if it has one. */
  public static Optional<Placement> phase(PlanDir.Loaded p, String phase) {
    return p.module().placements().stream().filter(x -> x.phase().equals(phase)).findFirst();
  }

  private static List<InputBinding> bindings(PlanDir.Loaded p) {
    return p.manifest().inputs().stream().map(InputBinding::parse).toList();
  }

  /**
   * Generation by recomputing the prefill on the mesh for each new token: the model is imported
   * at the current length and planned at the plan's prefill grid; the next id is the argmax of the
   * last position's logits. The decode plan (if any) gives the predicted time.
   */
  private static Generation recompute(PlanDir.Loaded p, String input, long[] promptIds, int maxNew, Options o,
      Progress progress) {
    Placement prefill = phase(p, "prefill").orElseThrow(() -> MeshcException.input(
        "%s has no prefill plan: compile with --phase prefill or both", p.manifest().model()));
    int grid = (int) prefill.regions().get(0).info().requireInt("grid");
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    List<Long> ids = new ArrayList<>();
    for (long id : promptIds) {
      ids.add(id);
    }
    List<Long> generated = new ArrayList<>();
    double meshCycles = 0;
    progress.start("meshc run", maxNew);
    try {
      for (int step = 0; step < maxNew; step++) {
        progress.step("token " + (step + 1) + " of " + maxNew + " (prefill recomputed)");
        int len = ids.size();
        Frontend f;
        try {
          f = atLength(p, input, len, o.limits());
        } catch (MeshcException fixedGraph) {
          // a static export whose module cannot move (a constant bias over the traced positions):
          // run it at its own length, the ids right-padded; causal attention keeps the first len exact
          f = Frontend.load(p.model(), bindings(p), o.limits());
          if (Resequence.traced(f.module()) < len) {
            throw MeshcException.input("%s: %d tokens do not fit the %d positions its export fixed (%s): export it "
                + "with a dynamic sequence length to generate further", p.module().name(), len,
                Resequence.traced(f.module()), fixedGraph.getMessage());
          }
        }
        int width = (int) Resequence.traced(f.module());
        ModelShape shape = ModelShape.of(f.module());
        Planner planner = new Planner(shape, m, Workload.prefill(width), new Planner.Options(grid, 0, 5, 0.02, 1));
        Plan placed = planner.plan();
        if (!placed.feasible()) {
          throw new MeshcException(MeshcException.Kind.NO_PLAN, "no plan at length " + len + ": "
              + placed.explanation());
        }
        Module module = f.module().withPlacements(List.of(Placements.of(placed, shape, planner.costModel())));
        long[] tokens = Arrays.copyOf(ids.stream().mapToLong(Long::longValue).toArray(), width);
        MeshExecutor.Result r = MeshExecutor.prefill(module, Map.of(input, Tensor.ofLongs(Shape.of(1, width), tokens)),
            o.weights(f), m, o.fp32(), null, (op, res) -> { });
        meshCycles += r.meshCycles();
        float[] logits = r.outputs().values().iterator().next().floats();
        int vocab = logits.length / width;
        long best = argmax(logits, (len - 1) * vocab, len * vocab);
        ids.add(best);
        generated.add(best);
      }
    } finally {
      progress.finish();
    }
    Placement decode = phase(p, "decode").orElse(null);
    Long perToken = decode == null || decode.regions().isEmpty() ? null : decode.info().getInt("cycles", 0);
    return new Generation(generated, "prefill recomputed per token", meshCycles, perToken, -1, Map.of(), null, null);
  }

  /**
   * Generation by decode steps on the mesh (MeshGEMV per projection, K and V kept per attention):
   * every prompt token is a step, then every new one.
   */
  private static Generation decode(PlanDir.Loaded p, String input, Placement decodePlan, float[] theta,
      long[] promptIds, int maxNew, Options o, Progress progress) {
    MachineSpec m = MachineSpec.load(p.manifest().machine());
    Frontend f = atLength(p, input, 1, o.limits());
    Module step = f.module().withPlacements(List.of(decodePlan));
    long context = decodePlan.info().getInt("max_context", promptIds.length + maxNew);
    if (promptIds.length + maxNew > context) {
      throw MeshcException.input("%d prompt and %d new tokens exceed the plan's --max-context %d", promptIds.length,
          maxNew, context);
    }
    long fixed = Resequence.positions(step);
    if (promptIds.length + maxNew - 1 > fixed) {
      throw MeshcException.input("%d prompt and %d new tokens need %d positions, but %s's export fixed its position "
          + "table at %d: export it with a dynamic sequence length (or a longer fixed one) to generate further",
          promptIds.length, maxNew, promptIds.length + maxNew - 1, p.module().name(), fixed);
    }
    MeshDecoder d = new MeshDecoder(step, theta, o.weights(f), m, o.fp32(), (int) context);
    List<Long> generated = new ArrayList<>();
    long next = -1;
    int steps = promptIds.length + maxNew - 1;
    progress.start("meshc run", steps);
    try {
      for (int i = 0; i < steps; i++) {
        progress.step(i < promptIds.length ? "decode step " + (i + 1) + ": prompt token" : "decode step " + (i + 1)
            + ": new token " + (i - promptIds.length + 2) + " of " + maxNew);
        long token = i < promptIds.length ? promptIds[i] : next;
        if (i >= promptIds.length) {
          generated.add(token);
        }
        float[] logits = d.next(Map.of(input, Tensor.ofLongs(Shape.of(1, 1), token))).values().iterator().next()
            .floats();
        next = argmax(logits, 0, logits.length);
      }
    } finally {
      progress.finish();
    }
    generated.add(next);
    int[] axes = d.gemvAxes();
    Map<String, Integer> chain = new LinkedHashMap<>();
    chain.put("y_to_x", axes[0] / steps);
    chain.put("x_to_y", axes[1] / steps);
    return new Generation(generated, "decode on the mesh: MeshGEMVs alternating Y→X→Y (W_O and W_down "
        + "pre-transposed), norms and softmax as row all-reduces, activations, RoPE and residual adds local, K/V on "
        + "the rows the shift-based cache gives", d.meshCycles(), decodePlan.info().getInt("cycles", 0),
        d.occupancySpread(), chain, program(decodePlan, d.executed(), d.meshCycles() + d.overheadCycles(), m),
        (d.meshCycles() + d.overheadCycles()) / steps);
  }

  /**
   * The model at [1, len]: imported at that length when its export lets the sequence vary, else
   * (a static export, fixed at the length it was traced with) the plan's module moved to it by
   * {@link Resequence}, which lifting made possible by reading what the trace froze.
   */
  private static Frontend atLength(PlanDir.Loaded p, String input, int len, Limits limits) {
    return Frontend.atLength(p.model(), bindings(p), input, len, limits);
  }

  /** The index of the largest of v[from, to), counted from {@code from}. */
  private static long argmax(float[] v, int from, int to) {
    int best = from;
    for (int i = from + 1; i < to; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best - from;
  }
}
