package dev.meshc.compiler;

import dev.meshc.compiler.lift.Lifter;
import dev.meshc.compiler.onnx.InputBinding;
import dev.meshc.compiler.onnx.OnnxGraph;
import dev.meshc.compiler.onnx.OnnxImporter;
import dev.meshc.compiler.onnx.OnnxWeights;
import dev.meshc.ir.Limits;
import dev.meshc.ir.Module;
import dev.meshc.ir.eval.WeightStore;
import java.nio.file.Path;
import java.util.List;

/** The front end as one call: import, lift, and a way to the weights for whoever runs the model. */
public record Frontend(OnnxGraph graph, Module module, WeightStore weights) {

  /** Imports and lifts {@code model}; reads no weight bytes. */
  public static Frontend load(Path model, List<InputBinding> inputs) {
    return load(model, inputs, Limits.DEFAULTS);
  }

  /** As above, refusing a model that crosses {@code limits}. */
  public static Frontend load(Path model, List<InputBinding> inputs, Limits limits) {
    OnnxGraph g = OnnxImporter.importModel(model, inputs, limits);
    Module m = Lifter.lift(g);
    return new Frontend(g, m, new OnnxWeights(g.initializers()));
  }

  /**
   * {@code model} at {@code len} tokens of {@code input} (a decode step is one): lifted at that
   * length when its input is dynamic, else the trace at {@code traced} re-sequenced to it.
   */
  public static Frontend atLength(Path model, List<InputBinding> traced, String input, int len, Limits limits) {
    try {
      return load(model, List.of(new InputBinding(input, new long[] {1, len})), limits);
    } catch (dev.meshc.ir.MeshcException dynamicFailed) {
      Frontend f = load(model, traced, limits);
      if (dev.meshc.ir.Resequence.traced(f.module()) == len) {
        return f;
      }
      return new Frontend(f.graph(), dev.meshc.ir.Resequence.at(f.module(), len), f.weights());
    }
  }
}
