"""The SDK's debug_util for meshc's CSL simulator (NOT the Cerebras SDK): the <debug> traces a run left.

The simulator writes every PE's traces to ``meshc-traces.json`` in the cslc output folder when the
host calls ``stop()``; ``read_trace(x, y, key)`` reads them by the PE's place on the fabric (the
kernel starts at cslc's --fabric-offsets), as the SDK's does.
"""
import json
import os

from cerebras.sdk.runtime.sdkruntimepybind import SimulatorError


class debug_util:  # pylint: disable=invalid-name
    """A run's <debug> traces, read after ``SdkRuntime.stop()``."""

    def __init__(self, bindir, cmaddr=None, **kwargs):
        if cmaddr:
            raise SimulatorError(f"cmaddr={cmaddr}: meshc's simulator runs no CS system; drop --cmaddr")
        path = os.path.join(str(bindir), "meshc-traces.json")
        if not os.path.isfile(path):
            raise SimulatorError(f"{path}: no traces (debug_util reads what a run left at stop())")
        with open(path, encoding="utf-8") as f:
            self._traces = json.load(f)

    def read_trace(self, x, y, key):
        return list(self._traces.get(f"{x},{y}", {}).get(key, []))
