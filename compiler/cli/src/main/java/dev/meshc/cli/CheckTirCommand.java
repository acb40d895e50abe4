package dev.meshc.cli;

import dev.meshc.compiler.io.Json;
import dev.meshc.ir.Module;
import dev.meshc.ir.text.TirParser;
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

/** {@code meshc check-tir}: parses and verifies tile-IR text files. */
@Command(name = "check-tir", mixinStandardHelpOptions = true,
    description = {"Parses and verifies .tir files (types, layouts, use before definition); errors say "
        + "file:line:col."},
    footer = {"", "Example:", "  meshc check-tir out.tir"})
final class CheckTirCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "FILE", description = ".tir files")
  List<Path> files;

  @Mixin
  CommonOptions common;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    List<Map<String, Object>> results = new ArrayList<>();
    for (Path f : files) {
      Module m = TirParser.parse(f);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("file", f.toString());
      r.put("module", m.name());
      r.put("ops", m.ops().size());
      r.put("layers", m.layers().size());
      r.put("weights", m.weights().size());
      results.add(r);
    }
    PrintWriter out = spec.commandLine().getOut();
    if (common.json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("ok", true);
      m.put("files", results);
      Json.print(out, m);
    } else {
      for (Map<String, Object> r : results) {
        out.printf("%s: ok (module \"%s\", %s ops, %s layers, %s weights)%n", r.get("file"), r.get("module"),
            r.get("ops"), r.get("layers"), r.get("weights"));
      }
    }
    return Main.OK;
  }
}
