#!/usr/bin/env cs_python
# meshc: runs this MeshGEMV project (wse3, Cerebras SDK 1.4) and checks y against NumPy.
# The tiling is the template's: PE (px, py) gets x[py*Kt:+Kt] and W[py*Kt:+Kt, px*Nt:+Nt]; every PE
# of column px ends with y[px*Nt:+Nt].
import argparse
import contextlib
import json

import numpy as np

W, H, KT, NT = 4, 4, 8, 6
K, N = 32, 24


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
x = rng.standard_normal(K).astype(np.float16)
w = rng.standard_normal((K, N)).astype(np.float16)
xp = np.zeros(H * KT, np.float16)
xp[:K] = x
wp = np.zeros((H * KT, W * NT), np.float16)
wp[:K, :N] = w
# one (H, W, elements) array per symbol, ROW_MAJOR: the first axis is the PE row
x_tiles = np.broadcast_to(xp.reshape(H, 1, KT), (H, W, KT))
w_tiles = wp.reshape(H, KT, W, NT).transpose(0, 2, 1, 3)


y_words = np.zeros(H * W * NT, np.uint32)
with runtime(args.artifact or args.name, args.cmaddr) as runner:
  for sym, tiles, n in (("x", x_tiles, KT), ("w", w_tiles, KT * NT)):
    runner.memcpy_h2d(runner.get_id(sym), u32(tiles), 0, 0, W, H, n, streaming=False,
                      data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)
  runner.launch("compute", nonblock=False)
  runner.memcpy_d2h(y_words, runner.get_id("y"), 0, 0, W, H, NT, streaming=False,
                    data_type=MemcpyDataType.MEMCPY_16BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False)

y_tiles = y_words.astype(np.uint16).view(np.float16).reshape(H, W * NT)
expected = x.astype(np.float32) @ w.astype(np.float32)
# fp16 accumulation (@fmach): about sqrt(K) roundings of 2^-11 relative
tol = 2.0 ** -10 * np.sqrt(K) * np.abs(x).max() * np.abs(w).max()
for row in range(H):  # every row of PEs holds all of y
  np.testing.assert_allclose(y_tiles[row, :N].astype(np.float32), expected, rtol=1e-2, atol=tol)
print("MeshGEMV %dx%d: y matches NumPy on every PE row" % (W, H))
