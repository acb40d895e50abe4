package dev.meshc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Zoo models with one node of a layer dropped (its readers read its first input instead) or one
 * input of a node rewired to another value computed before it: {@code meshc compile} on each either
 * plans (exit 0) or says in one line what it cannot do (exit 2, or 1 for no plan), never an
 * internal error (exit 3). Fixed seed; {@code meshc.mutation.tries} (default 200) mutants in CI, a
 * deeper run sets it higher: {@code mvn -B -pl compiler/cli -am test -Dtest=ZooMutationTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dmeshc.mutation.tries=2000}.
 */
class ZooMutationTest {
  static final int TRIES = Integer.getInteger("meshc.mutation.tries", 200);
  static final long SEED = Long.getLong("meshc.mutation.seed", 20261201L);

  @TempDir
  Path dir;

  /** The mutant and what was done to it, for the failure message. */
  record Mutant(ModelProto model, String what) {}

  static Mutant mutate(ModelProto m, Random r) {
    GraphProto g = m.getGraph();
    List<NodeProto> nodes = new ArrayList<>(g.getNodeList());
    // a node inside the layers: skip the first and last tenth (embedding, head)
    int lo = nodes.size() / 10;
    int at = lo + r.nextInt(Math.max(1, nodes.size() - 2 * lo));
    NodeProto n = nodes.get(at);
    GraphProto.Builder b = g.toBuilder();
    if (r.nextBoolean() && n.getInputCount() > 0 && n.getOutputCount() == 1) {
      String out = n.getOutput(0);
      String in = n.getInput(0);
      b.removeNode(at);
      for (int i = 0; i < b.getNodeCount(); i++) {
        NodeProto.Builder u = b.getNode(i).toBuilder();
        for (int k = 0; k < u.getInputCount(); k++) {
          if (u.getInput(k).equals(out)) {
            u.setInput(k, in);
          }
        }
        b.setNode(i, u);
      }
      return new Mutant(m.toBuilder().setGraph(b).build(), "dropped node " + n.getName() + " (" + n.getOpType() + ")");
    }
    List<String> earlier = new ArrayList<>();
    g.getInputList().forEach(v -> earlier.add(v.getName()));
    for (int i = 0; i < at; i++) {
      earlier.addAll(nodes.get(i).getOutputList());
    }
    if (n.getInputCount() == 0 || earlier.isEmpty()) {
      return new Mutant(m, "unchanged");
    }
    int slot = r.nextInt(n.getInputCount());
    String to = earlier.get(r.nextInt(earlier.size()));
    b.setNode(at, n.toBuilder().setInput(slot, to));
    return new Mutant(m.toBuilder().setGraph(b).build(),
        "input " + slot + " of node " + n.getName() + " (" + n.getOpType() + ") rewired to " + to);
  }

  @Test
  void everyMutantPlansOrIsRefusedInOneLine() throws Exception {
    List<JsonObject> zoo = ZooTest.models().toList();
    Random r = new Random(SEED);
    int planned = 0;
    int refused = 0;
    for (int t = 0; t < TRIES; t++) {
      JsonObject e = zoo.get(r.nextInt(zoo.size()));
      ModelProto m = ModelProto.parseFrom(Files.readAllBytes(ZooTest.zoo(e, e.get("file").getAsString())));
      Mutant mutant = mutate(m, r);
      Path file = dir.resolve("mutant.onnx");
      Files.write(file, mutant.model().toByteArray());
      List<String> a = new ArrayList<>(List.of("compile", file.toString(), "--grid", "8", "--max-context", "64"));
      for (String in : e.getAsJsonObject("inputs").keySet()) {
        a.add("--input");
        a.add(in + "=1x16");
      }
      CliTest.Run run = CliTest.meshc(a.toArray(String[]::new));
      String where = "try " + t + " (seed " + SEED + "), " + e.get("name").getAsString() + ": " + mutant.what()
          + ": exit " + run.code() + "\n" + run.err();
      assertTrue(run.code() == 0 || run.code() == 1 || run.code() == 2, where);
      if (run.code() != 0) {
        assertEquals(1, ZooTest.problems(run.err()).size(), where);
        refused++;
      } else {
        planned++;
      }
    }
    System.out.printf("zoo mutants: %d planned, %d refused in one line, none internal%n", planned, refused);
  }
}
