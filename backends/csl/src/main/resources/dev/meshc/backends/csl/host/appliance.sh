#!/bin/sh
# meshc: build this @@WHAT@@ project for a CS system through the Cerebras appliance and run it there,
# with the SDK's client package (the appliance's Python, not cs_python): the system's whole fabric
# (@@SYSTEM_FABRIC@@). "sh appliance.sh --simulator" uses the appliance's simulator instead.
set -e
${PYTHON:-python3} compile_appliance.py "$@"
${PYTHON:-python3} run.py --artifact @@ARTIFACTS@@ "$@"
