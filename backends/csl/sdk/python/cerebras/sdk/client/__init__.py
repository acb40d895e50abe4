"""The SDK's appliance client (cerebras.sdk.client) for meshc's CSL simulator (NOT the Cerebras SDK).

SdkCompiler builds with meshc's cslc stand-in; SdkRuntime(artifact, simulator=True) runs the build on
meshc's simulator as the appliance's simulator would. There is no CS system behind it:
simulator=False is refused in one line.
"""
import os
import shlex
import subprocess

from cerebras.sdk.runtime import sdkruntimepybind
from cerebras.sdk.runtime.sdkruntimepybind import SimulatorError

_CSLC = os.path.abspath(os.path.join(os.path.dirname(__file__), *([os.pardir] * 4), "bin", "cslc"))


class SdkCompiler:
    """Compiles a CSL program as the appliance's compile job does; the artifact id is the output folder."""

    def __init__(self, **resources):
        self._resources = resources

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def compile(self, app_path, csl_main, options, out_path):
        out = os.path.abspath(os.path.join(out_path, "bin"))
        args = [_CSLC, os.path.join(app_path, csl_main)] + shlex.split(options) + ["-o", out]
        done = subprocess.run(args)
        if done.returncode != 0:
            raise SimulatorError(f"SdkCompiler: cslc exited {done.returncode} (its message is above)")
        return out


class SdkRuntime:
    """The appliance's runtime, used in a with block: loaded and running inside, stopped on leaving."""

    def __init__(self, artifact, simulator=False, **kwargs):
        if not simulator:
            raise SimulatorError("SdkRuntime(simulator=False): meshc's stand-in has no CS system behind it; "
                                 "run with --simulator, or on the appliance with the Cerebras SDK")
        self._artifact = artifact

    def __enter__(self):
        self._runner = sdkruntimepybind.SdkRuntime(self._artifact)
        self._runner.load()
        self._runner.run()
        return self._runner

    def __exit__(self, *exc):
        self._runner.stop()
        return False
