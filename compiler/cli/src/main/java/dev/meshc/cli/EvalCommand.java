package dev.meshc.cli;

import dev.meshc.compiler.Inputs;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.io.AtomicFiles;
import dev.meshc.compiler.io.Npy;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.eval.ReferenceEvaluator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshc eval}: runs the lifted model on the reference evaluator (fp32 Java), the golden
 * model every later stage is checked against. Streams weights from the ONNX file.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Runs the lifted tile IR on meshc's fp32 reference evaluator and writes every model "
        + "output as .npy. Weights are read from the ONNX file (or its external data)."},
    footer = {"", "Example:", "  meshc eval examples/models/tiny-gpt2.onnx "
        + "--input input_ids=examples/models/tiny-gpt2.input_ids.npy --output out/"})
final class EvalCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "MODEL", description = "the .onnx file")
  Path model;

  @Option(names = "--input", paramLabel = "NAME=FILE.npy", required = true,
      description = "the value of a model input (its shape binds the input's dims)")
  List<String> inputs;

  @Option(names = "--output", paramLabel = "DIR", description = "folder for <output>.npy files (default: none)")
  Path output;

  @Mixin
  LimitOption limit;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Inputs in = Inputs.parse(inputs, limit.limits());
    Frontend f = Frontend.load(model, in.bindings(), limit.limits());
    in.requireAll(f.module(), "eval");
    Map<String, Tensor> out = ReferenceEvaluator.run(f.module(), in.values(), f.weights());
    writeOutputs(output, out);
    PrintWriter w = spec.commandLine().getOut();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("model", f.graph().name());
    json.put("outputs", describe(out, output));
    if (common.json) {
      Json.print(w, json);
    } else {
      for (Map.Entry<String, Tensor> e : out.entrySet()) {
        w.printf("%s: %s%n", e.getKey(), e.getValue());
      }
      if (output != null) {
        w.printf("wrote %d output(s) to %s%n", out.size(), output);
      }
    }
    return Main.OK;
  }

  /** Writes each output as {@code <name>.npy} into {@code output} (replaced whole); nothing when null. */
  static void writeOutputs(Path output, Map<String, Tensor> out) {
    if (output == null) {
      return;
    }
    AtomicFiles.writeDirectory(output, dir -> {
      for (Map.Entry<String, Tensor> e : out.entrySet()) {
        try (var s = java.nio.file.Files.newOutputStream(dir.resolve(Npy.fileName(e.getKey())))) {
          Npy.write(e.getValue(), s);
        }
      }
    });
  }

  /** The {@code outputs} object of the JSON: name → {dtype, shape, file, first}. */
  static Map<String, Object> describe(Map<String, Tensor> out, Path output) {
    Map<String, Object> outs = new LinkedHashMap<>();
    for (Map.Entry<String, Tensor> e : out.entrySet()) {
      Tensor t = e.getValue();
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("dtype", t.dtype().irName());
      o.put("shape", t.shape().toList());
      o.put("file", output == null ? null : output.resolve(Npy.fileName(e.getKey())).toString());
      List<Double> head = new ArrayList<>();
      for (int i = 0; i < Math.min(5, t.size()); i++) {
        head.add(t.getDouble(i));
      }
      o.put("first", head);
      outs.put(e.getKey(), o);
    }
    return outs;
  }
}
