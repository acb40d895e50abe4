package dev.meshc.compiler.onnx;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.onnx.Sig;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * An imported model: static shapes everywhere, shape plumbing folded into constants, every node
 * normalised (see {@link dev.meshc.ir.onnx.Normalized}) and in topological order, dead nodes gone.
 * Values are named as in the ONNX file. This is what lifting reads.
 *
 * @param name        the model's name (its file name without .onnx)
 * @param opset       the default-domain opset
 * @param inputs      the model's runtime inputs, in declaration order
 * @param outputs     the model's outputs, in declaration order
 * @param sigs        the type of every value that survives
 * @param consts      values known at compile time (folded results, Constant nodes, readable initializers)
 * @param initializers every initializer the surviving nodes read, by value name, described not read
 * @param nodes       the nodes that remain, in a deterministic topological order
 * @param opHistogram op type → count over the model as written, before folding
 */
public record OnnxGraph(String name, long irVersion, int opset, String producer, List<String> inputs,
    List<String> outputs, Map<String, Sig> sigs, Map<String, Tensor> consts, Map<String, Initializer> initializers,
    List<Node> nodes, SortedMap<String, Integer> opHistogram, int nodesWritten) {

  /** A normalised node: {@code operands} are the value names of its data operands, in order. */
  public record Node(int index, String name, String type, List<String> operands, List<String> outputs, Attrs attrs) {
    public Node {
      operands = List.copyOf(operands);
      outputs = List.copyOf(outputs);
    }

    /** The node's name, or its type and position when the model left it unnamed. */
    public String label() {
      return name.isEmpty() ? type + "#" + index : name;
    }
  }
}
