#!/usr/bin/env python3
"""Build two tiny random-weight decoder-only causal LMs with the real
`transformers` classes and export them to ONNX (dynamo exporter, opset 18).

Outputs (in examples/models/, relative to the repository root):
  tiny-gpt2.onnx,  tiny-gpt2.input_ids.npy,  tiny-gpt2.logits.npy,  tiny-gpt2.greedy.json
  tiny-llama.onnx, tiny-llama.input_ids.npy, tiny-llama.logits.npy, tiny-llama.greedy.json

Each .onnx has a single input `input_ids` INT64 [batch, sequence] (both
dimensions symbolic), a single output `logits` FLOAT [batch, sequence, 512],
and all weights inline (no external .onnx.data file).

Regenerate from the repository root with:
    python3 examples/scripts/make_tiny_decoders.py
(needs torch, transformers 5.x, onnx, onnxruntime, onnxscript, numpy).

Deterministic: fixed configs, a seed chosen by a fixed scan (choose_seed), fixed
input ids.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import onnxscript.optimizer
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "models"))

VOCAB = 512
MAX_POS = 64
SEQ = 16          # length of the committed reference input
PROMPT_LEN = 8    # greedy decoding starts from the first 8 ids of the input
GEN_LEN = 16      # and generates 16 more tokens (24 total <= MAX_POS)
MIN_MARGIN = 0.05  # see choose_seed
MIN_DISTINCT = 8


def build_gpt2():
    cfg = GPT2Config(vocab_size=VOCAB, n_positions=MAX_POS, n_embd=64, n_layer=2,
                     n_head=4, n_inner=256, activation_function="gelu_new",
                     use_cache=False, bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(cfg)


def build_llama():
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=176,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=MAX_POS, rope_theta=10000.0,
                      tie_word_embeddings=False, use_cache=False)
    return LlamaForCausalLM(cfg)


def fan_in(name, p):
    """The input width of the matmul a weight takes part in: GPT-2's Conv1D
    stores [in, out]; nn.Linear stores [out, in]; an embedding [rows, d] is
    read as the d-wide row that the (tied) LM head also multiplies."""
    if name.split(".")[-2] in ("c_attn", "c_proj", "c_fc"):
        return p.shape[0]
    return p.shape[1]


def randomize_(model, seed):
    """HF init leaves every bias at 0 and every norm weight at 1; the ONNX
    optimizer would then de-duplicate those identical initializers into one
    shared tensor. Give every parameter distinct random values instead so that
    each layer has its own initializers, like a real checkpoint.

    Matrices are N(0, 1/fan_in): each projection keeps its input's scale, the
    per-layer gain of a trained model (HF's 0.02 at LLaMA3-8B's width 4096 is
    0.02 * sqrt(4096) = 1.3). An earlier version drew N(0, 0.3^2) at width 64,
    a gain of 2.4 per projection: that model amplified rounding so much that
    fp16 storage alone put its logits 0.05-0.07 from fp32's."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=p.dtype)
            if name.endswith("bias"):
                p.copy_(0.02 * noise)
            elif p.dim() == 1:          # LayerNorm / RMSNorm scale
                p.copy_(1.0 + 0.1 * noise)
            else:                       # embeddings, projections, lm_head
                p.copy_(noise / fan_in(name, p) ** 0.5)


def greedy_torch(model, ids):
    """Greedy ids from the first PROMPT_LEN ids (full recompute each step) and
    the smallest gap between the best and second-best logit on the way."""
    seq = torch.from_numpy(ids[:, :PROMPT_LEN].copy())
    generated, margins = [], []
    with torch.no_grad():
        for _ in range(GEN_LEN):
            out = model(input_ids=seq, use_cache=False).logits[0, -1]
            top2 = torch.topk(out, 2).values
            margins.append(float(top2[0] - top2[1]))
            nxt = out.argmax()
            generated.append(int(nxt))
            seq = torch.cat([seq, nxt.view(1, 1)], dim=1)
    return generated, min(margins)


def choose_seed(builder, first, ids):
    """The first seed from `first` up whose greedy run (in PyTorch, fp32) keeps
    the top-2 logit margin >= MIN_MARGIN at every step and makes at least
    MIN_DISTINCT different tokens: a test that compares greedy ids from an
    fp16 implementation then checks the implementation, not a coin-toss
    between two near-equal logits, and the output is not one token repeated."""
    for seed in range(first, first + 1000):
        torch.manual_seed(seed)
        model = builder().eval()
        randomize_(model, seed)
        generated, margin = greedy_torch(model, ids)
        if margin >= MIN_MARGIN and len(set(generated)) >= MIN_DISTINCT:
            return seed, model
    raise SystemExit(f"no seed in [{first}, {first + 1000}) qualifies")


def keep_param_transposes(param_names):
    """should_fold hook for the onnxscript optimizer.

    By default the optimizer always folds Transpose(initializer) into a new,
    pre-transposed initializer with a generated name (val_NNN), so nn.Linear
    weights lose their parameter names. Keep Transpose nodes whose input is a
    model parameter: every weight initializer then keeps its HF name and its
    PyTorch layout ([out, in] for nn.Linear), exactly as in a weight-less
    export where nothing can be folded (see make_paper_shapes.py)."""
    def should_fold(node):
        if node.op_type == "Transpose" and any(
                v is not None and v.name in param_names for v in node.inputs):
            return False
        return None
    return should_fold


def strip_metadata(m):
    """Keep only the per-node metadata "namespace" (the HF module path and
    class of every node, e.g. ": ...LlamaForCausalLM/model: ...LlamaModel/
    model.layers.0: ...LlamaDecoderLayer/.../linear: aten.linear.default").
    Dropped: the Python stack traces (absolute paths of the machine that ran
    the export) and class_hierarchy / name_scopes / fx_node, which repeat the
    namespace or are debugging aids and would double the size of the graphs."""
    for n in m.graph.node:
        keep = [p for p in n.metadata_props if p.key == "namespace"]
        del n.metadata_props[:]
        n.metadata_props.extend(keep)


def export(model, path):
    # config.use_cache=False and no attention_mask: the traced forward takes
    # input_ids only and returns logits only.
    # batch=2 in the example so that torch.export does not specialise batch to 1
    example = torch.zeros((2, SEQ), dtype=torch.int64)
    batch = torch.export.Dim("batch", max=64)
    sequence = torch.export.Dim("sequence", max=MAX_POS)
    with torch.no_grad():
        prog = torch.onnx.export(
            model, (example,), dynamo=True, opset_version=18, optimize=False,
            input_names=["input_ids"], output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch, 1: sequence}},
        )
    # the exporter's default optimisation (optimize=True), but keeping
    # Transpose(weight) nodes
    param_names = {n for n, _ in model.named_parameters()}
    onnxscript.optimizer.optimize_ir(prog.model, should_fold=keep_param_transposes(param_names))
    m = prog.model_proto  # weights are in memory: serialise everything inline
    strip_metadata(m)
    m.doc_string = "tiny random-weight test model for meshc; see examples/models/README.md"
    onnx.save_model(m, path, save_as_external_data=False)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m


def ort_session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def make(name, builder, first_seed):
    print(f"=== {name}")
    ids = np.random.default_rng(7).integers(0, VOCAB, (1, SEQ)).astype(np.int64)
    seed, model = choose_seed(builder, first_seed, ids)
    print(f"seed {seed}")
    path = os.path.join(OUT_DIR, f"{name}.onnx")
    export(model, path)
    assert not os.path.exists(path + ".data")
    print(f"{path}: {os.path.getsize(path)} bytes")

    sess = ort_session(path)
    logits = sess.run(["logits"], {"input_ids": ids})[0].astype(np.float32)
    with torch.no_grad():
        ref = model(input_ids=torch.from_numpy(ids), use_cache=False).logits.numpy()
    diff = float(np.max(np.abs(ref - logits)))
    print(f"logits {logits.shape}, max|torch-ORT| = {diff:.3e}, [0,0,0:4] = {logits[0, 0, :4]}")
    assert diff < 1e-3, diff
    np.save(os.path.join(OUT_DIR, f"{name}.input_ids.npy"), ids)
    np.save(os.path.join(OUT_DIR, f"{name}.logits.npy"), logits)

    # greedy decoding with ORT, full recompute each step (no KV cache)
    seq = ids[:, :PROMPT_LEN].copy()
    generated = []
    margins = []
    for _ in range(GEN_LEN):
        out = sess.run(["logits"], {"input_ids": seq})[0]
        nxt = int(np.argmax(out[0, -1]))
        top2 = np.sort(out[0, -1])[-2:]
        margins.append(float(top2[1] - top2[0]))
        generated.append(nxt)
        seq = np.concatenate([seq, np.array([[nxt]], dtype=np.int64)], axis=1)
    # cross-check against torch greedy
    tgen, _ = greedy_torch(model, ids)
    if tgen != generated:
        print(f"WARNING: torch greedy {tgen} != ORT greedy {generated}")
    greedy = {"prompt_ids": ids[0, :PROMPT_LEN].tolist(), "generated_ids": generated}
    with open(os.path.join(OUT_DIR, f"{name}.greedy.json"), "w") as f:
        json.dump(greedy, f)
        f.write("\n")
    print("greedy:", greedy, f"min top-2 logit margin {min(margins):.4f}")
    return diff


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    print("torch", torch.__version__, "transformers", transformers.__version__,
          "onnx", onnx.__version__, "onnxruntime", ort.__version__)
    make("tiny-gpt2", build_gpt2, first_seed=1234)
    make("tiny-llama", build_llama, first_seed=5678)
    return 0


if __name__ == "__main__":
    sys.exit(main())
