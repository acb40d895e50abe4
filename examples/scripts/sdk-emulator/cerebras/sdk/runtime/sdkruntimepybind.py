# meshc: a stand-in for the Cerebras SDK's runtime, to exercise a decode project's run.py without the SDK.
# Every memcpy is checked against the size of the PE array it fills (decode.csl's declarations), and
# launch("step", r, t) runs a NumPy emulation of decode.csl's step on the tiles the host wrote: the K-tree
# all-reduces as sums and maxima along the mesh axes, the shift-based KV cache PE row by PE row, RoPE on
# the interleaved pairs, the per-head softmax over every row's slots. It checks the algorithm and the
# tiling (run.py then compares with ONNX Runtime); it says nothing about CSL syntax or timing.
#   cd out && PYTHONPATH=<this folder> python3 run.py --model ../model.onnx --prompt 1,2,3 --new 8
import json, numpy as np
PLAN = json.load(open("weights.json"))
class MemcpyDataType: MEMCPY_16BIT = 16
class MemcpyOrder: ROW_MAJOR = 0
def sizes(r, L):
  Et, Qt, Ft, FI, St, Vt = (r[k] for k in ("Et", "Qt", "Ft", "FI", "St", "Vt"))
  return {"w_qkv": L*Et*3*Qt, "w_o": L*Qt*Et, "w_in": L*Et*FI, "w_down": L*Ft*Et, "norms": L*(4 if PLAN["layer_norm"] else 2)*Et,
          "biases": L*(3*Qt+FI+2*Et if PLAN["biased"] else 0)+1, "w_lm": Et*Vt, "final_norm": 2*Et, "x": Et, "rope_cs": Qt, "logits": Vt}
class SdkRuntime:
  def __init__(self, name, cmaddr=None):
    self.mem = {}; self.calls = 0
    self.wafer = int(name.rsplit("-", 1)[1]) if "-" in name and name.rsplit("-", 1)[1].isdigit() else 0
  def load(self): pass
  def run(self): pass
  def stop(self): print("fake runtime:", self.calls, "memcpys checked")
  def get_id(self, s): return s
  def region(self, x, y):
    for r in PLAN["regions"]:
      if r["x"] == x and r["y"] == y and r["wafer"] == self.wafer: return r
    raise AssertionError("no region at %d,%d" % (x, y))
  def memcpy_h2d(self, sym, data, x, y, w, h, n, **kw):
    r = self.region(x, y); L = r["layers"][1] - r["layers"][0]
    assert w == h == r["p"], (sym, w, h)
    assert n == sizes(r, L)[sym], (sym, n, sizes(r, L)[sym])
    assert data.dtype == np.uint32 and data.size == w * h * n, (sym, data.size)
    self.mem[(sym, x, y)] = data.copy(); self.calls += 1
  def memcpy_d2h(self, out, sym, x, y, w, h, n, **kw):
    r = self.region(x, y); L = r["layers"][1] - r["layers"][0]
    assert n == sizes(r, L)[sym] and out.size == w * h * n, (sym, n)
    if (sym, x, y) in self.mem: out[:] = self.mem[(sym, x, y)]
    self.calls += 1
  def launch(self, fn, *a, **kw): assert fn == "step" and len(a) == 2

# ---- an emulation of decode.csl's step(r, t), PE by PE (vectorised over [py, px]) --------------------
def f16(u): return u.astype(np.uint16).view(np.float16).astype(np.float32)
def u32(a): return np.ascontiguousarray(a, np.float16).view(np.uint16).astype(np.uint32).ravel()
STATE = {}
def _launch(self, fn, r, t, **kw):
  r = int(r); t = int(t)
  R = [q for q in PLAN["regions"] if q["index"] == r][0]
  P, Et, Qt, Ft, FI, St, Vt = (R[k] for k in ("p", "Et", "Qt", "Ft", "FI", "St", "Vt"))
  L = R["layers"][1] - R["layers"][0]; E, H, D = PLAN["width"], PLAN["heads"], PLAN["head_dim"]
  LN, GATED, BIASED = PLAN["layer_norm"], PLAN["gated"], PLAN["biased"]
  mem = lambda s, n: f16(self.mem[(s, R["x"], R["y"])]).reshape(P, P, n)
  NW = (4 if LN else 2) * Et; BW = 3 * Qt + FI + 2 * Et if BIASED else 0
  wqkv = mem("w_qkv", L*Et*3*Qt).reshape(P, P, L, Et, 3*Qt); wo = mem("w_o", L*Qt*Et).reshape(P, P, L, Qt, Et)
  win = mem("w_in", L*Et*FI).reshape(P, P, L, Et, FI); wd = mem("w_down", L*Ft*Et).reshape(P, P, L, Ft, Et)
  norms = mem("norms", L*NW).reshape(P, P, L, NW); biases = mem("biases", L*BW+1)
  x = mem("x", Et).copy()
  st = STATE.setdefault(r, dict(kT=np.zeros((P, P, L, Qt, St)), vc=np.zeros((P, P, L, St, Qt)),
                                start=np.zeros((P, L), int), count=np.zeros((P, L), int)))
  py_i = np.arange(P).reshape(P, 1, 1); valid_e = (py_i * Et + np.arange(Et).reshape(1, 1, Et)) < E
  def norm(gb):  # gb: (P, P, NWpart)
    mean = (x * valid_e).sum(axis=(0, 2), keepdims=True) / E if LN else 0.0
    var = (((x - mean) ** 2) * valid_e).sum(axis=(0, 2), keepdims=True) / E
    out = (x - mean) / np.sqrt(var + EPS) * gb[..., :Et]
    return out + gb[..., Et:2*Et] if LN else out
  def gemv(v, w): return np.einsum("yxk,yxkn->yxn", v, w)
  for l in range(L):
    g = norms[:, :, l]
    xn = norm(g[..., :NW//2])
    qkv = gemv(xn, wqkv[:, :, l]).sum(axis=0, keepdims=True).repeat(P, 0)
    if BIASED: qkv += biases[..., l*BW:l*BW+3*Qt]
    if PLAN["rope"]:
      cs = mem("rope_cs", Qt)
      for part in (0, 1):
        a = qkv[..., part*Qt:(part+1)*Qt:2].copy(); b = qkv[..., part*Qt+1:(part+1)*Qt:2].copy()
        c, s = cs[..., 0::2], cs[..., 1::2]
        qkv[..., part*Qt:(part+1)*Qt:2] = a*c - b*s; qkv[..., part*Qt+1:(part+1)*Qt:2] = b*c + a*s
    e = t % P
    def put(py, kcol, vrow):
      slot = (st["start"][py, l] + st["count"][py, l]) % St
      st["kT"][py, :, l, :, slot] = kcol; st["vc"][py, :, l, slot, :] = vrow; st["count"][py, l] += 1
    if t < P:
      put(e, qkv[e, :, Qt:2*Qt], qkv[e, :, 2*Qt:])
    else:
      stage = {}
      for py in range(e + 1, P):
        old = st["start"][py, l]
        stage[py] = (st["kT"][py, :, l, :, old].copy(), st["vc"][py, :, l, old, :].copy())
        st["start"][py, l] = (old + 1) % St; st["count"][py, l] -= 1
      for py in range(e, P - 1):
        put(py, *stage[py + 1])
      put(P - 1, qkv[P - 1, :, Qt:2*Qt], qkv[P - 1, :, 2*Qt:])
    q = qkv[..., :Qt]
    dims = np.arange(P).reshape(1, P, 1) * Qt + np.arange(Qt).reshape(1, 1, Qt)   # [1, px, j]
    head = np.where(dims < H * D, dims // D, -1)
    sc = np.zeros((P, P, H, St))
    for h in range(H):
      sel = (head == h)
      sc[:, :, h, :] = np.einsum("yxj,yxjs->yxs", q * sel, st["kT"][:, :, l])
    sc = sc.sum(axis=1, keepdims=True).repeat(P, 1) * PLAN_SCALE
    valid = np.zeros((P, 1, 1, St), bool)
    for py in range(P):
      for s_ in range(st["count"][py, l]): valid[py, 0, 0, (st["start"][py, l] + s_) % St] = True
    m = np.where(valid, sc, -65504.0).max(axis=(0, 3), keepdims=True)
    ex = np.where(valid, np.exp(sc - m), 0.0); p = ex / ex.sum(axis=(0, 3), keepdims=True)
    att = np.zeros((P, P, Qt))
    for h in range(H):
      sel = (head == h)
      att += np.einsum("yxs,yxsj->yxj", p[:, :, h, :], st["vc"][:, :, l]) * sel
    att = att.sum(axis=0, keepdims=True).repeat(P, 0)
    hid = gemv(att, wo[:, :, l]).sum(axis=1, keepdims=True).repeat(P, 1)
    if BIASED: hid += biases[..., l*BW+3*Qt+FI:l*BW+3*Qt+FI+Et]
    x = x + hid
    xn = norm(g[..., NW//2:])
    ff = gemv(xn, win[:, :, l]).sum(axis=0, keepdims=True).repeat(P, 0)
    if BIASED: ff += biases[..., l*BW+3*Qt:l*BW+3*Qt+FI]
    z = ff[..., :Ft]
    if PLAN_ACT == "gelu_tanh": a = 0.5 * z * (1 + np.tanh(0.7978845608 * (z + 0.044715 * z**3)))
    else: a = z / (1 + np.exp(-z))
    if GATED: a = a * ff[..., Ft:2*Ft]
    hid = gemv(a, wd[:, :, l]).sum(axis=1, keepdims=True).repeat(P, 1)
    if BIASED: hid += biases[..., l*BW+3*Qt+FI+Et:l*BW+3*Qt+FI+2*Et]
    x = x + hid
  self.mem[("x", R["x"], R["y"])] = u32(x)
  if R["lm_head"]:
    fn_ = mem("final_norm", 2 * Et)
    xn = norm(fn_)
    lg = gemv(xn, mem("w_lm", Et * Vt).reshape(P, P, Et, Vt)).sum(axis=0, keepdims=True).repeat(P, 0)
    self.mem[("logits", R["x"], R["y"])] = u32(lg)
SdkRuntime.launch = _launch
import re
_csl = open("decode.csl").read()
EPS = float(re.search(r"const EPS: f32 = ([^;]+);", _csl).group(1))
PLAN_SCALE = float(re.search(r"const SCALE: f16 = ([^;]+);", _csl).group(1))
PLAN_ACT = "gelu_tanh" if "const GELU: bool = true" in _csl else "silu"
