#!/bin/sh
# meshc: build this dist-GEMM-T project with cslc and run it on the simulator (Cerebras SDK 1.2).
# memcpy needs 3 columns west and 2 east of the kernel plus a one-PE border: fabric (W+7)x(H+2).
set -e
cslc layout.csl --fabric-dims=11,6 --fabric-offsets=4,1 --params=P:4,Mt:6,Kt:130,Nt:4 --memcpy --channels=1 -o out
cs_python run.py --name out
