#!/usr/bin/env python3
# meshc: compiles this @@WHAT@@ project for a CS system through the Cerebras appliance (SdkCompiler,
# from the SDK's client package), against the system's whole fabric, and writes the artifact's id to
# out_appliance/artifact.json for run.py --artifact. With --simulator it compiles for the appliance's
# simulator instead, on the kernel's own fabric (as commands.sh does for the local simulator).
import argparse
import json
import os

from cerebras.sdk.client import SdkCompiler

parser = argparse.ArgumentParser(description="compile for a CS system through the appliance")
parser.add_argument("--simulator", action="store_true", help="for the appliance's simulator, not the system")
args, _ = parser.parse_known_args()  # appliance.sh passes run.py's options too

SIMULATOR = "@@SIMULATOR_OPTIONS@@"  # the kernel's own fabric
SYSTEM = "@@SYSTEM_OPTIONS@@"  # the system's whole fabric
options = SIMULATOR if args.simulator else SYSTEM
compiler = SdkCompiler()
artifact = compiler.compile(app_path=".", csl_main="layout.csl", options=options, out_path="out_appliance")
os.makedirs("out_appliance", exist_ok=True)
with open(os.path.join("out_appliance", "artifact.json"), "w", encoding="utf-8") as f:
  json.dump({"artifact_id": artifact}, f)
print("compiled for the %s: %s" % ("appliance's simulator" if args.simulator else "system", artifact))
