#!/usr/bin/env cs_python
# meshc: greedy generation with this decode project on the Cerebras simulator or a system, checked
# against ONNX Runtime. Weights come from the ONNX file, tiled onto the PEs as weights.json (meshc's plan)
# says; the host looks up embeddings, writes each token's RoPE angles, launches `step` once per chain
# of regions (the residual goes from region to region on the fabric) and carries it between chains.
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
E, H, D, V = (PLAN[k] for k in ("width", "heads", "head_dim", "vocab"))
model = onnx.load(args.model or PLAN["onnx"], load_external_data=True)
INIT = {t.name: t for t in model.graph.initializer}


def load(src):
  """An initializer as the tile IR reads it (its permutation applied), fp32."""
  a = numpy_helper.to_array(INIT[src["initializer"]]).astype(np.float32)
  return a.transpose(src["perm"]) if src["perm"] else a


def indices(runs):
  """weights.json's "start:length ..." runs as an index array."""
  return np.concatenate([np.arange(int(s), int(s) + int(n)) for s, n in (r.split(":") for r in runs.split())])


def factors(runs):
  """weights.json's "value*count ..." runs as an array."""
  return np.concatenate([np.full(int(n), float(v), np.float32) for v, n in (r.split("*") for r in runs.split())])


def tile(spec, p):
  """Values per PE of a vector of n split over p PEs, even when its RoPE pairs must stay together."""
  t = -(-spec["n"] // p)
  return t + t % 2 if spec["even"] else t


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


def tiles(a, src, p):
  """One layer's (or the head's) part of array a on a p x p region, as weights.json describes it: a fused
  projection's pieces side by side on each PE."""
  w = load(src)
  out = []
  for part in a["parts"]:
    cols = indices(part["col_map"])
    scale = factors(part["col_scale"]) if part["col_scale"] else np.ones(len(cols), np.float32)
    tc = tile(part["cols"], p)
    if a["tiling"] in ("blocks", "blocks_t"):
      rows = tile(a["rows"], p)
      m = w[indices(a["row_map"])][:, cols] * scale[None, :]
      out.append(blocks(m, p, rows, tc, transpose=a["tiling"] == "blocks_t").reshape(p, p, rows, tc))
    else:
      v = w[cols] * scale
      out.append(rows_of(v, p, tc) if a["tiling"] == "rows" else cols_of(v, p, tc))
  if a["tiling"] in ("blocks", "blocks_t"):
    return np.concatenate(out, axis=3).reshape(p, p, -1)
  return np.concatenate(out, axis=2)


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
  for a in PLAN["arrays"]:
    if a["per_layer"]:
      parts = [tiles(a, src, r["p"]) for src in a["sources"][r["layers"][0]:r["layers"][1]]]
    elif r["lm_head"]:
      parts = [tiles(a, a["sources"][0], r["p"])]
    else:
      continue
    if parts:  # a region of the head alone has no layers
      h2d(a["symbol"], r, np.concatenate(parts, axis=2))

EMB = PLAN["embedding"]
table = load(EMB["token"])
positions = load(EMB["position"]) if EMB["position"] else None


def embed(token, t):
  """The host's part before the first layer: the token's embedding (and its position's), scaled."""
  x = EMB["token_coef"] * table[token]
  if positions is not None:
    x = x + EMB["position_coef"] * positions[t + EMB["position_offset"]]
  return x


def rope_tiles(r, t):
  """cos, sin of each of a PE column's pairs at position t: the GEMVs put each rotated pair side by side."""
  p, qt = r["p"], tile(PLAN["heads_tile"], r["p"])
  cs = np.zeros(p * qt, np.float32)
  cs[0::2] = 1.0
  rot = PLAN["rope"]["rotary_dim"]
  for d in range(0, min(p * qt, H * D), 2):
    j = d % D
    if j < rot:
      angle = t * PLAN["rope"]["theta"] ** (-2.0 * (j // 2) / rot)
      cs[d], cs[d + 1] = np.cos(angle), np.sin(angle)
  return np.broadcast_to(cs.reshape(1, p, qt), (p, p, qt))


ids = [int(i) for i in args.prompt.split(",")]
prompt_len = len(ids)
if len(ids) + args.new > PLAN["max_context"]:
  raise SystemExit("the prompt and the new tokens exceed the plan's max context %d" % PLAN["max_context"])
# chains of regions: each takes the residual from the one before on the fabric; the host writes it into
# a chain's first region, launches step there once, and reads it from the last
chains = []
for r in PLAN["regions"]:
  if r["fabric_in"]:
    chains[-1].append(r)
  else:
    chains.append([r])
logits = None
for t in range(prompt_len + args.new - 1):
  x = embed(ids[t], t)
  if PLAN["rope"]:
    for r in PLAN["regions"]:
      h2d("rope_cs", r, rope_tiles(r, t))
  for chain in chains:
    first, last = chain[0], chain[-1]
    h2d("x", first, np.ascontiguousarray(rows_of(x, first["p"], tile(PLAN["x"], first["p"]))))
    runners[first["wafer"]].launch("step", np.int16(first["index"]), np.int16(t), nonblock=False)
    x = d2h("x", last, tile(PLAN["x"], last["p"]))[:, 0, :].ravel()[:E]
    if last["lm_head"]:
      logits = d2h("logits", last, tile(PLAN["logits"], last["p"]))[0].ravel()[:V]
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
