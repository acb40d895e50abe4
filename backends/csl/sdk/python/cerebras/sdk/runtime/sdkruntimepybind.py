"""SdkRuntime for meshc's CSL simulator (NOT the Cerebras SDK).

The runtime starts ``java -jar compiler/cli/target/meshc.jar sim --serve OUT`` and sends it one JSON
object per line; arrays travel as base64 of little-endian 32-bit words (16-bit data in the low half
of each word, as the SDK's MEMCPY_16BIT host arrays hold it). NumPy is the only requirement.
"""
import base64
import enum
import json
import os
import subprocess

import numpy as np

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 7)))
_JAR = os.path.join(_REPO, "compiler", "cli", "target", "meshc.jar")


class SimulatorError(RuntimeError):
    """Something the program or the host did that the SDK forbids or the simulator does not model."""


class MemcpyDataType(enum.Enum):
    MEMCPY_16BIT = 16
    MEMCPY_32BIT = 32


class MemcpyOrder(enum.Enum):
    ROW_MAJOR = "ROW_MAJOR"
    COL_MAJOR = "COL_MAJOR"


class SdkRuntime:
    """The host's handle on a program cslc built: memcpy in copy mode, launch, stop."""

    def __init__(self, bindir, cmaddr=None, **kwargs):
        if cmaddr:
            raise SimulatorError(f"cmaddr={cmaddr}: meshc's simulator runs no CS system; drop --cmaddr")
        if os.environ.get("MESHC_CLASSPATH"):  # tests: meshc's classes without the jar
            java = ["java", "-cp", os.environ["MESHC_CLASSPATH"], "dev.meshc.cli.Main"]
        elif os.path.isfile(_JAR):
            java = ["java", "-jar", _JAR]
        else:
            raise SimulatorError(f"{_JAR} is not built: run mvn -B -q install -DskipTests")
        self._proc = subprocess.Popen(java + ["sim", "--serve", str(bindir)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = self._read()
        self._symbols = hello["symbols"]

    def _read(self):
        line = self._proc.stdout.readline()
        if not line:
            raise SimulatorError("the simulator ended without answering (see its message above)")
        r = json.loads(line)
        if not r.get("ok"):
            raise SimulatorError(r.get("error", "unknown error"))
        return r

    def _send(self, **cmd):
        self._proc.stdin.write(json.dumps(cmd) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def load(self):
        self._send(op="load")

    def run(self):
        self._send(op="run")

    def get_id(self, name):
        if name not in self._symbols:
            raise SimulatorError(f"get_id('{name}'): the layout exports no such symbol "
                                 f"(it has {sorted(self._symbols)})")
        return self._symbols[name]

    @staticmethod
    def _bits(data_type):
        return MemcpyDataType(data_type).value if not isinstance(data_type, MemcpyDataType) else data_type.value

    def _check(self, streaming, sym, order):
        if not isinstance(sym, int):
            raise SimulatorError(f"symbol {sym!r} is not one get_id gave")
        return MemcpyOrder(order).value

    def memcpy_h2d(self, dest, src, px, py, w, h, elem_per_pe, streaming=False,
                   data_type=MemcpyDataType.MEMCPY_32BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False):
        o = self._check(streaming, dest, order)
        bits = self._bits(data_type)
        a = np.ascontiguousarray(src).reshape(-1)
        if a.dtype.itemsize == 4:
            words = a.view(np.uint32)
        elif a.dtype.itemsize == 2 and bits == 16:
            words = a.view(np.uint16).astype(np.uint32)
        else:
            raise SimulatorError(f"memcpy_h2d: a host array of {a.dtype} with MEMCPY_{bits}BIT; "
                                 "the host passes 32-bit words")
        self._send(op="h2d", sym=dest, x=px, y=py, w=w, h=h, elems=elem_per_pe, order=o, bits=bits,
                   streaming=bool(streaming), nonblock=bool(nonblock),
                   data=base64.b64encode(words.astype("<u4").tobytes()).decode("ascii"))

    def memcpy_d2h(self, dest, src, px, py, w, h, elem_per_pe, streaming=False,
                   data_type=MemcpyDataType.MEMCPY_32BIT, order=MemcpyOrder.ROW_MAJOR, nonblock=False):
        o = self._check(streaming, src, order)
        bits = self._bits(data_type)
        r = self._send(op="d2h", sym=src, x=px, y=py, w=w, h=h, elems=elem_per_pe, order=o, bits=bits,
                       streaming=bool(streaming), nonblock=bool(nonblock))
        words = np.frombuffer(base64.b64decode(r["data"]), dtype="<u4")
        if not isinstance(dest, np.ndarray) or not dest.flags.c_contiguous:
            raise SimulatorError("memcpy_d2h: the destination is a contiguous NumPy array")
        flat = dest.reshape(-1)
        if flat.size < words.size:
            raise SimulatorError(f"memcpy_d2h: the destination has {flat.size} elements, the rectangle {words.size}")
        if flat.dtype.itemsize == 4:
            flat.view(np.uint32)[:words.size] = words
        elif flat.dtype.itemsize == 2 and bits == 16:
            flat.view(np.uint16)[:words.size] = words.astype(np.uint16)
        else:
            raise SimulatorError(f"memcpy_d2h: a destination of {flat.dtype}; the host reads 32-bit words")

    def launch(self, symbol, *args, nonblock=False):
        self._send(op="launch", fn=symbol, args=[_number(a) for a in args])

    def call(self, symbol, args=(), nonblock=False):
        self.launch(symbol, *args, nonblock=nonblock)

    def stop(self):
        if self._proc.poll() is None:
            self._send(op="stop")
            self._proc.stdin.close()
            self._proc.wait()


def _number(a):
    v = a.item() if hasattr(a, "item") else a
    if not isinstance(v, (int, float, bool)):
        raise SimulatorError(f"launch argument {a!r}: the simulator passes numbers")
    return v


class _NotModelled:
    """The SDK's Python layout API (SdkLayout and its kin): not modelled by meshc's simulator."""
    _what = "this part of the SDK"

    def __init__(self, *args, **kwargs):
        raise SimulatorError(f"{self._what} is not modelled by meshc's simulator (it runs CSL layouts "
                             "compiled with cslc)")


def __getattr__(name):
    """Any other name of the SDK's runtime module (SdkLayout, SdkTarget, SimfabConfig, ...): importing
    it works, using it says in one line that meshc's simulator does not model it."""
    if name.startswith("__"):
        raise AttributeError(name)
    return type(name, (_NotModelled,), {"_what": f"{name} (of the SDK's runtime module)"})
