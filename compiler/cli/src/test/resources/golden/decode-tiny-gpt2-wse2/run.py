#!/usr/bin/env cs_python
# meshc: greedy generation with this decode project on the Cerebras simulator or a system, checked
# against ONNX Runtime. Weights come from the ONNX file, tiled onto the PEs as weights.json (meshc's plan)
# says; the host looks up embeddings, writes each token's RoPE angles, launches `step` region by
# region and carries the residual from one region to the next.
import argparse
import contextlib
import json

import numpy as np
import onnx
from onnx import numpy_helper

parser = argparse.ArgumentParser(description="meshc decode project: greedy generation")
parser.add_argument("--name", default="out", help="the cslc output folder (out-N per wafer when several)")
parser.add_argument("--cmaddr", help="IP:port of a CS system, or one per wafer separated by commas; the "
                    "simulator when absent")
parser.add_argument("--model", help="the ONNX file (default: the one meshc compiled)")
parser.add_argument("--prompt", default="1,2,3", help="prompt token ids")
parser.add_argument("--new", type=int, default=8, help="tokens to generate")
parser.add_argument("--artifact", help="the JSON compile_appliance.py wrote, or one per wafer separated by commas: "
                    "run through the appliance")
parser.add_argument("--simulator", action="store_true", help="with --artifact: the appliance's simulator")
args = parser.parse_args()

# The runtime: the appliance's (run.py --artifact, as appliance.sh runs it: a CS system, or the
# appliance's simulator with --simulator) or cs_python's local one (commands.sh; --cmaddr for a
# system reached directly). runtime(...) is used the same way for both: in a with block, loaded and
# running inside it, stopped on leaving.
if args.artifact:
  from cerebras.appliance.pb.sdk.sdk_common_pb2 import MemcpyDataType, MemcpyOrder
  from cerebras.sdk.client import SdkRuntime

  def runtime(artifact_json, cmaddr=None):
    with open(artifact_json, encoding="utf-8") as f:
      return SdkRuntime(json.load(f)["artifact_id"], simulator=args.simulator)
else:
  from cerebras.sdk.runtime.sdkruntimepybind import MemcpyDataType, MemcpyOrder, SdkRuntime

  @contextlib.contextmanager
  def runtime(name, cmaddr=None):
    runner = SdkRuntime(name, cmaddr=cmaddr) if cmaddr else SdkRuntime(name)
    runner.load()
    runner.run()
    try:
      yield runner
    finally:
      runner.stop()

PLAN = json.load(open("weights.json"))
E, H, D, KV, F, V = (PLAN[k] for k in ("width", "heads", "head_dim", "kv_heads", "ffn", "vocab"))
model = onnx.load(args.model or PLAN["onnx"], load_external_data=True)
INIT = {t.name: t for t in model.graph.initializer}


def load(src):
  """An initializer as the tile IR reads it (its permutation applied), fp32."""
  a = numpy_helper.to_array(INIT[src["initializer"]]).astype(np.float32)
  return a.transpose(src["perm"]) if src["perm"] else a


def proj(p):
  """A projection's [in, out] matrix and bias (columns col0 .. col0 + cols of a fused one)."""
  w = load(p["weight"])[:, p["col0"]:p["col0"] + p["cols"]]
  b = load(p["bias"])[p["col0"]:p["col0"] + p["cols"]] if p["bias"] else np.zeros(p["cols"], np.float32)
  return w, b


def interleave(w):
  """RoPE's halves of each head interleaved (i, i + D/2 → 2i, 2i + 1), so a pair stays on one PE."""
  if not PLAN["rope"]:
    return w
  order = np.concatenate([np.arange(h * D, (h + 1) * D).reshape(2, D // 2).T.ravel() for h in range(H)])
  return w[..., order]


def expand(w):
  """K or V of the kv heads repeated to the query heads: the cache stores them expanded."""
  group = H // KV
  return np.concatenate([w[..., (h // group) * D:(h // group + 1) * D] for h in range(H)], axis=-1)


def pad(a, shape):
  out = np.zeros(shape, np.float32)
  out[tuple(slice(0, n) for n in a.shape)] = a
  return out


def blocks(a, p, rows, cols, transpose=False):
  """(p, p, rows*cols) tiles of matrix a: PE (px, py) gets block (py, px), or (px, py) when transposed."""
  m = pad(a, (p * rows, p * cols)).reshape(p, rows, p, cols).transpose(0, 2, 1, 3)
  return (m.transpose(1, 0, 2, 3) if transpose else m).reshape(p, p, rows * cols)


def rows_of(v, p, n):
  """(p, p, n): vector block py on every PE of row py."""
  return np.broadcast_to(pad(v, (p * n,)).reshape(p, 1, n), (p, p, n))


def cols_of(v, p, n):
  """(p, p, n): vector block px on every PE of column px."""
  return np.broadcast_to(pad(v, (p * n,)).reshape(1, p, n), (p, p, n))


def u32(a):
  return np.ascontiguousarray(a, np.float16).view(np.uint16).astype(np.uint32).ravel()


WAFERS = 1 + max(r["wafer"] for r in PLAN["regions"])
ADDRS = args.cmaddr.split(",") if args.cmaddr else [None] * WAFERS
ARTIFACTS = args.artifact.split(",") if args.artifact else None
if ARTIFACTS is not None and len(ARTIFACTS) != WAFERS:
  raise SystemExit("--artifact: %d given, the plan has %d wafers" % (len(ARTIFACTS), WAFERS))
wafers = contextlib.ExitStack()  # every wafer's runtime, stopped together at the end
runners = []
for w in range(WAFERS):
  name = args.name if WAFERS == 1 else "%s-%d" % (args.name, w)
  runners.append(wafers.enter_context(runtime(ARTIFACTS[w] if ARTIFACTS else name, ADDRS[w])))


def h2d(sym, r, a):
  runner = runners[r["wafer"]]
  runner.memcpy_h2d(runner.get_id(sym), u32(a), r["x"], r["y"], r["p"], r["p"], a.shape[-1], streaming=False,
                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)


def d2h(sym, r, n):
  runner = runners[r["wafer"]]
  out = np.zeros(r["p"] * r["p"] * n, np.uint32)
  runner.memcpy_d2h(out, runner.get_id(sym), r["x"], r["y"], r["p"], r["p"], n, streaming=False,
                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)
  return out.astype(np.uint16).view(np.float16).astype(np.float32).reshape(r["p"], r["p"], n)


for r in PLAN["regions"]:
  p, et, qt, ft, fi, vt = r["p"], r["Et"], r["Qt"], r["Ft"], r["FI"], r["Vt"]
  lay = PLAN["layers"][r["layers"][0]:r["layers"][1]]
  w_qkv, w_o, w_in, w_down, norms, biases = [], [], [], [], [], []
  for l in lay:
    (wq, bq), (wk, bk), (wv, bv) = proj(l["q"]), proj(l["k"]), proj(l["v"])
    parts = [interleave(wq), interleave(expand(wk)), expand(wv)]
    bparts = [interleave(bq), interleave(expand(bk)), expand(bv)]
    w_qkv.append(np.concatenate([blocks(w, p, et, qt).reshape(p, p, et, qt) for w in parts], axis=3)
                 .reshape(p, p, et * 3 * qt))
    wo, bo = proj(l["o"])
    w_o.append(blocks(wo, p, qt, et, transpose=True))
    if l["gate"]:
      (wg, bg), (wu, bu) = proj(l["gate"]), proj(l["up"])
      w_in.append(np.concatenate([blocks(wg, p, et, ft).reshape(p, p, et, ft),
                                  blocks(wu, p, et, ft).reshape(p, p, et, ft)], axis=3).reshape(p, p, et * fi))
      b_in = np.concatenate([cols_of(bg, p, ft), cols_of(bu, p, ft)], axis=2)
    else:
      wu, bu = proj(l["up"])
      w_in.append(blocks(wu, p, et, fi))
      b_in = cols_of(bu, p, fi)
    wd, bd = proj(l["down"])
    w_down.append(blocks(wd, p, ft, et, transpose=True))
    nrm = []
    for key in ("attn_norm", "ffn_norm"):
      nrm.append(rows_of(load(l[key]["gamma"]), p, et))
      if PLAN["layer_norm"]:
        nrm.append(rows_of(load(l[key]["beta"]), p, et))
    norms.append(np.concatenate(nrm, axis=2))
    if PLAN["biased"]:
      biases.append(np.concatenate([np.concatenate([cols_of(b, p, qt) for b in bparts], axis=2), b_in,
                                    rows_of(bo, p, et), rows_of(bd, p, et)], axis=2))
  h2d("w_qkv", r, np.concatenate(w_qkv, axis=2))
  h2d("w_o", r, np.concatenate(w_o, axis=2))
  h2d("w_in", r, np.concatenate(w_in, axis=2))
  h2d("w_down", r, np.concatenate(w_down, axis=2))
  h2d("norms", r, np.concatenate(norms, axis=2))
  biases.append(np.zeros((p, p, 1), np.float32))  # decode.csl keeps one spare word
  h2d("biases", r, np.concatenate(biases, axis=2))
  if r["lm_head"]:
    wl, _ = proj(PLAN["lm_head"])
    h2d("w_lm", r, blocks(wl, p, et, vt))
    g = load(PLAN["final_norm"]["gamma"])
    b = load(PLAN["final_norm"]["beta"]) if PLAN["final_norm"]["beta"] else np.zeros(E, np.float32)
    h2d("final_norm", r, np.concatenate([rows_of(g, p, et), rows_of(b, p, et)], axis=2))

table = load(PLAN["embedding"])
positions = load(PLAN["position_embedding"]) if PLAN["position_embedding"] else None


def rope_tiles(r, t):
  """cos, sin of each of a PE column's (interleaved) pairs at position t."""
  p, qt = r["p"], r["Qt"]
  cs = np.zeros(p * qt, np.float32)
  for d in range(0, min(p * qt, H * D), 2):
    i = (d % D) // 2
    angle = t * PLAN["theta"] ** (-2.0 * i / D)
    cs[d], cs[d + 1] = np.cos(angle), np.sin(angle)
  return np.broadcast_to(cs.reshape(1, p, qt), (p, p, qt))


ids = [int(i) for i in args.prompt.split(",")]
prompt_len = len(ids)
if len(ids) + args.new > PLAN["max_context"]:
  raise SystemExit("the prompt and the new tokens exceed the plan's max context %d" % PLAN["max_context"])
logits = None
for t in range(prompt_len + args.new - 1):
  x = table[ids[t]] + (positions[t] if positions is not None else 0)
  for r in PLAN["regions"]:
    p, et = r["p"], r["Et"]
    if PLAN["rope"]:
      h2d("rope_cs", r, rope_tiles(r, t))
    h2d("x", r, np.ascontiguousarray(rows_of(x, p, et)))
    runners[r["wafer"]].launch("step", np.int16(r["index"]), np.int16(t), nonblock=False)
    x = d2h("x", r, et)[:, 0, :].ravel()[:E]
    if r["lm_head"]:
      logits = d2h("logits", r, r["Vt"])[0].ravel()[:V]
  if t >= prompt_len - 1:
    ids.append(int(np.argmax(logits)))
wafers.close()
print("generated:", ids[-args.new:])

try:
  import onnxruntime
except ImportError:
  raise SystemExit("onnxruntime is not installed: generated ids above are unchecked")
session = onnxruntime.InferenceSession(args.model or PLAN["onnx"])
expected = list(ids[:prompt_len])
for _ in range(args.new):
  out = session.run(None, {PLAN["input"]: np.array([expected], np.int64)})[0][0, -1]
  expected.append(int(np.argmax(out)))
# fp16 storage and arithmetic: logits of random-weight fixtures (about ±10) differ by about 0.1
np.testing.assert_allclose(logits, out, rtol=0.05, atol=0.25)
assert ids == expected, "greedy ids differ from ONNX Runtime's: %s vs %s" % (ids, expected)
print("matches ONNX Runtime (greedy ids, last logits within fp16 tolerance)")
