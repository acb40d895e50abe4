package dev.meshc.compiler.lift;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Provenance;
import java.util.List;

/**
 * A node of the graph being lifted: an ONNX op (CamelCase, as ONNX spells it) or a tile block op
 * (lower case, as the tile IR spells it), over named values.
 */
record LNode(String op, List<String> inputs, List<String> outputs, Attrs attrs, Provenance loc) {
  LNode {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  LNode(String op, List<String> inputs, String output, Attrs attrs, Provenance loc) {
    this(op, inputs, List.of(output), attrs, loc);
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
