package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import java.util.List;

/**
 * A node of the graph being lifted: an ONNX op (CamelCase, as ONNX spells it) or a tile block op
 * (lower case, as the tile IR spells it), over named values. Nodes are compared by identity:
 * two nodes with the same fields are still two nodes.
 */
final class LNode {
  private final String op;
  private final List<String> inputs;
  private final List<String> outputs;
  private final Attrs attrs;
  private final Provenance loc;

  LNode(String op, List<String> inputs, List<String> outputs, Attrs attrs, Provenance loc) {
    this.op = op;
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
    this.attrs = attrs;
    this.loc = loc;
  }

  LNode(String op, List<String> inputs, String output, Attrs attrs, Provenance loc) {
    this(op, inputs, List.of(output), attrs, loc);
  }

  String op() {
    return op;
  }

  List<String> inputs() {
    return inputs;
  }

  List<String> outputs() {
    return outputs;
  }

  Attrs attrs() {
    return attrs;
  }

  Provenance loc() {
    return loc;
  }

  String in(int i) {
    return inputs.get(i);
  }

  String out() {
    return outputs.get(0);
  }

  boolean is(String type) {
    return op.equals(type);
  }

  @Override
  public String toString() {
    return op + inputs + "->" + outputs;
  }
}
