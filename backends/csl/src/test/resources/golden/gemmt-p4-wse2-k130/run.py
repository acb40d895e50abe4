#!/usr/bin/env cs_python
# meshc: runs this dist-GEMM-T project (wse2, Cerebras SDK 1.2) and checks C against NumPy.
# The tiling is the template's: PE (px, py) gets A block (py, px) and B block (py, px), both with rows
# along Y and K along X, as q and k leave their projections; it ends with C block (py, px) of A·Bᵀ.
# A and C tiles are row-major; a B tile is k-major (its Kt columns one after another, as WaferLLM keeps
# its tiles), so the PE walks a column of B without a DSD stride. B as a whole is never transposed.
import argparse
import contextlib
import json

import numpy as np

P, MT, KT, NT = 4, 6, 130, 4
M, K, N = 24, 520, 16


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
b = rng.standard_normal((N, K)).astype(np.float16)
ap = np.zeros((P * MT, P * KT), np.float16)
ap[:M, :K] = a
bp = np.zeros((P * NT, P * KT), np.float16)
bp[:N, :K] = b
a_tiles = ap.reshape(P, MT, P, KT).transpose(0, 2, 1, 3)  # [py, px] = A block (py, px)
b_tiles = bp.reshape(P, NT, P, KT).transpose(0, 2, 3, 1)  # [py, px] = B block (py, px), k-major

c_words = np.zeros(P * P * MT * NT, np.uint32)
with runtime(args.artifact or args.name, args.cmaddr) as runner:
  for sym, tiles, n in (("a", a_tiles, MT * KT), ("b", b_tiles, NT * KT)):
    runner.memcpy_h2d(runner.get_id(sym), u32(tiles), 0, 0, P, P, n, streaming=False,
                      data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)
  runner.launch("compute", nonblock=False)
  runner.memcpy_d2h(c_words, runner.get_id("c"), 0, 0, P, P, MT * NT, streaming=False,
                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)

c_tiles = c_words.astype(np.uint16).view(np.float16).reshape(P, P, MT, NT)
c = c_tiles.transpose(0, 2, 1, 3).reshape(P * MT, P * NT)[:M, :N].astype(np.float32)
expected = a.astype(np.float32) @ b.astype(np.float32).T
# fp16 accumulation (@fmach, then fp16 adds along the row): about sqrt(K) roundings of 2^-11 relative
tol = 2.0 ** -10 * np.sqrt(K) * np.abs(a).max() * np.abs(b).max()
np.testing.assert_allclose(c, expected, rtol=1e-2, atol=tol)
print("dist-GEMM-T %dx%d: C matches NumPy" % (P, P))
