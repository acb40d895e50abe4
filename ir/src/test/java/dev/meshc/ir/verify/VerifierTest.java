package dev.meshc.ir.verify;

import static dev.meshc.ir.DType.F16;
import static dev.meshc.ir.DType.F32;
import static dev.meshc.ir.DType.I64;
import static dev.meshc.ir.ModuleBuilder.std;
import static dev.meshc.ir.ModuleBuilder.type;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layer;
import dev.meshc.ir.MeshcException;
import dev.meshc.ir.Module;
import dev.meshc.ir.ModuleBuilder;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Value;
import dev.meshc.ir.Weight;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Linear;
import dev.meshc.ir.op.Op;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each broken module is rejected with one line naming the op (or layer, or output) and the problem. */
class VerifierTest {
  private final Value x = new Value("x", type(F32, "yx", 2, 4));
  private final Value w = new Value("w", std(F32, 4, 3));
  private final Weight weight = new Weight(w, "w.src", List.of());

  private Module module(List<Op> ops, List<Layer> layers, List<Value> outputs) {
    return new Module("m", List.of(x), List.of(weight), List.of(), ops, layers, outputs);
  }

  private static Op neg(Value in, Value out, String... loc) {
    return new Generic("Neg", List.of(in), Attrs.EMPTY, List.of(out), Provenance.of(loc));
  }

  private static void assertRejected(Module m, String message) {
    MeshcException e = assertThrows(MeshcException.class, () -> Verifier.verify(m));
    assertEquals(message, e.getMessage());
  }

  @Test
  void acceptsAWellFormedModule() {
    Value y = new Value("y", type(F32, "yx", 2, 3));
    Value z = new Value("z", type(F32, "yx", 2, 3));
    Module m = module(List.of(new Linear(x, w, null, y, Provenance.of("MatMul_1")), neg(y, z)),
        List.of(new Layer(0, "decoder", Attrs.EMPTY, 0, 1), new Layer(1, "decoder", Attrs.EMPTY, 1, 2)),
        List.of(z));
    Verifier.verify(m);
  }

  @Test
  void useBeforeDefinition() {
    Value a = new Value("a", x.type());
    Value b = new Value("b", x.type());
    assertRejected(module(List.of(neg(b, a, "Neg_0"), neg(x, b)), List.of(), List.of()),
        "op #0 'Neg' (from ONNX node Neg_0): uses %b before it is defined (by op #1)");
    assertRejected(module(List.of(neg(a, a)), List.of(), List.of()),
        "op #0 'Neg': uses %a before it is defined (by op #0)");
    assertRejected(module(List.of(neg(new Value("ghost", x.type()), a)), List.of(), List.of()),
        "op #0 'Neg': uses %ghost, which is not defined");
  }

  @Test
  void wrongResultShape() {
    Value y = new Value("y", type(F32, "yx", 2, 4));
    assertRejected(module(List.of(new Linear(x, w, null, y, Provenance.of("MatMul_1", "Add_2"))), List.of(),
        List.of()), "op #0 'linear' (from ONNX nodes MatMul_1, Add_2): result %y is f32[2,4] <y,x>"
        + " but should be f32[2,3] <y,x> (the shape differs)");
  }

  @Test
  void wrongResultLayout() {
    Value y = new Value("y", type(F32, "xy", 2, 3));
    assertRejected(module(List.of(new Linear(x, w, null, y, Provenance.of("MatMul_1"))), List.of(), List.of()),
        "op #0 'linear' (from ONNX node MatMul_1): result %y is f32[2,3] <x,y>"
        + " but should be f32[2,3] <y,x> (the layout differs)");
  }

  @Test
  void wrongResultElementType() {
    Value y = new Value("y", type(F16, "yx", 2, 4));
    assertRejected(module(List.of(neg(x, y)), List.of(), List.of()),
        "op #0 'Neg': result %y is f16[2,4] <y,x> but should be f32[2,4] <y,x> (the element type differs)");
  }

  @Test
  void wrongResultCount() {
    Value a = new Value("a", type(F32, "yx", 2, 2));
    Value b = new Value("b", type(F32, "yx", 2, 2));
    Op split = new Generic("Split", List.of(x), Attrs.builder().put("axis", 1).put("split", new long[] {2, 1, 1})
        .build(), List.of(a, b), Provenance.NONE);
    assertRejected(module(List.of(split), List.of(), List.of()), "op #0 'Split': it has 2 results but its operands give 3");
  }

  @Test
  void operandCountAndAttributes() {
    Value y = new Value("y", x.type());
    MeshcException arity = assertThrows(MeshcException.class, () -> Verifier.verify(module(List.of(
        new Generic("Add", List.of(x), Attrs.EMPTY, List.of(y), Provenance.NONE)), List.of(), List.of())));
    assertTrue(arity.getMessage().startsWith("op #0 'Add': Add") && arity.getMessage().contains("operands"),
        arity.getMessage());
    Op bad = new Generic("Transpose", List.of(x), Attrs.builder().put("perm", new long[] {0, 7}).build(),
        List.of(y), Provenance.NONE);
    MeshcException e = assertThrows(MeshcException.class, () -> Verifier.verify(module(List.of(bad), List.of(),
        List.of())));
    assertTrue(e.getMessage().startsWith("op #0 'Transpose': Transpose: axis 7 out of range for rank 2"),
        e.getMessage());
  }

  @Test
  void foldOnlyAndUnknownGenericOps() {
    Value y = new Value("y", std(I64, 2));
    assertRejected(module(List.of(new Generic("Shape", List.of(x), Attrs.builder().put("value", new long[] {2, 4})
        .build(), List.of(y), Provenance.NONE)), List.of(), List.of()),
        "op #0 'Shape': Shape must be folded to a constant before it reaches the tile IR");
    MeshcException e = assertThrows(MeshcException.class, () -> Verifier.verify(module(List.of(
        new Generic("Frob", List.of(x), Attrs.EMPTY, List.of(y), Provenance.NONE)), List.of(), List.of())));
    assertTrue(e.getMessage().startsWith("op #0 'Frob': unsupported op Frob"), e.getMessage());
  }

  @Test
  void operandTypeDiffersFromItsDefinition() {
    Value stale = new Value("x", type(F32, "xy", 2, 4));
    Value y = new Value("y", stale.type());
    assertRejected(module(List.of(neg(stale, y)), List.of(), List.of()),
        "op #0 'Neg': operand %x is f32[2,4] <x,y> but should be f32[2,4] <y,x> (the layout differs), as it is defined");
  }

  @Test
  void namesAreUnique() {
    assertRejected(module(List.of(neg(x, x)), List.of(), List.of()),
        "op #0 'Neg': %x is defined twice (by input, then by op #0)");
    Value y = new Value("y", x.type());
    assertRejected(module(List.of(neg(x, y), neg(x, y)), List.of(), List.of()),
        "op #1 'Neg': %y is defined twice (by op #0, then by op #1)");
    Module clash = new Module("m", List.of(new Value("w", x.type())), List.of(weight), List.of(), List.of(), List.of(),
        List.of());
    assertRejected(clash, "@w is defined twice (by input, then by weight)");
  }

  @Test
  void overlappingLayers() {
    Value a = new Value("a", x.type());
    Value b = new Value("b", x.type());
    Value c = new Value("c", x.type());
    List<Op> ops = List.of(neg(x, a), neg(a, b, "Neg_1"), neg(b, c));
    assertRejected(module(ops, List.of(new Layer(0, "decoder", Attrs.EMPTY, 0, 2),
        new Layer(1, "decoder", Attrs.EMPTY, 1, 3)), List.of()),
        "op #1 'Neg' (from ONNX node Neg_1): it is in both layer 0 [0, 2) and layer 1 [1, 3)");
  }

  @Test
  void layersInOrderAndInRange() {
    Value a = new Value("a", x.type());
    Value b = new Value("b", x.type());
    List<Op> ops = List.of(neg(x, a), neg(a, b));
    assertRejected(module(ops, List.of(new Layer(0, "d", Attrs.EMPTY, 1, 2), new Layer(1, "d", Attrs.EMPTY, 0, 1)),
        List.of()), "layer 1 [0, 1): it does not come after layer 0 [1, 2); layers are op ranges in order");
    assertRejected(module(ops, List.of(new Layer(0, "d", Attrs.EMPTY, 1, 3)), List.of()),
        "layer 0 [1, 3): it ends past the last op (the module has 2 ops)");
    assertRejected(module(ops, List.of(new Layer(1, "d", Attrs.EMPTY, 0, 1)), List.of()),
        "layer 1 [0, 1): it comes number 0 in the module's list; layers are numbered 0, 1, 2 ... in order");
    Verifier.verify(module(ops, List.of(new Layer(0, "d", Attrs.EMPTY, 0, 0), new Layer(1, "d", Attrs.EMPTY, 0, 2),
        new Layer(2, "d", Attrs.EMPTY, 2, 2)), List.of()));
  }

  @Test
  void outputsAreDefined() {
    assertRejected(module(List.of(), List.of(), List.of(new Value("nope", x.type()))), "output %nope is not defined");
    assertRejected(module(List.of(), List.of(), List.of(new Value("x", std(F32, 2, 3)))),
        "output %x is f32[2,3] <y,x> but should be f32[2,4] <y,x> (the shape differs), as it is defined");
    Verifier.verify(module(List.of(), List.of(), List.of(w)));
  }

  @Test
  void typeMismatchSaysWhatDiffers() {
    assertNull(Verifier.typeMismatch(x.type(), x.type()));
    assertEquals("is f16[4,2] <x,y> but should be f32[2,4] <y,x> (the element type and shape and layout differ)",
        Verifier.typeMismatch(type(F16, "xy", 4, 2), x.type()));
  }

  @Test
  void modulesFromTheBuilderVerify() {
    ModuleBuilder b = new ModuleBuilder("ok");
    Value in = b.input("in", std(F32, 1, 4, 8));
    Value g = b.weight("g", std(F32, 8), "g");
    Value n = b.op("rms_norm", "n", List.of(in, g), Attrs.builder().put("eps", 1e-6f).build());
    Verifier.verify(b.output(n).build());
  }
}
