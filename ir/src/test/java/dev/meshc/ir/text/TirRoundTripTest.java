package dev.meshc.ir.text;

import static dev.meshc.ir.DType.BOOL;
import static dev.meshc.ir.DType.F16;
import static dev.meshc.ir.DType.F32;
import static dev.meshc.ir.DType.I64;
import static dev.meshc.ir.ModuleBuilder.std;
import static dev.meshc.ir.ModuleBuilder.type;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.meshc.ir.Attr;
import dev.meshc.ir.Attrs;
import dev.meshc.ir.Layer;
import dev.meshc.ir.Layout;
import dev.meshc.ir.Module;
import dev.meshc.ir.ModuleBuilder;
import dev.meshc.ir.Provenance;
import dev.meshc.ir.Shape;
import dev.meshc.ir.Tensor;
import dev.meshc.ir.Value;
import dev.meshc.ir.op.Generic;
import dev.meshc.ir.op.Ops;
import dev.meshc.ir.verify.Verifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The text form prints exactly as specified and reads back to the same module. */
class TirRoundTripTest {

  /** Prints, parses, prints again: same text, same module, and the module verifies. */
  static Module roundTrip(Module m) {
    Verifier.verify(m);
    String text = TirPrinter.print(m);
    assertEquals(text, TirPrinter.print(m), "printing twice differs");
    Module back = TirParser.parse(text, "round-trip.tir");
    assertEquals(text, TirPrinter.print(back));
    assertEquals(m, back);
    return back;
  }

  static final String GOLDEN = """
      # meshc tile IR
      tir 1
      module "tiny-gpt2" {
        input %input_ids : i64[1,16] <*,y>
        weight @wte : f32[512,64] <y,x> = "transformer.wte.weight"
        weight @lm_head.T : f32[64,512] <y,x> = "transformer.wte.weight" perm [1,0]
        weight @g : f32[64] <x> = "ln.weight"
        weight @b : f32[64] <x> = "ln.bias"
        weight @"lm_head:T" : f32[32,512] <y,x> = "head"
        const %c0 : i64[1,4] <*,y> = [0, 1, 2, 3]
        const %c1 : f32[] <> = 0.5
        %0 = embedding %input_ids, @wte : f32[1,16,64] <*,y,x> loc("node_Gather_3")
        layer 0 decoder {activation = "gelu_tanh", ffn = 256, heads = 4} {
          %1 = layer_norm %0, @g, @b {eps = 1.0E-5} : f32[1,16,64] <*,y,x> loc("n1", "n2")
          %2, %3 = Split %1 {axis = 2, split = [32, 32]} : f32[1,16,32] <*,y,x>, f32[1,16,32] <*,y,x>
        }
        %4 = linear %3, @"lm_head:T" : f32[1,16,512] <*,y,x>
        output %3
        output %4
      }
      """;

  @Test
  void printsTheSpecifiedFormat() {
    ModuleBuilder b = new ModuleBuilder("tiny-gpt2");
    Value ids = b.input("input_ids", type(I64, "*y", 1, 16));
    Value wte = b.weight("wte", std(F32, 512, 64), "transformer.wte.weight");
    b.weight("lm_head.T", std(F32, 64, 512), "transformer.wte.weight", 1, 0);
    Value g = b.weight("g", std(F32, 64), "ln.weight");
    Value beta = b.weight("b", std(F32, 64), "ln.bias");
    Value head = b.weight("lm_head:T", std(F32, 32, 512), "head");
    b.constant("c0", Tensor.ofLongs(Shape.of(1, 4), 0, 1, 2, 3), type(I64, "*y", 1, 4).layout());
    b.constant("c1", Tensor.ofFloats(Shape.SCALAR, 0.5f), Layout.of());
    Value x = b.op("embedding", "0", List.of(ids, wte), Attrs.EMPTY, "node_Gather_3");
    b.beginLayer("decoder", Attrs.builder().put("heads", 4).put("ffn", 256).put("activation", "gelu_tanh").build());
    Value n = b.op("layer_norm", "1", List.of(x, g, beta), Attrs.builder().put("eps", 1e-5f).build(), "n1", "n2");
    List<Value> parts = b.ops("Split", List.of("2", "3"), List.of(n),
        Attrs.builder().put("axis", 2).put("split", new long[] {32, 32}).build());
    b.endLayer();
    Value logits = b.op("linear", "4", List.of(parts.get(1), head), Attrs.EMPTY);
    Module m = b.output(parts.get(1)).output(logits).build();

    assertEquals(GOLDEN, TirPrinter.print(m));
    assertEquals(m, TirParser.parse(GOLDEN, "golden.tir"));
    roundTrip(m);
  }

  /** Every block op, and generic ops of each layout rule, in layers and between them. */
  @Test
  void everyOpKind() {
    ModuleBuilder b = new ModuleBuilder("every op");
    Value ids = b.input("ids", type(I64, "*y", 1, 8));
    Value wte = b.weight("wte", std(F32, 50, 16), "wte");
    Value g = b.weight("g", std(F32, 16), "g");
    Value beta = b.weight("beta", std(F32, 16), "beta");
    Value wqkv = b.weight("wqkv", std(F32, 16, 48), "qkv.weight", 1, 0);
    Value bqkv = b.weight("bqkv", std(F32, 48), "qkv.bias");
    Value wo = b.weight("wo", std(F32, 16, 16), "o");
    Value wg = b.weight("wg", std(F32, 16, 32), "gate");
    Value wu = b.weight("wu", std(F32, 16, 32), "up");
    Value wd = b.weight("wd", std(F32, 32, 16), "down");
    Value cos = b.constant("cos", Tensor.filled(F32, Shape.of(8, 4), 1), std(F32, 8, 4).layout());
    Value sin = b.constant("sin", Tensor.ofFloats(Shape.of(8, 4), ramp(32, 0.25f)), std(F32, 8, 4).layout());
    float[] causal = new float[64];
    for (int i = 0; i < 8; i++) {
      for (int j = i + 1; j < 8; j++) {
        causal[i * 8 + j] = Float.NEGATIVE_INFINITY;
      }
    }
    Value mask = b.constant("mask", Tensor.ofFloats(Shape.of(8, 8), causal), std(F32, 8, 8).layout());
    Value proj = b.constant("proj", Tensor.ofFloats(Shape.of(8, 4), ramp(32, -1.5f)), std(F32, 8, 4).layout());
    Value cond = b.constant("cond", Tensor.ofLongs(BOOL, Shape.of(1, 4), new long[] {1, 0, 0, 1}),
        type(BOOL, "*x", 1, 4).layout());

    Value x = b.op("embedding", "x", List.of(ids, wte), Attrs.EMPTY, "Gather_0");
    b.beginLayer("decoder", Attrs.builder().put("heads", 2).put("ffn", 32).put("activation", "silu")
        .put("norm", "rms").put("eps", 1e-6f).build());
    Value n1 = b.op("rms_norm", "n1", List.of(x, g), eps(1e-6f), "Pow_1", "ReduceMean_2", "Sqrt_3");
    b.op("rms_norm", "n1_plain", List.of(x), eps(1e-6f));
    b.op("layer_norm", "n1_ln", List.of(x), eps(1e-5f));
    b.op("layer_norm", "n1_lng", List.of(x, g), eps(1e-5f));
    b.op("layer_norm", "n1_lngb", List.of(x, g, beta), eps(1e-12f));
    Value qkv = b.op("linear", "qkv", List.of(n1, wqkv, bqkv), Attrs.EMPTY, "MatMul_4", "Add_5");
    List<Value> s = b.ops("Split", List.of("q", "k", "v"), List.of(qkv),
        Attrs.builder().put("axis", 2).put("split", new long[] {16, 16, 16}).build(), "Split_6");
    Value qh = b.op("split_heads", "qh", List.of(s.get(0)), Attrs.builder().put("heads", 2).build());
    Value kh = b.op("split_heads", "kh", List.of(s.get(1)), Attrs.builder().put("heads", 2).build());
    Value vh = b.op("split_heads", "vh", List.of(s.get(2)), Attrs.builder().put("heads", 2).build());
    Value qr = b.op("rope", "qr", List.of(qh),
        Attrs.builder().put("rotary_dim", 8).put("theta", 10000f).put("interleaved", 0).build());
    Value kr = b.op("rope", "kr", List.of(kh, cos, sin),
        Attrs.builder().put("rotary_dim", 4).put("interleaved", 1).build());
    Value att = b.op("attention", "att", List.of(qr, kr, vh, mask),
        Attrs.builder().put("causal", 0).put("scale", (float) (1 / Math.sqrt(8))).build(), "Softmax_9");
    b.op("attention", "att_causal", List.of(qr, kr, vh), Attrs.builder().put("causal", 1).put("scale", 1f).build());
    Value merged = b.op("merge_heads", "merged", List.of(att), Attrs.EMPTY);
    Value o = b.op("linear", "o", List.of(merged, wo), Attrs.EMPTY);
    Value r = b.op("Add", "r", List.of(x, o), Attrs.EMPTY, "Add_10");
    Value gate = b.op("linear", "gate", List.of(r, wg), Attrs.EMPTY);
    Value up = b.op("linear", "up", List.of(r, wu), Attrs.EMPTY);
    Value sw = b.op("swiglu", "sw", List.of(gate, up), Attrs.EMPTY);
    b.op("geglu_erf", "ge", List.of(gate, up), Attrs.EMPTY);
    b.op("geglu_tanh", "gt", List.of(gate, up), Attrs.EMPTY);
    b.op("silu", "a1", List.of(gate), Attrs.EMPTY);
    b.op("gelu_erf", "a2", List.of(gate), Attrs.EMPTY);
    b.op("gelu_tanh", "a3", List.of(gate), Attrs.EMPTY);
    b.op("relu", "a4", List.of(gate), Attrs.EMPTY);
    b.op("reglu", "rg", List.of(gate, up), Attrs.EMPTY);
    b.op("relu2", "a5", List.of(gate), Attrs.EMPTY);
    b.op("reglu2", "rg2", List.of(gate, up), Attrs.EMPTY);
    Value down = b.op("linear", "down", List.of(sw, wd), Attrs.EMPTY);
    Value r2 = b.op("Add", "r2", List.of(r, down), Attrs.EMPTY);
    b.endLayer();
    b.beginLayer("encoder", Attrs.EMPTY);
    Value t = b.op("Transpose", "t", List.of(r2), Attrs.builder().put("perm", new long[] {0, 2, 1}).build());
    Value rs = b.op("Reshape", "rs", List.of(t), Attrs.builder().put("shape", new long[] {16, 8}).build());
    Value mm = b.op("MatMul", "mm", List.of(rs, proj), Attrs.EMPTY);
    Value sm = b.op("Softmax", "sm", List.of(mm), Attrs.builder().put("axis", 1).build());
    Value cl = b.op("Clip", "cl", List.of(sm),
        Attrs.builder().put("min", Float.NEGATIVE_INFINITY).put("max", Float.POSITIVE_INFINITY).build());
    Value rm = b.op("ReduceMean", "rm", List.of(cl),
        Attrs.builder().put("axes", new long[] {1}).put("keepdims", 1).build());
    Value cat = b.op("Concat", "cat", List.of(rm, rm, rm), Attrs.builder().put("axis", 1).build());
    b.endLayer();
    b.beginLayer("a \"strange\" kind", Attrs.builder().put("a b", 1).put("NaN", Float.NaN).build());
    b.endLayer();
    Value cast = b.op("Cast", "cast", List.of(cat), Attrs.builder().put("to", 7).build());
    Value where = b.op("Where", "where", List.of(cond, sm, sm), Attrs.EMPTY);
    b.op("LayerNormalization", "lnorm", List.of(r2, g),
        Attrs.builder().put("axis", 2).put("epsilon", 1e-5f).build());
    b.op("Gelu", "gelu", List.of(r2), Attrs.builder().put("approximate", "tanh").build());
    Module m = b.output(r2).output(cast).output(where).build();

    roundTrip(m);
    Set<String> printed = new TreeSet<>();
    m.ops().forEach(op -> printed.add(op instanceof Generic gen ? gen.type() : op.name()));
    assertTrue(printed.containsAll(Ops.blockNames()), "block ops missing: " + printed);
    assertEquals(3, m.layers().size());
    String text = TirPrinter.print(m);
    assertTrue(text.contains("  layer 1 encoder {} {\n"), text);
    assertTrue(text.contains("  layer 2 \"a \\\"strange\\\" kind\" {\"NaN\" = NaN, \"a b\" = 1} {\n  }\n"), text);
    assertTrue(text.contains("\n    %qkv = linear %n1, @wqkv, @bqkv : f32[1,8,48] <*,y,x> loc(\"MatMul_4\", \"Add_5\")\n"),
        text);
    assertTrue(text.contains("{causal = 0, scale = 0.35355338}"), text);
  }

  @Test
  void quotedNamesAndStrings() {
    ModuleBuilder b = new ModuleBuilder("odd \"name\" \\ with\ttabs\nand lines");
    Value a = b.input("a:b", std(F32, 4));
    Value w = b.weight("w eight", std(F32, 4), "src \"quoted\"");
    Value c = b.constant("é", Tensor.ofFloats(Shape.of(4), 1, 2, 3, 4), std(F32, 4).layout());
    Value sum = b.op("Add", "x\"y\\z\n\t\r", List.of(a, w), Attrs.EMPTY, "node \"1\"", "n\\2");
    Value plain = b.op("Mul", "ok.name/with$dollar-and-dash", List.of(sum, c), Attrs.EMPTY);
    Value num = b.op("Neg", "42", List.of(plain), Attrs.EMPTY);
    Module m = b.output(num).output(sum).build();
    Module back = roundTrip(m);
    String text = TirPrinter.print(back);
    assertTrue(text.contains("module \"odd \\\"name\\\" \\\\ with\\ttabs\\nand lines\" {\n"), text);
    assertTrue(text.contains("  input %\"a:b\" : f32[4] <x>\n"), text);
    assertTrue(text.contains("  weight @\"w eight\" : f32[4] <x> = \"src \\\"quoted\\\"\"\n"), text);
    assertTrue(text.contains("  const %\"é\" : f32[4] <x> = [1.0, 2.0, 3.0, 4.0]\n"), text);
    assertTrue(text.contains("  %\"x\\\"y\\\\z\\n\\t\\r\" = Add %\"a:b\", @\"w eight\" : f32[4] <x>"
        + " loc(\"node \\\"1\\\"\", \"n\\\\2\")\n"), text);
    assertTrue(text.contains("  %ok.name/with$dollar-and-dash = Mul "), text);
    assertTrue(text.contains("  %42 = Neg %ok.name/with$dollar-and-dash : f32[4] <x>\n"), text);
  }

  @Test
  void constantsOfEveryKind() {
    ModuleBuilder b = new ModuleBuilder("consts");
    Map<String, Tensor> cases = new LinkedHashMap<>();
    cases.put("splat", Tensor.filled(F32, Shape.of(2, 3), 0.5));
    cases.put("scalar", Tensor.ofFloats(Shape.SCALAR, -2.5f));
    cases.put("iscalar", Tensor.ofLongs(Shape.SCALAR, 7));
    cases.put("one", Tensor.ofLongs(Shape.of(1), -3));
    cases.put("list", Tensor.ofFloats(Shape.of(2, 2), 1, -0f, 0f, 3.25f));
    cases.put("longs", Tensor.ofLongs(Shape.of(3), Long.MIN_VALUE, 0, Long.MAX_VALUE));
    cases.put("bools", Tensor.ofLongs(BOOL, Shape.of(2, 2), new long[] {1, 0, 0, 1}));
    cases.put("boolsplat", Tensor.ofLongs(BOOL, Shape.of(3), new long[] {1, 1, 1}));
    cases.put("empty", Tensor.ofFloats(Shape.of(2, 0), new float[0]));
    cases.put("emptyints", Tensor.ofLongs(Shape.of(0), new long[0]));
    cases.put("specials", Tensor.ofFloats(Shape.of(5), Float.NaN, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MAX_VALUE));
    cases.put("nansplat", Tensor.filled(F32, Shape.of(2), Float.NaN));
    cases.put("inf", Tensor.ofFloats(Shape.SCALAR, Float.NEGATIVE_INFINITY));
    cases.put("half", Tensor.ofFloats(F16, Shape.of(2), new float[] {0.099975586f, 65504f}));
    cases.put("tiny", Tensor.ofFloats(Shape.of(2), 1e-40f, 1.17549435E-38f));
    for (Map.Entry<String, Tensor> e : cases.entrySet()) {
      b.constant(e.getKey(), e.getValue(), Layout.replicated(e.getValue().shape().rank()));
    }
    Module m = b.build();
    roundTrip(m);
    String text = TirPrinter.print(m);
    for (String line : List.of(
        "const %splat : f32[2,3] <*,*> = 0.5",
        "const %scalar : f32[] <> = -2.5",
        "const %iscalar : i64[] <> = 7",
        "const %one : i64[1] <*> = -3",
        "const %list : f32[2,2] <*,*> = [1.0, -0.0, 0.0, 3.25]",
        "const %longs : i64[3] <*> = [-9223372036854775808, 0, 9223372036854775807]",
        "const %bools : bool[2,2] <*,*> = [1, 0, 0, 1]",
        "const %boolsplat : bool[3] <*> = 1",
        "const %empty : f32[2,0] <*,*> = []",
        "const %emptyints : i64[0] <*> = []",
        "const %specials : f32[5] <*> = [NaN, Infinity, -Infinity, 1.4E-45, -3.4028235E38]",
        "const %nansplat : f32[2] <*> = NaN",
        "const %inf : f32[] <> = -Infinity",
        "const %half : f16[2] <*> = [0.099975586, 65504.0]",
        "const %tiny : f32[2] <*> = [1.0E-40, 1.17549435E-38]")) {
      assertTrue(text.contains("\n  " + line + "\n"), () -> line + " not in\n" + text);
    }
  }

  /** Attribute values of every kind, with the float specials, and keys that need quotes or are keywords. */
  @Test
  void attributesOfEveryKind() {
    ModuleBuilder b = new ModuleBuilder("attrs");
    Value x = b.input("x", std(F32, 2, 3));
    Attrs a = Attrs.builder()
        .put("i", -5)
        .put("big", Long.MIN_VALUE)
        .put("f", Float.NaN)
        .put("inf", Float.POSITIVE_INFINITY)
        .put("ninf", Float.NEGATIVE_INFINITY)
        .put("nz", -0f)
        .put("small", 1.4E-45f)
        .put("s", "a\"b\\c\nd")
        .put("is", new long[] {1, -2, 3})
        .put("fs", new Attr.Floats(List.of(Float.NaN, 1.5f, Float.NEGATIVE_INFINITY, -0f, 3.4028235E38f)))
        .put("empty", new long[0])
        .put("perm", new long[] {1, 0})
        .put("output", "keyword key")
        .put("NaN", 1)
        .put("with space", 2)
        .build();
    Value y = b.op("Relu", "y", List.of(x), a);
    Module m = b.output(y).build();
    roundTrip(m);
    assertTrue(TirPrinter.print(m).contains("%y = Relu %x {\"NaN\" = 1, big = -9223372036854775808, empty = [], "
        + "f = NaN, fs = [NaN, 1.5, -Infinity, -0.0, 3.4028235E38], i = -5, inf = Infinity, is = [1, -2, 3], "
        + "ninf = -Infinity, nz = -0.0, output = \"keyword key\", perm = [1, 0], s = \"a\\\"b\\\\c\\nd\", "
        + "small = 1.4E-45, \"with space\" = 2} : f32[2,3] <y,x>\n"), TirPrinter.print(m));
  }

  /** An empty float list prints as [] and reads back as the empty integer list Attrs treats alike. */
  @Test
  void emptyFloatListReadsAsEmptyInts() {
    ModuleBuilder b = new ModuleBuilder("m");
    Value x = b.input("x", std(F32, 2));
    b.op("Relu", "y", List.of(x), Attrs.builder().put("fs", new Attr.Floats(List.of())).build());
    Module m = b.build();
    String text = TirPrinter.print(m);
    Module back = TirParser.parse(text, "m.tir");
    assertEquals(text, TirPrinter.print(back));
    assertEquals(new Attr.Ints(List.of()), back.ops().get(0).attrs().get("fs").orElseThrow());
    assertEquals(0, back.ops().get(0).attrs().getFloats("fs").length);
  }

  @Test
  void layersAtTheEdges() {
    ModuleBuilder b = new ModuleBuilder("layers");
    Value x = b.input("x", std(F32, 4));
    b.beginLayer("empty_first", Attrs.EMPTY).endLayer();
    b.beginLayer("decoder", Attrs.builder().put("heads", 1).build());
    Value y = b.op("Neg", "y", List.of(x), Attrs.EMPTY);
    b.endLayer();
    b.beginLayer("decoder", Attrs.EMPTY);
    Value z = b.op("Abs", "z", List.of(y), Attrs.EMPTY);
    b.endLayer();
    b.beginLayer("empty_last", Attrs.EMPTY).endLayer();
    Module m = b.output(z).build();
    roundTrip(m);
    assertEquals(List.of(new Layer(0, "empty_first", Attrs.EMPTY, 0, 0),
        new Layer(1, "decoder", Attrs.builder().put("heads", 1).build(), 0, 1),
        new Layer(2, "decoder", Attrs.EMPTY, 1, 2),
        new Layer(3, "empty_last", Attrs.EMPTY, 2, 2)), m.layers());
  }

  @Test
  void emptyModule() {
    Module m = new ModuleBuilder("").build();
    assertEquals("# meshc tile IR\ntir 1\nmodule \"\" {\n}\n", TirPrinter.print(m));
    roundTrip(m);
  }

  /** Hand-written text: no header, comments, free spacing, a layer without info, bare @ and % names. */
  @Test
  void readsHandWrittenText() {
    String text = """
        # a model written by hand
        module "hand" {   # trailing comment
          input %x:f32[2,4]<y,x>
          weight @w : f32[4,3] <y,x> = "w"   perm []
          const %c : f32[1,3] <*,x> = [1, 2.5, -3]
          layer 0 decoder {
            %y = linear %x, @w : f32[2,3] <y,x>
          }
          %z = Add %y,%c{}:f32[2,3]<y,x>loc("a")
          output %z
        }""";
    Module m = TirParser.parse(text, "hand.tir");
    assertEquals(1, m.layers().size());
    assertEquals(Attrs.EMPTY, m.layers().get(0).info());
    assertEquals(List.of(), m.weights().get(0).perm());
    assertEquals(Tensor.ofFloats(Shape.of(1, 3), 1, 2.5f, -3), m.consts().get(0).data());
    assertEquals(Provenance.of("a"), m.ops().get(1).loc());
    roundTrip(m);
  }

  @Test
  void parsesFromAFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("m.tir");
    Files.writeString(f, GOLDEN);
    assertEquals(GOLDEN, TirPrinter.print(TirParser.parse(f)));
  }

  @Test
  void tensorAttributesAreNotPrintable() {
    ModuleBuilder b = new ModuleBuilder("m");
    Value x = b.input("x", std(F32, 2));
    Module m = b.build();
    Value y = new Value("y", std(F32, 2));
    Generic bad = new Generic("Relu", List.of(x),
        Attrs.builder().put("value", new Attr.TensorValue(Tensor.ofFloats(Shape.SCALAR, 1))).build(), List.of(y),
        Provenance.of("Relu_7"));
    Module withTensor = new Module(m.name(), m.inputs(), m.weights(), m.consts(), List.of(bad), List.of(), List.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TirPrinter.print(withTensor));
    assertEquals("op #0 'Relu': attribute 'value' holds a tensor, which the text form cannot show"
        + " (only fold-only ops carry one)", e.getMessage());
  }

  @Test
  void overlappingLayersAreNotPrintable() {
    ModuleBuilder b = new ModuleBuilder("m");
    Value x = b.input("x", std(F32, 2));
    Value y = b.op("Neg", "y", List.of(x), Attrs.EMPTY);
    b.op("Neg", "z", List.of(y), Attrs.EMPTY);
    Module m = b.build();
    Module bad = new Module("m", m.inputs(), List.of(), List.of(), m.ops(),
        List.of(new Layer(0, "a", Attrs.EMPTY, 0, 2), new Layer(1, "b", Attrs.EMPTY, 1, 2)), List.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TirPrinter.print(bad));
    assertTrue(e.getMessage().startsWith("layer 1 [1, 2) overlaps"), e.getMessage());
  }

  private static Attrs eps(float e) {
    return Attrs.builder().put("eps", e).build();
  }

  private static float[] ramp(int n, float step) {
    float[] r = new float[n];
    for (int i = 0; i < n; i++) {
      r[i] = i * step;
    }
    return r;
  }
}
