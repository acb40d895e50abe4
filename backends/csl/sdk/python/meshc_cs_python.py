"""Runs a host script as cs_python does, under meshc's simulator (not the Cerebras SDK).

A simulator error (the program did something the SDK forbids, or the simulator does not model)
is one line on stderr and exit status 2, not a traceback.
"""
import os
import runpy
import sys

from cerebras.sdk.runtime.sdkruntimepybind import SimulatorError


def main():
    if len(sys.argv) < 2:
        print("usage: cs_python SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))  # as python SCRIPT puts the script's folder first
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SimulatorError as e:
        print(f"cs_python: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
