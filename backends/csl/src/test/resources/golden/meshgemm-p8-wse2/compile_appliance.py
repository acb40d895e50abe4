#!/usr/bin/env python3
# meshc: compiles this MeshGEMM project for a CS system through the Cerebras appliance (SdkCompiler,
# from the SDK's client package), against the system's whole fabric, and writes each program's
# artifact id to out_appliance/artifact-N.json for run.py --artifact. With --simulator it compiles
# for the appliance's simulator instead, on the kernel's own fabric (as commands.sh does locally).
import argparse
import json
import os

from cerebras.sdk.client import SdkCompiler

parser = argparse.ArgumentParser(description="compile for a CS system through the appliance")
parser.add_argument("--simulator", action="store_true", help="for the appliance's simulator, not the system")
args, _ = parser.parse_known_args()  # appliance.sh passes run.py's options too

# (folder, cslc options for the appliance's simulator, for the system): one program per wafer
PROGRAMS = [
  (".",
   "--fabric-dims=15,10 --fabric-offsets=4,1 --params=P:8,Mt:6,Kt:8,Nt:4 --memcpy --channels=1",
   "--fabric-dims=757,996 --fabric-offsets=4,1 --params=P:8,Mt:6,Kt:8,Nt:4 --memcpy --channels=1"),
]

compiler = SdkCompiler()
os.makedirs("out_appliance", exist_ok=True)
for n, (folder, simulator, system) in enumerate(PROGRAMS):
  artifact = compiler.compile(app_path=folder, csl_main="layout.csl", options=simulator if args.simulator else system,
                              out_path=os.path.join("out_appliance", str(n)))
  with open(os.path.join("out_appliance", "artifact-%d.json" % n), "w", encoding="utf-8") as f:
    json.dump({"artifact_id": artifact}, f)
  print("compiled %s for the %s: %s" % (folder, "appliance's simulator" if args.simulator else "system", artifact))
