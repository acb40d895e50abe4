#!/usr/bin/env cs_python
# meshc: runs this MeshGEMM project (wse2, Cerebras SDK 1.2) and checks C against NumPy.
# The tiling is the template's: PE (px, py) gets A block (py, px) and B block (kb, px) with
# kb = ring_at((ring_pos(px) + ring_pos(py)) % P), Cannon's skew in ring coordinates; it ends with
# C block (py, px). Tiles are row-major.
import argparse
import contextlib
import json

import numpy as np

P, MT, KT, NT = 8, 6, 8, 4
M, K, N = 48, 64, 32


def ring_pos(i):
  return i // 2 if i % 2 == 0 else P - (i + 1) // 2


def ring_at(k):
  return 2 * k if k < (P + 1) // 2 else 2 * (P - k) - 1


def u32(a):
  """16-bit values travel one per 32-bit word."""
  return np.ascontiguousarray(a, np.float16).view(np.uint16).astype(np.uint32).ravel()


parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--name", default="out", help="the cslc output folder")
parser.add_argument("--cmaddr", help="IP:port of a CS system; the simulator when absent")
parser.add_argument("--artifact", help="the JSON compile_appliance.py wrote: run through the appliance")
parser.add_argument("--simulator", action="store_true", help="with --artifact: the appliance's simulator")
parser.add_argument("--seed", type=int, default=1)
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

rng = np.random.default_rng(args.seed)
a = rng.standard_normal((M, K)).astype(np.float16)
b = rng.standard_normal((K, N)).astype(np.float16)
ap = np.zeros((P * MT, P * KT), np.float16)
ap[:M, :K] = a
bp = np.zeros((P * KT, P * NT), np.float16)
bp[:K, :N] = b
a_tiles = ap.reshape(P, MT, P, KT).transpose(0, 2, 1, 3)  # [py, px] = A block (py, px)
b_blocks = bp.reshape(P, KT, P, NT).transpose(0, 2, 1, 3)  # [kb, px] = B block (kb, px)
b_tiles = np.empty_like(b_blocks)
for py in range(P):
  for px in range(P):
    b_tiles[py, px] = b_blocks[ring_at((ring_pos(px) + ring_pos(py)) % P), px]

c_words = np.zeros(P * P * MT * NT, np.uint32)
with runtime(args.artifact or args.name, args.cmaddr) as runner:
  for sym, tiles, n in (("a", a_tiles, MT * KT), ("b", b_tiles, KT * NT)):
    runner.memcpy_h2d(runner.get_id(sym), u32(tiles), 0, 0, P, P, n, streaming=False,
                      data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)
  runner.launch("compute", nonblock=False)
  runner.memcpy_d2h(c_words, runner.get_id("c"), 0, 0, P, P, MT * NT, streaming=False,
                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)

c_tiles = c_words.astype(np.uint16).view(np.float16).reshape(P, P, MT, NT)
c = c_tiles.transpose(0, 2, 1, 3).reshape(P * MT, P * NT)[:M, :N].astype(np.float32)
expected = a.astype(np.float32) @ b.astype(np.float32)
# fp16 accumulation (@fmach): about sqrt(K) roundings of 2^-11 relative
tol = 2.0 ** -10 * np.sqrt(K) * np.abs(a).max() * np.abs(b).max()
np.testing.assert_allclose(c, expected, rtol=1e-2, atol=tol)
print("MeshGEMM %dx%d: C matches NumPy" % (P, P))
