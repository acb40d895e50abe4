package dev.meshc.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.meshc.backends.csl.sim.Simulator;
import dev.meshc.ir.MeshcException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code meshc sim}: meshc's simulator for CSL programs (not the Cerebras SDK). {@code meshc sim
 * cslc ...} is the stand-in for {@code cslc} (backends/csl/sdk/bin/cslc runs it); {@code meshc sim
 * --serve OUT} runs the program cslc built and answers the host's commands, one JSON object a line
 * on stdin and stdout (the Python SdkRuntime of backends/csl/sdk/python speaks it).
 */
@Command(name = "sim", mixinStandardHelpOptions = true, versionProvider = SimCommand.Version.class,
    subcommands = {SimCommand.Cslc.class},
    description = {"meshc's simulator for CSL programs (not the Cerebras SDK): 'sim cslc' checks and builds a "
        + "program as cslc's flags say; 'sim --serve OUT' runs it for a host script, one JSON command per line."},
    footer = {"", "Examples:", "  meshc sim cslc layout.csl --arch=wse2 --fabric-dims=8,3 --fabric-offsets=4,1 -o out "
        + "--memcpy --channels 1", "  meshc sim --serve out < commands.jsonl"})
final class SimCommand implements Callable<Integer> {
  static final String NOT_SDK = "meshc's CSL simulator, not the Cerebras SDK";

  @Option(names = "--verbose", description = "show stack traces on errors")
  boolean verbose;

  @Option(names = "--serve", paramLabel = "OUT", description = "run the program cslc wrote to OUT for a host on stdin/stdout")
  Path serve;

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    if (serve == null) {
      spec.commandLine().usage(spec.commandLine().getErr());
      return Main.USAGE;
    }
    PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    return new Server(out).serve(serve, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
  }

  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      return new String[] {new Main.Version().getVersion()[0] + ": " + NOT_SDK};
    }
  }

  /** The stand-in for cslc: its flags as the SDK's examples use them. */
  @Command(name = "cslc", mixinStandardHelpOptions = true, versionProvider = SimCommand.Version.class,
      description = {"Checks a CSL program and writes the compile output folder (out.json and what the simulator "
          + "needs). This is " + NOT_SDK + "."})
  static final class Cslc implements Callable<Integer> {
    @Option(names = "--verbose", description = "show stack traces on errors")
    boolean verbose;

    @Parameters(index = "0", paramLabel = "LAYOUT", description = "the top-level layout file")
    Path layout;

    @Option(names = "--arch", defaultValue = "wse2", description = "wse2 or wse3 (default wse2)")
    String arch;

    @Option(names = "--fabric-dims", split = ",", required = true, paramLabel = "W,H", description = "fabric size")
    int[] dims;

    @Option(names = "--fabric-offsets", split = ",", paramLabel = "X,Y", description = "the kernel's place on it")
    int[] offsets = {0, 0};

    @Option(names = "--params", paramLabel = "NAME:VALUE,...", description = "the layout's params (repeatable)")
    List<String> params = new ArrayList<>();

    @Option(names = "--colors", paramLabel = "NAME:ID,...", description = "the layout's colour params (repeatable)")
    List<String> colors = new ArrayList<>();

    @Option(names = "-o", defaultValue = "out", paramLabel = "OUT", description = "the output folder (default out)")
    Path out;

    @Option(names = "--memcpy", description = "the memcpy infrastructure (the host's memcpy and launch)")
    boolean memcpy;

    @Option(names = "--channels", defaultValue = "1", description = "memcpy's I/O channels")
    int channels;

    @Option(names = "--width-west-buf", defaultValue = "0",
        description = "memcpy buffer columns west of the kernel (accepted; the simulator's memcpy needs none)")
    int westBuffers;

    @Option(names = "--width-east-buf", defaultValue = "0",
        description = "memcpy buffer columns east of the kernel (accepted; the simulator's memcpy needs none)")
    int eastBuffers;

    @Override
    public Integer call() throws IOException {
      if (dims.length != 2 || offsets.length != 2) {
        throw MeshcException.input("--fabric-dims and --fabric-offsets take two integers W,H");
      }
      if (westBuffers < 0 || eastBuffers < 0) {
        throw MeshcException.input("--width-west-buf and --width-east-buf count columns: 0 or more");
      }
      Simulator.Config c = new Simulator.Config(layout, arch, Simulator.parseParams(params), dims, offsets, memcpy,
          channels, Simulator.parseParams(colors));
      Simulator.build(c); // checks the program: nothing is written for one the simulator refuses
      Simulator.writeConfig(c, out);
      Map<String, Object> j = new LinkedHashMap<>();
      Map<String, String> ps = new LinkedHashMap<>();
      c.params().forEach((k, v) -> ps.put(k, String.valueOf(v))); // the SDK writes params as strings
      j.put("params", ps);
      Map<String, String> cs = new LinkedHashMap<>();
      c.colors().forEach((k, v) -> cs.put(k, String.valueOf(v))); // like params, as strings
      j.put("colors", cs);
      Map<String, Object> fabric = new LinkedHashMap<>();
      fabric.put("dims", List.of(dims[0], dims[1]));
      fabric.put("offsets", List.of(offsets[0], offsets[1]));
      j.put("fabric", fabric);
      j.put("arch", arch);
      j.put("memcpy", memcpy);
      j.put("channels", channels);
      j.put("compiler", NOT_SDK);
      Gson g = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
      Files.writeString(out.resolve("out.json"), g.toJson(j) + "\n", StandardCharsets.UTF_8);
      return Main.OK;
    }
  }

  /** Where a run leaves its {@code <debug>} traces in the output folder. */
  static final String TRACES = "meshc-traces.json";

  /** The host protocol: a hello with the symbols, then one reply per command. */
  static final class Server {
    private final PrintWriter out;
    private final Gson gson = new GsonBuilder().disableHtmlEscaping().create();

    Server(PrintWriter out) {
      this.out = out;
    }

    int serve(Path dir, BufferedReader in) throws IOException {
      Simulator sim;
      try {
        sim = Simulator.open(dir);
      } catch (MeshcException e) {
        reply(Map.of("ok", false, "error", e.getMessage()));
        return e.kind().exitCode();
      }
      Map<String, Integer> symbols = new LinkedHashMap<>();
      sim.symbols().forEach(s -> symbols.put(s.name(), s.id()));
      reply(Map.of("ok", true, "symbols", symbols, "simulator", NOT_SDK));
      boolean running = false;
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) {
          continue;
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ok", true);
        try {
          JsonObject cmd = JsonParser.parseString(line).getAsJsonObject();
          String op = cmd.get("op").getAsString();
          switch (op) {
            case "load" -> { }
            case "run" -> {
              running = true;
              sim.run();
            }
            case "stop" -> {
              sim.stop();
              // what <debug> traced, for debug_util.read_trace after the run (rewritten by every run)
              java.nio.file.Files.writeString(dir.resolve(TRACES), gson.toJson(sim.traces()) + "\n",
                  StandardCharsets.UTF_8);
              reply(r);
              return Main.OK;
            }
            case "h2d", "d2h" -> {
              if (!running) {
                throw MeshcException.input("memcpy before run(): the SDK runs commands only after load() and run()");
              }
              int id = cmd.get("sym").getAsInt();
              int x = cmd.get("x").getAsInt();
              int y = cmd.get("y").getAsInt();
              int w = cmd.get("w").getAsInt();
              int h = cmd.get("h").getAsInt();
              int n = cmd.get("elems").getAsInt();
              Simulator.Order order = Simulator.Order.valueOf(cmd.get("order").getAsString());
              int bits = cmd.get("bits").getAsInt();
              boolean streaming = cmd.has("streaming") && cmd.get("streaming").getAsBoolean();
              boolean nonblock = cmd.has("nonblock") && cmd.get("nonblock").getAsBoolean();
              if (streaming && op.equals("h2d")) {
                sim.h2dStream(id, words(cmd.get("data").getAsString()), x, y, w, h, n, order, nonblock);
              } else if (streaming) {
                r.put("data", base64(sim.d2hStream(id, x, y, w, h, n, order)));
              } else if (op.equals("h2d")) {
                sim.h2d(id, words(cmd.get("data").getAsString()), x, y, w, h, n, order, bits);
              } else {
                r.put("data", base64(sim.d2h(id, x, y, w, h, n, order, bits)));
              }
            }
            case "launch" -> {
              if (!running) {
                throw MeshcException.input("launch before run(): the SDK runs commands only after load() and run()");
              }
              List<Object> args = new ArrayList<>();
              for (JsonElement a : cmd.has("args") ? cmd.getAsJsonArray("args") : new JsonArray()) {
                args.add(a.getAsDouble() == Math.rint(a.getAsDouble()) ? (Object) a.getAsLong() : a.getAsDouble());
              }
              sim.launch(cmd.get("fn").getAsString(), args);
            }
            default -> throw MeshcException.input("unknown command '%s'", op);
          }
        } catch (MeshcException e) {
          r.put("ok", false);
          r.put("error", e.getMessage());
        } catch (RuntimeException e) {
          r.put("ok", false);
          r.put("error", "internal error, please report: " + e);
        }
        reply(r);
      }
      return Main.OK;
    }

    private void reply(Map<String, Object> r) {
      out.println(gson.toJson(r));
      out.flush();
    }

    private static int[] words(String b64) {
      ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(b64)).order(ByteOrder.LITTLE_ENDIAN);
      int[] w = new int[b.remaining() / 4];
      b.asIntBuffer().get(w);
      return w;
    }

    private static String base64(int[] w) {
      ByteBuffer b = ByteBuffer.allocate(w.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asIntBuffer().put(w);
      return Base64.getEncoder().encodeToString(b.array());
    }
  }
}
