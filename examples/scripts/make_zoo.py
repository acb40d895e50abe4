#!/usr/bin/env python3
"""A zoo of tiny random-weight transformer models exported to ONNX from the real
Hugging Face `transformers` classes, with onnxruntime reference outputs and a
manifest (examples/zoo/zoo.json) for meshc's front-end tests.

Per family the SAME weights are exported twice:
  <family>-static.onnx   input [1, 16], no dynamic shapes (the exporter folds
                         the causal mask and RoPE cos/sin into initializers)
  <family>-dynamic.onnx  input [batch, sequence], both symbolic
plus two fp16 exports (llama-fp16-static, qwen2-fp16-dynamic). Beside each
<name>.onnx: <name>.input_ids.npy (+ .attention_mask.npy for encoders),
<name>.logits.npy or <name>.last_hidden_state.npy (float32), and for decoders
<name>.greedy.json.

The export recipe, the weight randomisation and the seed scan follow
make_tiny_decoders.py (imported from the same folder); see
examples/models/README.md and examples/zoo/README.md.

Regenerate from the repository root with:
    python3 examples/scripts/make_zoo.py            # every model
    python3 examples/scripts/make_zoo.py llama gpt2 # some families only
                                                    # (zoo.json is then left as it is)
    python3 examples/scripts/make_zoo.py --out /tmp/zoo2 --families phi,mpt
        # into another folder, with a zoo.json of just those models; the
        # EXTRA_FAMILIES (phi, gpt_bigcode, ..., albert) are made only if named
Deterministic: fixed configs, seeds from a fixed scan, fixed inputs.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ beside make_tiny_decoders.py

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx.numpy_helper  # noqa: E402
import onnxruntime as ort  # noqa: E402
import onnxscript  # noqa: E402
import onnxscript.optimizer  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers.pytorch_utils import Conv1D  # noqa: E402

from make_tiny_decoders import (  # noqa: E402
    MAX_POS, PROMPT_LEN, SEQ, VOCAB, keep_param_transposes, ort_session, strip_metadata)

OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "zoo"))

GEN = 8               # greedy: 8 prompt ids + 8 generated = 16 = SEQ
MARGIN_GOOD = 0.05    # preferred top-2 logit margin (fp32), if the scan finds one
MARGIN_MIN = 0.01     # otherwise (and for fp16)
MIN_DISTINCT = 4
SCAN = 300            # seeds tried per family
MAX_FILE = 2 * 1024 * 1024

# ---------------------------------------------------------------------------
# The families. `config` is exactly the kwargs passed to the Config class
# (plus use_cache=False, added for decoders); `expect` is what a correct front
# end must find, read off the config and the HF modeling code of the family.

E = dict  # readability


def dec(family, cls, cfg, config, expect, seed_start, rescale=None):
    return dict(family=family, kind="decoder", cls=cls, cfg=cfg, seed_start=seed_start,
                config=dict(config, use_cache=False), expect=expect, rescale=rescale or {})


def enc(family, cls, cfg, config, expect, seed_start, model_kwargs=None):
    return dict(family=family, kind="encoder", cls=cls, cfg=cfg, seed_start=seed_start,
                config=config, expect=expect, model_kwargs=model_kwargs or {})


def rope_expect(rotary_dim, interleaved, theta):
    return dict(positions="rope", rotary_dim=rotary_dim, rope_interleaved=interleaved,
                rope_theta=theta)


NO_ROPE = dict(rotary_dim=None, rope_interleaved=None, rope_theta=None)

FAMILIES = [
    dec("llama", "LlamaForCausalLM", "LlamaConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=176, activation="swiglu",
          norm="rms_norm", norm_eps=1e-6, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=100),
    dec("llama-tied", "LlamaForCausalLM", "LlamaConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=192, activation="swiglu",
          norm="rms_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 500000.0), tied_embeddings=True, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=200),
    dec("mistral", "MistralForCausalLM", "MistralConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=MAX_POS,
          rope_theta=1000000.0, rms_norm_eps=1e-5, sliding_window=None,
          tie_word_embeddings=False),
        E(layers=2, width=64, heads=4, kv_heads=1, head_dim=16, ffn=160, activation="swiglu",
          norm="rms_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 1000000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=300),
    dec("qwen2", "Qwen2ForCausalLM", "Qwen2Config",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=176, activation="swiglu",
          norm="rms_norm", norm_eps=1e-6, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 1000000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=True, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=400),
    # head_dim 32 with 4 heads at width 64: q_proj is 64 -> 128, o_proj 128 -> 64
    # (as in real Qwen3 checkpoints, heads * head_dim != hidden_size)
    dec("qwen3", "Qwen3ForCausalLM", "Qwen3Config",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, head_dim=32,
          max_position_embeddings=MAX_POS, rope_theta=1000000.0, rms_norm_eps=1e-6,
          tie_word_embeddings=False),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=32, ffn=160, activation="swiglu",
          norm="rms_norm", norm_eps=1e-6, norm_position="pre", residual="sequential",
          **rope_expect(32, False, 1000000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=True, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=500),
    dec("phi3", "Phi3ForCausalLM", "Phi3Config",
        E(vocab_size=VOCAB, hidden_size=96, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          original_max_position_embeddings=MAX_POS, rope_theta=10000.0, rms_norm_eps=1e-5,
          tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0),
        E(layers=2, width=96, heads=6, kv_heads=2, head_dim=16, ffn=256, activation="swiglu",
          norm="rms_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 10000.0), tied_embeddings=False, qkv="fused",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=600),
    dec("gemma", "GemmaForCausalLM", "GemmaConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=4, head_dim=16,
          hidden_act="gelu_pytorch_tanh", max_position_embeddings=MAX_POS,
          rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=192,
          activation="geglu_tanh", norm="rms_norm", norm_eps=1e-6, norm_position="pre",
          residual="sequential", **rope_expect(16, False, 10000.0), tied_embeddings=True,
          qkv="separate", qkv_bias=False, qk_norm=False, embed_scale=8.0, embed_norm=False,
          lm_head_bias=False),
        seed_start=700, rescale={"model.embed_tokens.weight": 0.125}),
    dec("gpt2", "GPT2LMHeadModel", "GPT2Config",
        E(vocab_size=VOCAB, n_positions=MAX_POS, n_embd=64, n_layer=2, n_head=4, n_inner=256,
          activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=0,
          eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=True, qkv="fused", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=False, lm_head_bias=False),
        seed_start=800),
    dec("gpt-neox", "GPTNeoXForCausalLM", "GPTNeoXConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=2, hidden_act="gelu", max_position_embeddings=MAX_POS,
          rotary_pct=0.25, rotary_emb_base=10000.0, layer_norm_eps=1e-5,
          use_parallel_residual=True, tie_word_embeddings=False),
        E(layers=2, width=64, heads=2, kv_heads=2, head_dim=32, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="parallel",
          **rope_expect(8, False, 10000.0), tied_embeddings=False, qkv="fused",
          qkv_bias=True, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=900),
    dec("gptj", "GPTJForCausalLM", "GPTJConfig",
        E(vocab_size=VOCAB, n_positions=MAX_POS, n_embd=64, n_layer=2, n_head=4, rotary_dim=8,
          n_inner=256, activation_function="gelu_new", layer_norm_epsilon=1e-5,
          tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="parallel",
          **rope_expect(8, True, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=True),
        seed_start=1000),
    dec("falcon", "FalconForCausalLM", "FalconConfig",
        E(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
          multi_query=True, parallel_attn=True, new_decoder_architecture=False, alibi=False,
          bias=False, max_position_embeddings=MAX_POS, rope_theta=10000.0,
          layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=1, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="parallel",
          **rope_expect(16, False, 10000.0), tied_embeddings=True, qkv="fused",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=1100),
    dec("opt", "OPTForCausalLM", "OPTConfig",
        E(vocab_size=VOCAB, hidden_size=64, ffn_dim=256, num_hidden_layers=3,
          num_attention_heads=4, max_position_embeddings=MAX_POS, word_embed_proj_dim=64,
          activation_function="relu", do_layer_norm_before=True),
        E(layers=3, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="relu",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=True, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=False, lm_head_bias=False),
        seed_start=1200),
    dec("stablelm", "StableLmForCausalLM", "StableLmConfig",
        E(vocab_size=VOCAB, hidden_size=128, intermediate_size=192, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          partial_rotary_factor=0.25, rope_theta=10000.0, layer_norm_eps=1e-5,
          tie_word_embeddings=False),
        E(layers=2, width=128, heads=4, kv_heads=2, head_dim=32, ffn=192, activation="swiglu",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(8, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=1300),
    dec("bloom", "BloomForCausalLM", "BloomConfig",
        E(vocab_size=VOCAB, hidden_size=64, n_layer=2, n_head=4, layer_norm_epsilon=1e-5,
          bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          positions="alibi", **NO_ROPE, tied_embeddings=True, qkv="fused", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=1400, rescale={"transformer.word_embeddings_layernorm.weight": 0.125}),
    enc("bert", "BertModel", "BertConfig",
        E(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=256, hidden_act="gelu", max_position_embeddings=MAX_POS,
          type_vocab_size=2, layer_norm_eps=1e-12),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-12, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=1500, model_kwargs=dict(add_pooling_layer=False)),
    # RoBERTa's positions start at padding_idx + 1 = 2, so 64 tokens need 66 rows
    enc("roberta", "RobertaModel", "RobertaConfig",
        E(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=256, hidden_act="gelu", max_position_embeddings=MAX_POS + 2,
          type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-5, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=1600, model_kwargs=dict(add_pooling_layer=False)),
    enc("distilbert", "DistilBertModel", "DistilBertConfig",
        E(vocab_size=VOCAB, dim=64, n_layers=3, n_heads=4, hidden_dim=256, activation="gelu",
          max_position_embeddings=MAX_POS, sinusoidal_pos_embds=False),
        E(layers=3, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-12, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=1700),
]

# `rescale` (Gemma, BLOOM): with the weights drawn as above, the embedded token
# would enter the residual stream with rms 1 (Gemma multiplies the embedding by
# sqrt(64) = 8, BLOOM normalises it with a LayerNorm) instead of the rms
# 1/sqrt(64) = 0.125 of every other family (N(0, 1/d) embedding, no scaling);
# the layers' writes are then too small to move the residual away from the
# token's own embedding and the tied LM head repeats the last prompt token for
# every seed (0 of 300 seeds gave 4 distinct ids). The listed parameter is
# multiplied by 0.125 after drawing so that the embedded token has the same rms
# 0.125 as elsewhere.

# (family, export) of the fp16 models: weights of the fp32 family's seed, halved
FP16 = [("llama", "static"), ("qwen2", "dynamic")]

# ---------------------------------------------------------------------------
# More families, NOT part of the default run (examples/zoo stays as it is):
# build them with --families (and --out DIR for a separate folder and a
# zoo.json of just them), e.g.
#     python3 examples/scripts/make_zoo.py --out /tmp/zoo2 --families phi,mpt
# Same recipe, seeds from 1800 on. `expect` keys are those of FAMILIES; values
# with no counterpart there: activation "relu2" (relu(x)^2, Nemotron and
# Persimmon), norm_position "pre_post" (Gemma-2: RMSNorm before AND after both
# attention and MLP). Not expressed in `expect` (see the comments per family):
# Gemma-2's logit soft-capping and sliding window, Granite's multipliers,
# Cohere's logit_scale, OLMo's parameter-free LayerNorm, MPT's bias-free LayerNorm,
# ELECTRA/ALBERT's embedding_size < width, ALBERT's layer sharing.

EXTRA_FAMILIES = [
    # Phi-1/1.5/2: one LayerNorm, attention and MLP in parallel, partial rotary
    # (half-split) on 8 of 16 dims, q/k/v/dense/fc biases, lm_head bias
    dec("phi", "PhiForCausalLM", "PhiConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=4, hidden_act="gelu_new",
          max_position_embeddings=MAX_POS, partial_rotary_factor=0.5, rope_theta=10000.0,
          layer_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="parallel",
          **rope_expect(8, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=True, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=True),
        seed_start=1800),
    # SantaCoder / StarCoder-1: multi-query attention, fused c_attn [64+2*16, 64]
    # split (64, 16, 16), learned positions, GPT-2-style block with nn.Linear
    dec("gpt_bigcode", "GPTBigCodeForCausalLM", "GPTBigCodeConfig",
        E(vocab_size=VOCAB, n_positions=MAX_POS, n_embd=64, n_layer=2, n_head=4, n_inner=256,
          activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5, multi_query=True,
          bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=1, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=True, qkv="fused", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=False, lm_head_bias=False),
        seed_start=1900),
    # StarCoder-2: LayerNorm, GQA, RoPE, biases everywhere, plain gelu MLP, tied
    dec("starcoder2", "Starcoder2ForCausalLM", "Starcoder2Config",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, hidden_act="gelu_pytorch_tanh",
          max_position_embeddings=MAX_POS, rope_theta=100000.0, norm_epsilon=1e-5,
          use_bias=True, sliding_window=None, tie_word_embeddings=True, bos_token_id=0,
          eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 100000.0), tied_embeddings=True, qkv="separate",
          qkv_bias=True, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=2000),
    # OLMo-1: LayerNorm WITHOUT weight or bias (F.layer_norm(x, None, None),
    # eps fixed at 1e-5 in the code), SwiGLU, no biases, clip_qkv off
    dec("olmo", "OlmoForCausalLM", "OlmoConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=MAX_POS,
          rope_theta=10000.0, tie_word_embeddings=False, pad_token_id=1, bos_token_id=None,
          eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=176, activation="swiglu",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=2100),
    # Command-R: one LayerNorm without bias (mean/var written out, not
    # F.layer_norm), attention and SwiGLU MLP in parallel, INTERLEAVED rotary
    # (cos/sin repeat_interleave'd, rotate pairs), tied, logits * logit_scale
    # (0.25 here; Command-R 0.0625 would put every margin below 0.01)
    dec("cohere", "CohereForCausalLM", "CohereConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          rope_theta=10000.0, layer_norm_eps=1e-5, logit_scale=0.25, use_qk_norm=False,
          tie_word_embeddings=True, pad_token_id=0, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=176, activation="swiglu",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="parallel",
          **rope_expect(16, True, 10000.0), tied_embeddings=True, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=2200),
    # Gemma-2: (1 + w) RMSNorm before and after attention and MLP, GeGLU,
    # embedding * 8, tied, attention logits soft-capped (tanh(x/50)*50) and
    # final logits (tanh(x/30)*30); layer 0 sliding window 8 (layer_types
    # default: sliding, full), query_pre_attn_scalar = head_dim. Eager
    # attention: transformers' sdpa path ignores the attention soft-cap.
    dec("gemma2", "Gemma2ForCausalLM", "Gemma2Config",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, head_dim=16,
          hidden_activation="gelu_pytorch_tanh", max_position_embeddings=MAX_POS,
          rope_theta=10000.0, rms_norm_eps=1e-6, query_pre_attn_scalar=16, sliding_window=8,
          attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
          attn_implementation="eager", tie_word_embeddings=True, pad_token_id=0,
          bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=192,
          activation="geglu_tanh", norm="rms_norm", norm_eps=1e-6, norm_position="pre_post",
          residual="sequential", **rope_expect(16, False, 10000.0), tied_embeddings=True,
          qkv="separate", qkv_bias=False, qk_norm=False, embed_scale=8.0, embed_norm=False,
          lm_head_bias=False),
        seed_start=2300, rescale={"model.embed_tokens.weight": 0.125}),
    # Granite-3: LLaMA with multipliers: embedding * 4, attention scale 1/16
    # (attention_multiplier instead of head_dim^-0.5), residual branches * 0.5,
    # logits / 2 (logits_scaling)
    dec("granite", "GraniteForCausalLM", "GraniteConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_POS,
          rope_theta=10000.0, rms_norm_eps=1e-6, embedding_multiplier=4.0,
          attention_multiplier=0.0625, residual_multiplier=0.5, logits_scaling=2.0,
          tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=176, activation="swiglu",
          norm="rms_norm", norm_eps=1e-6, norm_position="pre", residual="sequential",
          **rope_expect(16, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=4.0, embed_norm=False,
          lm_head_bias=False),
        seed_start=2400),
    # Nemotron-4/Minitron: LayerNorm1P (F.layer_norm with weight + 1, bias),
    # relu^2 MLP without gate (up_proj, down_proj), partial rotary 8 of 16, GQA
    dec("nemotron", "NemotronForCausalLM", "NemotronConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, head_dim=16, hidden_act="relu2",
          max_position_embeddings=MAX_POS, partial_rotary_factor=0.5, rope_theta=10000.0,
          norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=2, head_dim=16, ffn=256, activation="relu2",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(8, False, 10000.0), tied_embeddings=False, qkv="separate",
          qkv_bias=False, qk_norm=False, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=2500),
    # Persimmon/Fuyu: fused per-head query_key_value, q/k LayerNorm per head,
    # partial rotary 8 of 16, relu^2, biases
    dec("persimmon", "PersimmonForCausalLM", "PersimmonConfig",
        E(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
          num_attention_heads=4, hidden_act="relu2", max_position_embeddings=MAX_POS,
          partial_rotary_factor=0.5, rope_theta=10000.0, layer_norm_eps=1e-5,
          qk_layernorm=True, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="relu2",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          **rope_expect(8, False, 10000.0), tied_embeddings=False, qkv="fused",
          qkv_bias=True, qk_norm=True, embed_scale=None, embed_norm=False,
          lm_head_bias=False),
        seed_start=2600),
    # MPT: ALiBi (MPT's slopes, bias_max 8), fused Wqkv chunked in 3, no biases,
    # LayerNorm without bias, gelu (erf), ffn 4 * width, tied, eager-only class
    dec("mpt", "MptForCausalLM", "MptConfig",
        E(vocab_size=VOCAB, d_model=64, n_heads=4, n_layers=2, expansion_ratio=4,
          max_seq_len=MAX_POS, layer_norm_epsilon=1e-5, no_bias=True),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-5, norm_position="pre", residual="sequential",
          positions="alibi", **NO_ROPE, tied_embeddings=True, qkv="fused", qkv_bias=False,
          qk_norm=False, embed_scale=None, embed_norm=False, lm_head_bias=False),
        seed_start=2700),
    # ELECTRA discriminator body: BERT with embedding_size 32 < width 64
    # (embeddings and their LayerNorm at 32, then embeddings_project 32 -> 64)
    enc("electra", "ElectraModel", "ElectraConfig",
        E(vocab_size=VOCAB, embedding_size=32, hidden_size=64, num_hidden_layers=2,
          num_attention_heads=4, intermediate_size=256, hidden_act="gelu",
          max_position_embeddings=MAX_POS, type_vocab_size=2, layer_norm_eps=1e-12),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-12, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=2800),
    # XLM-RoBERTa: RoBERTa's architecture (positions from the ids, 66 rows)
    enc("xlm-roberta", "XLMRobertaModel", "XLMRobertaConfig",
        E(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=256, hidden_act="gelu", max_position_embeddings=MAX_POS + 2,
          type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
          eos_token_id=2),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_erf",
          norm="layer_norm", norm_eps=1e-5, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=2900, model_kwargs=dict(add_pooling_layer=False)),
    # ALBERT: embedding_size 32 (embedding LayerNorm at 32, then
    # embedding_hidden_mapping_in 32 -> 64), ONE layer's weights used by both
    # of the 2 layers (num_hidden_groups 1), gelu_new, post-norm
    enc("albert", "AlbertModel", "AlbertConfig",
        E(vocab_size=VOCAB, embedding_size=32, hidden_size=64, num_hidden_layers=2,
          num_hidden_groups=1, inner_group_num=1, num_attention_heads=4, intermediate_size=256,
          hidden_act="gelu_new", max_position_embeddings=MAX_POS, type_vocab_size=2,
          layer_norm_eps=1e-12, pad_token_id=0, bos_token_id=2, eos_token_id=3),
        E(layers=2, width=64, heads=4, kv_heads=4, head_dim=16, ffn=256, activation="gelu_tanh",
          norm="layer_norm", norm_eps=1e-12, norm_position="post", residual="sequential",
          positions="learned", **NO_ROPE, tied_embeddings=False, qkv="separate", qkv_bias=True,
          qk_norm=False, embed_scale=None, embed_norm=True, lm_head_bias=False),
        seed_start=3000, model_kwargs=dict(add_pooling_layer=False)),
]


# ---------------------------------------------------------------------------
# model building and random weights

def build(spec):
    cfg = getattr(transformers, spec["cfg"])(**spec["config"])
    model = getattr(transformers, spec["cls"])(cfg, **spec.get("model_kwargs", {}))
    return model.eval()


# norms whose forward scales by (1 + weight)
ONE_PLUS_NORMS = ("GemmaRMSNorm", "Gemma2RMSNorm", "NemotronLayerNorm1P")


def randomize_(model, seed):
    """make_tiny_decoders.randomize_ for any family: the fan-in is read off the
    module that owns the weight (Conv1D stores [in, out], nn.Linear [out, in],
    an embedding [rows, d]) instead of GPT-2's layer names, and the norms whose
    forward multiplies by (1 + weight) (Gemma's RMSNorm) get 0.1*N(0,1) so that
    their effective scale is 1 + 0.1*N(0,1) like every other norm. Draw order
    and distributions are otherwise those of make_tiny_decoders (for GPT-2 and
    LLaMA the same seed gives the same weights)."""
    owner = {}
    for mname, mod in model.named_modules():
        for pname, _ in mod.named_parameters(recurse=False):
            owner[f"{mname}.{pname}" if mname else pname] = mod
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            mod = owner[name]
            noise = torch.randn(p.shape, generator=g, dtype=p.dtype)
            if name.endswith("bias"):
                p.copy_(0.02 * noise)
            elif p.dim() == 1:
                if type(mod).__name__ in ONE_PLUS_NORMS:
                    p.copy_(0.1 * noise)
                else:
                    p.copy_(1.0 + 0.1 * noise)
            else:
                fan = p.shape[0] if isinstance(mod, Conv1D) else p.shape[1]
                p.copy_(noise / fan ** 0.5)


def make_model(spec, seed):
    torch.manual_seed(seed)
    model = build(spec)
    randomize_(model, seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, factor in spec.get("rescale", {}).items():
            params[name].mul_(factor)
    return model


def torch_logits(model, seq):
    with torch.no_grad():
        return model(input_ids=seq, use_cache=False).logits


def greedy_torch(model, ids):
    seq = torch.from_numpy(ids[:, :PROMPT_LEN].copy())
    generated, margins = [], []
    for _ in range(GEN):
        out = torch_logits(model, seq)[0, -1].float()
        top2 = torch.topk(out, 2).values
        margins.append(float(top2[0] - top2[1]))
        nxt = out.argmax()
        generated.append(int(nxt))
        seq = torch.cat([seq, nxt.view(1, 1)], dim=1)
    return generated, min(margins)


def choose_seed(spec, ids, first, half=False):
    """First seed from `first` whose torch greedy run keeps the top-2 margin
    >= MARGIN_GOOD (fp32) at all GEN steps with >= MIN_DISTINCT distinct ids;
    if none in SCAN seeds, the first with margin >= MARGIN_MIN. fp16 models
    (half=True): the first seed with margin >= MARGIN_MIN in torch fp16."""
    good = MARGIN_MIN if half else MARGIN_GOOD
    fallback = None
    for seed in range(first, first + SCAN):
        model = make_model(spec, seed)
        if half:
            model = model.half()
        generated, margin = greedy_torch(model, ids)
        if len(set(generated)) < MIN_DISTINCT:
            continue
        if margin >= good:
            return seed, model
        if fallback is None and margin >= MARGIN_MIN:
            fallback = seed
    if fallback is None:
        raise RuntimeError(f"no seed in [{first}, {first + SCAN}) qualifies")
    model = make_model(spec, fallback)
    return fallback, model.half() if half else model


# ---------------------------------------------------------------------------
# export

def input_names(kind):
    return ["input_ids"] if kind == "decoder" else ["input_ids", "attention_mask"]


def output_name(kind):
    return "logits" if kind == "decoder" else "last_hidden_state"


def drop_addresses(m):
    """A namespace that names a plain function keeps its repr, e.g. MPT's
    `max(0, ...)` on sizes becomes "sym_max: <function sym_max at 0x7f...>",
    whose address changes from run to run; drop the " at 0x..." part. (No
    model of the default run has one, so their files are unchanged.)"""
    import re
    for n in m.graph.node:
        for p in n.metadata_props:
            if " at 0x" in p.value:
                p.value = re.sub(r" at 0x[0-9a-fA-F]+>", ">", p.value)


def export(model, path, kind, dynamic):
    """make_tiny_decoders.export with or without dynamic shapes, and with an
    attention_mask input for encoders."""
    names = input_names(kind)
    shape = (2, SEQ) if dynamic else (1, SEQ)
    kwargs = {"input_ids": torch.zeros(shape, dtype=torch.int64)}
    if kind == "encoder":
        kwargs["attention_mask"] = torch.ones(shape, dtype=torch.int64)
    dyn = None
    if dynamic:
        batch = torch.export.Dim("batch", max=64)
        sequence = torch.export.Dim("sequence", max=MAX_POS)
        dyn = {n: {0: batch, 1: sequence} for n in names}
    torch.manual_seed(0)
    with torch.no_grad():
        prog = torch.onnx.export(
            model, (), kwargs=kwargs, dynamo=True, opset_version=18, optimize=False,
            input_names=names, output_names=[output_name(kind)], dynamic_shapes=dyn)
    param_names = {n for n, _ in model.named_parameters()}
    onnxscript.optimizer.optimize_ir(prog.model, should_fold=keep_param_transposes(param_names))
    m = prog.model_proto
    strip_metadata(m)
    drop_addresses(m)
    m.doc_string = "tiny random-weight test model for meshc; see examples/zoo/README.md"
    onnx.save_model(m, path, save_as_external_data=False)
    assert not os.path.exists(path + ".data")
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    assert [i.name for i in m.graph.input] == names, [i.name for i in m.graph.input]
    assert [o.name for o in m.graph.output] == [output_name(kind)], m.graph.output
    return m


# ---------------------------------------------------------------------------
# reference data

def run(sess, feeds, kind):
    return sess.run([output_name(kind)], feeds)[0].astype(np.float32)


def greedy_ort(sess, ids, static):
    """Greedy with ORT, full recompute. static: the [1, SEQ] model is fed the
    sequence right-padded with 0 and read at the last real position."""
    seq = ids[:, :PROMPT_LEN].copy()
    generated, margins = [], []
    for _ in range(GEN):
        n = seq.shape[1]
        if static:
            feed = np.zeros((1, SEQ), dtype=np.int64)
            feed[:, :n] = seq
        else:
            feed = seq
        out = run(sess, {"input_ids": feed}, "decoder")[0, n - 1]
        nxt = int(np.argmax(out))
        top2 = np.sort(out)[-2:]
        margins.append(float(top2[1] - top2[0]))
        generated.append(nxt)
        seq = np.concatenate([seq, np.array([[nxt]], dtype=np.int64)], axis=1)
    return generated, min(margins)


def graph_summary(m, param_names):
    """Op histogram and the non-parameter initializers with more than 16
    elements (folded masks, RoPE tables, ALiBi slopes, ...)."""
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    consts = []
    for t in m.graph.initializer:
        numel = int(np.prod(t.dims)) if len(t.dims) else 1
        if t.name not in param_names and numel > 16:
            a = onnx.numpy_helper.to_array(t)
            rng = f"[{a.min()}, {a.max()}]" if a.dtype != bool else f"{int(a.sum())} true"
            consts.append((t.name, onnx.TensorProto.DataType.Name(t.data_type), list(t.dims),
                           rng))
    return ops, consts


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def check_expect(spec, model):
    """Cross-check the hand-written expectations against the built model's
    config and modules (attribute_map makes n_layer, n_head, dim, ... answer
    to the common names)."""
    x, c, fam = spec["expect"], model.config, spec["family"]
    out = model.get_output_embeddings() if spec["kind"] == "decoder" else None
    tied = out is not None and out.weight is model.get_input_embeddings().weight
    assert x["tied_embeddings"] == tied, (fam, tied)
    assert x["lm_head_bias"] == (out is not None and out.bias is not None), fam
    emb = getattr(c, "embedding_size", None) or c.hidden_size  # ELECTRA, ALBERT: < width
    assert x["width"] == c.hidden_size, fam
    assert model.get_input_embeddings().weight.shape[1] == emb, fam
    assert x["layers"] == c.num_hidden_layers, fam
    assert x["heads"] == c.num_attention_heads, fam
    kv = 1 if getattr(c, "multi_query", False) else \
        getattr(c, "num_key_value_heads", None) or c.num_attention_heads
    assert x["kv_heads"] == kv, fam
    assert x["head_dim"] == (getattr(c, "head_dim", None) or
                             c.hidden_size // c.num_attention_heads), fam
    ffn = next(getattr(c, k) for k in ("intermediate_size", "ffn_dim", "hidden_dim",
                                       "ffn_hidden_size", "n_inner")
               if getattr(c, k, None) is not None) if fam not in ("bloom", "mpt") \
        else 4 * c.hidden_size
    assert x["ffn"] == ffn, fam
    rp = getattr(c, "rope_parameters", None)
    if x["positions"] == "rope":
        if fam == "gptj":
            assert x["rotary_dim"] == c.rotary_dim, fam
        else:
            assert x["rope_theta"] == rp["rope_theta"], (fam, rp)
            assert x["rotary_dim"] == int(x["head_dim"] * rp.get("partial_rotary_factor", 1.0))
    return sum(p.numel() for p in model.parameters())


def entry(spec, name, export_kind, dtype, seed, margin, diff, nparams, attn, diff32):
    kind = spec["kind"]
    inputs = {n: f"{name}.{n}.npy" for n in input_names(kind)}
    out = output_name(kind)
    return {
        "name": name, "file": f"{name}.onnx", "family": spec["family"],
        "export": export_kind, "dtype": dtype, "kind": kind,
        "transformers_class": spec["cls"], "config_class": spec["cfg"],
        "config": spec["config"], "model_kwargs": spec.get("model_kwargs", {}),
        "expect": spec["expect"], "inputs": inputs, "outputs": {out: f"{name}.{out}.npy"},
        "greedy": f"{name}.greedy.json" if kind == "decoder" else None,
        "seed": seed, "weight_rescale": spec.get("rescale", {}), "min_margin": margin,
        "max_abs_diff_vs_torch": diff, "max_abs_diff_vs_torch_fp32": diff32,
        "parameters": nparams, "attn_implementation": attn,
    }


def attn_impl(model):
    return model.config._attn_implementation


def make_family(spec, ids, mask, log, half_exports=()):
    """Export one family (fp32, static + dynamic) and, for each export kind in
    half_exports, an fp16 model. Returns the manifest entries."""
    fam, kind = spec["family"], spec["kind"]
    t0 = time.time()
    if kind == "decoder":
        seed, model = choose_seed(spec, ids, spec["seed_start"])
        tgen, tmargin = greedy_torch(model, ids)
    else:
        seed, model = spec["seed_start"], make_model(spec, spec["seed_start"])
    nparams = check_expect(spec, model)
    param_names = set(model.state_dict().keys())
    with torch.no_grad():
        if kind == "decoder":
            ref = torch_logits(model, torch.from_numpy(ids)).numpy()
        else:
            ref = model(input_ids=torch.from_numpy(ids),
                        attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    entries, greedy_ids = [], {}
    jobs = [("static", "float32"), ("dynamic", "float32")] + \
        [(e, "float16") for e in half_exports]
    for export_kind, dtype in jobs:
        if dtype == "float32":
            name, m_seed, m = f"{fam}-{export_kind}", seed, model
        else:
            name = f"{fam}-fp16-{export_kind}"
            m_seed, m = choose_seed(spec, ids, seed, half=True)
            hgen, hmargin = greedy_torch(m, ids)
        path = os.path.join(OUT_DIR, f"{name}.onnx")
        mp = export(m, path, kind, export_kind == "dynamic")
        size = os.path.getsize(path)
        assert size < MAX_FILE, (name, size)
        ops, consts = graph_summary(mp, param_names)
        sess = ort_session(path)
        feeds = {"input_ids": ids} if kind == "decoder" else \
            {"input_ids": ids, "attention_mask": mask}
        got = run(sess, feeds, kind)
        if dtype == "float32":
            diff = d32 = float(np.max(np.abs(ref - got)))
            assert diff < 1e-3, (name, diff)
            extra = ""
        else:
            with torch.no_grad():
                href = torch_logits(m, torch.from_numpy(ids)).float().numpy()
            diff = float(np.max(np.abs(href - got)))
            # vs the fp32 model only if the fp16 scan kept the fp32 seed
            d32 = float(np.max(np.abs(ref - got))) if m_seed == seed else None
            assert diff < 2e-2, (name, diff)
            extra = f", max|ORT fp16 - torch fp32| = {d32}"
        for n, v in feeds.items():
            np.save(os.path.join(OUT_DIR, f"{name}.{n}.npy"), v)
        np.save(os.path.join(OUT_DIR, f"{name}.{output_name(kind)}.npy"), got)
        margin = None
        line = (f"{name}: {size / 1024:.0f} KB, seed {m_seed}, {len(mp.graph.node)} nodes, "
                f"max|torch-ORT| = {diff:.3e}{extra}")
        if kind == "decoder":
            gen, margin = greedy_ort(sess, ids, export_kind == "static")
            if dtype == "float32":
                assert gen == tgen, (name, gen, tgen)
            elif gen != hgen:
                line += f"\n    NOTE: ORT fp16 greedy {gen} != torch fp16 greedy {hgen}"
            greedy_ids[(dtype, export_kind)] = gen
            write_json(os.path.join(OUT_DIR, f"{name}.greedy.json"),
                       {"prompt_ids": ids[0, :PROMPT_LEN].tolist(), "generated_ids": gen,
                        "min_margin": margin})
            tm = tmargin if dtype == "float32" else hmargin
            line += f", greedy {gen} (min margin {margin:.4f}, torch {tm:.4f})"
        log(line)
        log(f"    ops: {dict(sorted(ops.items()))}")
        for c in consts:
            log(f"    const init: {c[0]} {c[1]} {c[2]} {c[3]}")
        entries.append(entry(spec, name, export_kind, dtype, m_seed, margin, diff, nparams,
                             attn_impl(model), d32))
    if kind == "decoder":
        assert greedy_ids[("float32", "static")] == greedy_ids[("float32", "dynamic")], fam
        for e in half_exports:
            if greedy_ids[("float16", e)] != greedy_ids[("float32", "static")]:
                log(f"    NOTE: fp16 {e} greedy differs from fp32")
    log(f"    {fam}: {time.time() - t0:.1f} s")
    return entries


def parse_args(argv):
    """Families as positional names (as before) or --families a,b,c; --out DIR
    writes into DIR (created) instead of examples/zoo, and then always writes
    a zoo.json listing just the models made. Without --out, a subset leaves
    examples/zoo/zoo.json as it is; no arguments = every model of FAMILIES
    and zoo.json (the committed zoo). EXTRA_FAMILIES are made only if named."""
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="families to make (default: all of FAMILIES)")
    ap.add_argument("--families", default="", help="comma-separated families")
    ap.add_argument("--out", default=None, help="output folder (default examples/zoo)")
    a = ap.parse_args(argv)
    names = list(a.names) + [f for f in a.families.split(",") if f]
    known = [s["family"] for s in FAMILIES + EXTRA_FAMILIES]
    unknown = [f for f in names if f not in known]
    if unknown:
        ap.error(f"unknown families {unknown}; known: {', '.join(known)}")
    return names, a.out


def main(argv):
    global OUT_DIR
    names, out = parse_args(argv)
    if out is not None:
        OUT_DIR = os.path.abspath(out)
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()

    def log(s):
        print(s, flush=True)

    log(f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, "
        f"onnxscript {onnxscript.__version__}, numpy {np.__version__}")
    ids = np.random.default_rng(7).integers(0, VOCAB, (1, SEQ)).astype(np.int64)
    mask = np.ones((1, SEQ), dtype=np.int64)
    wanted = names or [s["family"] for s in FAMILIES]
    entries, failed = [], {}
    for spec in FAMILIES + EXTRA_FAMILIES:
        fam = spec["family"]
        if fam not in wanted:
            continue
        log(f"=== {fam}")
        half = [e for f, e in FP16 if f == fam]
        try:
            entries += make_family(spec, ids, mask, log, half)
        except Exception as ex:  # record and go on with the next family
            failed[fam] = f"{type(ex).__name__}: {ex}"
            log(f"FAILED {fam}: {failed[fam]}")
    if names and out is None:
        log("some families only: zoo.json not rewritten")
    else:
        write_json(os.path.join(OUT_DIR, "zoo.json"), entries)
    log(f"{len(entries)} models, failed: {failed or 'none'}, {time.time() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
