package dev.meshc.cli;

import dev.meshc.compiler.Inputs;
import dev.meshc.compiler.io.Json;
import dev.meshc.compiler.Frontend;
import dev.meshc.compiler.Inspection;
import dev.meshc.compiler.io.AtomicFiles;
import dev.meshc.ir.text.TirPrinter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code meshc inspect}: what the model is, as meshc understands it. Reads no weights. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Imports and lifts a model and reports its ops, recognised layers, parameters and "
        + "inputs/outputs. Reads shapes only, never weight bytes."},
    footer = {"", "Example:", "  meshc inspect examples/models/tiny-llama.onnx --input input_ids=1x16 --emit-tir out.tir"})
final class InspectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "MODEL", description = "the .onnx file")
  Path model;

  @Option(names = "--input", paramLabel = "NAME=DIMS",
      description = "bind a dynamic input shape, e.g. input_ids=1x128 (or NAME=FILE.npy to take its shape); "
          + "inputs sharing a named dimension follow")
  List<String> inputs;

  @Option(names = "--emit-tir", paramLabel = "FILE", description = "write the lifted tile IR (.tir text) to FILE")
  Path emitTir;

  @Mixin
  LimitOption limit;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Frontend f = Frontend.load(model, Inputs.parse(inputs, limit.limits()).bindings(), limit.limits());
    Inspection i = Inspection.of(f.graph(), f.module());
    if (emitTir != null) {
      String text = TirPrinter.print(f.module());
      AtomicFiles.write(emitTir, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Json.print(out, toJson(i));
    } else {
      printText(out, i);
    }
    return Main.OK;
  }

  static Map<String, Object> toJson(Inspection i) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", i.model());
    m.put("ir_version", i.irVersion());
    m.put("opset", i.opset());
    m.put("producer", i.producer());
    m.put("nodes", i.nodes());
    m.put("nodes_after_folding", i.nodesAfterFolding());
    m.put("ops", i.ops());
    m.put("blocks", i.blocks());
    m.put("layers", i.layers().stream().map(l -> {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("index", l.index());
      x.put("kind", l.kind());
      x.put("heads", l.heads());
      x.put("kv_heads", l.kvHeads());
      x.put("head_dim", l.headDim());
      x.put("ffn", l.ffn());
      x.put("activation", l.activation());
      x.put("norm", l.norm());
      x.put("norm_position", l.normPosition());
      x.put("residual", l.residual());
      Map<String, Object> rope = null;
      if (l.rope() != null) {
        rope = new LinkedHashMap<>();
        rope.put("rotary_dim", l.rope().rotaryDim());
        rope.put("interleaved", l.rope().interleaved());
        rope.put("theta", l.rope().theta());
      }
      x.put("rope", rope);
      x.put("width", l.width());
      x.put("ops", l.ops());
      return x;
    }).toList());
    m.put("lm_head", i.head());
    m.put("parameters", i.parameters());
    m.put("parameter_bytes", i.parameterBytes());
    m.put("inputs", i.inputs());
    m.put("outputs", i.outputs());
    return m;
  }

  private static void printText(PrintWriter out, Inspection i) {
    out.printf("%s: ONNX IR %d, opset %d, %s%n", i.model(), i.irVersion(), i.opset(),
        i.producer().isEmpty() ? "unknown producer" : i.producer());
    out.printf("  nodes:   %d written, %d after folding shape plumbing%n", i.nodes(), i.nodesAfterFolding());
    out.printf("  inputs:  %s%n", tensors(i.inputs()));
    out.printf("  outputs: %s%n", tensors(i.outputs()));
    out.printf("  ops:     %s%n", histogram(i.ops()));
    out.printf("  blocks:  %s%n", histogram(i.blocks()));
    if (i.layers().isEmpty()) {
      out.println("  layers:  none recognised");
    }
    for (String l : i.layerSummary()) {
      out.printf("  layers:  %s%n", l);
    }
    if (i.head() != null) {
      out.printf("  head:    linear %d → %d%s%n", i.head().width(), i.head().vocab(),
          i.head().tied() ? " (tied to the token embedding)" : "");
    }
    out.printf("  params:  %,d (%s)%n", i.parameters(), Inspection.humanBytes(i.parameterBytes()));
  }

  private static String tensors(List<Inspection.TensorInfo> ts) {
    return ts.stream().map(t -> t.name() + " " + t.dtype() + t.shape().toString().replace(" ", ""))
        .collect(Collectors.joining(", "));
  }

  private static String histogram(Map<String, Integer> h) {
    return h.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
  }
}
