#!/usr/bin/env python3
"""Export paper-scale decoder graphs (LLaMA3-8B, LLaMA2-13B, CodeLLaMA-34B,
QWen2-72B shapes) to ONNX WITHOUT materialising any weight.

The model is built on PyTorch's meta device (parameters have shape and dtype
but no storage) and exported with the dynamo exporter (opset 18). Every weight
then becomes an ONNX initializer with the right dims and dtype whose data is
EXTERNAL: data_location=EXTERNAL, external_data location=<name>.onnx.data and
offset/length of a contiguous packed layout (initializers in graph order, no
padding). The .onnx.data file is never written: the graph is for compilers that
never read weights (e.g. meshc) and onnxruntime cannot run it.

The only non-weight tensors that need real values are the rotary-embedding
buffers (inv_freq); they are computed on the CPU from the config and, as in a
normal export, folded into a small inline constant.

Usage (from the repository root):
    python3 examples/scripts/make_paper_shapes.py                  # llama3-8b only
    python3 examples/scripts/make_paper_shapes.py llama2-13b codellama-34b qwen2-72b
    python3 examples/scripts/make_paper_shapes.py all
Options: --dtype float16|float32 (default float16), --seq N for a static
sequence length instead of the default dynamic [batch, sequence] input,
--out DIR (default examples/models).
Output: <out>/<preset>-shape.onnx (only the graph; a few hundred KB).
"""
import argparse
import logging
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnx_ir as ir
import onnxscript.optimizer
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "models"))

# Published shapes. Only the fields that change the graph matter; weights are absent.
PRESETS = {
    "llama3-8b": (LlamaConfig, LlamaForCausalLM, dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0,
        max_position_embeddings=8192, rms_norm_eps=1e-5, tie_word_embeddings=False)),
    "llama2-13b": (LlamaConfig, LlamaForCausalLM, dict(
        vocab_size=32000, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
        num_attention_heads=40, num_key_value_heads=40, rope_theta=10000.0,
        max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False)),
    "codellama-34b": (LlamaConfig, LlamaForCausalLM, dict(
        vocab_size=32000, hidden_size=8192, intermediate_size=22016, num_hidden_layers=48,
        num_attention_heads=64, num_key_value_heads=8, rope_theta=1000000.0,
        max_position_embeddings=16384, rms_norm_eps=1e-5, tie_word_embeddings=False)),
    # Qwen2 = LLaMA architecture + bias on q/k/v projections
    "qwen2-72b": (Qwen2Config, Qwen2ForCausalLM, dict(
        vocab_size=152064, hidden_size=8192, intermediate_size=29568, num_hidden_layers=80,
        num_attention_heads=64, num_key_value_heads=8, rope_theta=1000000.0,
        max_position_embeddings=32768, rms_norm_eps=1e-6, tie_word_embeddings=False)),
    # the tiny-llama.onnx config, to check that a meta export gives the same graph
    "tiny-llama-check": (LlamaConfig, LlamaForCausalLM, dict(
        vocab_size=512, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_theta=10000.0, tie_word_embeddings=False)),
}
DEFAULT_PRESETS = ["llama3-8b"]
TORCH_TO_IR = {torch.float16: ir.DataType.FLOAT16, torch.float32: ir.DataType.FLOAT,
               torch.bfloat16: ir.DataType.BFLOAT16}


def build_meta_model(preset, dtype):
    cfg_cls, model_cls, kw = PRESETS[preset]
    cfg = cfg_cls(use_cache=False, **kw)
    # like from_pretrained(dtype=...): parameters in `dtype`; the rotary inv_freq
    # buffer is computed in float32 by HF regardless of the default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("meta"):
            model = model_cls(cfg).eval()
    finally:
        torch.set_default_dtype(old)
    # real values for the (tiny) non-parameter buffers: build the same module on CPU
    buffers = {}
    with torch.device("cpu"):
        cpu_rope = type(model.model.rotary_emb)(config=cfg)
    for name, buf in cpu_rope.named_buffers():
        buffers["model.rotary_emb." + name] = buf.detach().clone()
    for name, b in model.named_buffers():
        assert name in buffers, f"no real value for buffer {name}"
        assert buffers[name].shape == b.shape and buffers[name].dtype == b.dtype, name
    params = {n: p for n, p in model.named_parameters()}
    return cfg, model, params, buffers


def make(preset, dtype, seq, out_dir):
    t0 = time.time()
    cfg, model, params, buffers = build_meta_model(preset, dtype)
    n_params = sum(p.numel() for p in params.values())
    print(f"=== {preset}: {n_params / 1e9:.2f} B parameters on the meta device, {dtype}")

    if seq:
        example = torch.zeros((1, seq), dtype=torch.int64)
        dynamic_shapes = None
    else:  # batch=2 so that torch.export does not specialise the batch to 1
        example = torch.zeros((2, 16), dtype=torch.int64)
        dynamic_shapes = {"input_ids": {0: torch.export.Dim("batch"),
                                        1: torch.export.Dim("sequence",
                                                            max=cfg.max_position_embeddings)}}
    with torch.no_grad():
        prog = torch.onnx.export(model, (example,), dynamo=True, opset_version=18,
                                 optimize=False, input_names=["input_ids"],
                                 output_names=["logits"], dynamic_shapes=dynamic_shapes)
    print(f"exported in {time.time() - t0:.0f} s")
    graph = prog.model.graph

    # 1) non-parameter buffers (rotary inv_freq) get their real values; weights
    #    get no value at all while the graph is optimised, so that no pass can
    #    read, fold or de-duplicate them
    weight_values = {}
    for name, value in list(graph.initializers.items()):
        if name in params:
            value.const_value = None
            weight_values[name] = value
        elif name in buffers:
            value.const_value = ir.tensor(buffers[name].numpy(), name=name)
        else:
            raise RuntimeError(f"initializer {name} is neither a parameter nor a known buffer")
    assert len(weight_values) == len(params), (len(weight_values), len(params))

    # 2) the exporter's default optimisation (what optimize=True would run).
    #    Transpose(weight) stays a node, as in make_tiny_decoders.py, so tiny
    #    and paper-scale graphs share one pattern.
    weight_names = set(params)

    def should_fold(node):
        if any(v is not None and v.name in weight_names for v in node.inputs):
            return False
        return None

    dedup_log = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
    dedup_log.setLevel(logging.ERROR)  # it warns once per value-less weight
    onnxscript.optimizer.optimize_ir(prog.model, should_fold=should_fold)

    # 3) weights -> external tensors in a packed layout (graph initializer order,
    #    contiguous, no padding) of a file that is never written
    data_name = f"{preset}-shape.onnx.data"
    offset = 0
    for name, value in list(graph.initializers.items()):
        if name not in weight_values:
            continue
        assert value is weight_values[name] and value.const_value is None, name
        p = params[name]
        nbytes = p.numel() * p.element_size()
        value.const_value = ir.ExternalTensor(
            data_name, offset, nbytes, TORCH_TO_IR[p.dtype],
            shape=ir.Shape(list(p.shape)), name=name)
        offset += nbytes
    missing = set(weight_values) - set(graph.initializers)
    assert not missing, f"weights dropped by the optimiser: {sorted(missing)[:5]}"
    print(f"{len(weight_values)} weight initializers, {offset / 2**30:.2f} GiB of (absent) "
          f"external data in {data_name}")

    # 4) serialise: external tensors become TensorProtos with data_location=EXTERNAL
    m = ir.serde.serialize_model(prog.model)
    for n in m.graph.node:  # see strip_metadata in make_tiny_decoders.py
        keep = [p for p in n.metadata_props if p.key == "namespace"]
        del n.metadata_props[:]
        n.metadata_props.extend(keep)
    m.doc_string = (f"{preset} shape, weights absent: external data file {data_name} "
                    "does not exist; see examples/models/README.md")
    verify_external(m, params, data_name)
    check_with_sparse_data(m, data_name, offset)
    path = os.path.join(out_dir, f"{preset}-shape.onnx")
    onnx.save_model(m, path, save_as_external_data=False)
    assert not os.path.exists(os.path.join(out_dir, data_name))
    print(f"{path}: {os.path.getsize(path)} bytes, {len(m.graph.node)} nodes, "
          f"{len(m.graph.initializer)} initializers, {time.time() - t0:.0f} s total")
    return path


def check_with_sparse_data(m, data_name, total_bytes):
    """onnx.checker insists that the external data file exists and is a regular
    file. Check a temporary copy beside a SPARSE stand-in of the right size
    (no disk blocks, nothing read), then delete both."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        onnx.save_model(m, path, save_as_external_data=False)
        with open(os.path.join(tmp, data_name), "wb") as f:
            f.truncate(total_bytes)
        onnx.checker.check_model(path, full_check=True)


def verify_external(m, params, data_name):
    """Every weight is an EXTERNAL TensorProto with the parameter's dims and
    dtype; offsets/lengths tile [0, total) contiguously; nothing else is external."""
    np2onnx = {torch.float16: onnx.TensorProto.FLOAT16, torch.float32: onnx.TensorProto.FLOAT,
               torch.bfloat16: onnx.TensorProto.BFLOAT16}
    spans = []
    seen = set()
    for t in m.graph.initializer:
        if t.name in params:
            p = params[t.name]
            assert t.data_location == onnx.TensorProto.EXTERNAL, t.name
            assert list(t.dims) == list(p.shape), t.name
            assert t.data_type == np2onnx[p.dtype], t.name
            assert not t.raw_data, t.name
            ext = {e.key: e.value for e in t.external_data}
            assert ext["location"] == data_name, ext
            off, length = int(ext["offset"]), int(ext["length"])
            assert length == p.numel() * p.element_size(), t.name
            spans.append((off, length))
            seen.add(t.name)
        else:
            assert t.data_location != onnx.TensorProto.EXTERNAL, t.name
    assert seen == set(params), set(params) - seen
    spans.sort()
    pos = 0
    for off, length in spans:
        assert off == pos, (off, pos)
        pos += length


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("presets", nargs="*", default=DEFAULT_PRESETS,
                    help=f"{', '.join(PRESETS)} or 'all' (default: {' '.join(DEFAULT_PRESETS)})")
    ap.add_argument("--dtype", default="float16", choices=["float16", "float32", "bfloat16"])
    ap.add_argument("--seq", type=int, default=0,
                    help="static sequence length (input [1, SEQ]); default: dynamic [batch, sequence]")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    presets = [p for p in PRESETS if p != "tiny-llama-check"] if args.presets == ["all"] else args.presets
    for p in presets:
        if p not in PRESETS:
            ap.error(f"unknown preset {p}")
    os.makedirs(args.out, exist_ok=True)
    print("torch", torch.__version__, "transformers", transformers.__version__,
          "onnx", onnx.__version__, "onnxscript", onnxscript.__version__)
    for p in presets:
        make(p, getattr(torch, args.dtype), args.seq, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
