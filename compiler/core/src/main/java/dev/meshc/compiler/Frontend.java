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
}
