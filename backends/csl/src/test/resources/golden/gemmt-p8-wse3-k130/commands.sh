#!/bin/sh
# meshc: build this dist-GEMM-T project with cslc and run it on the simulator (Cerebras SDK 1.4).
# memcpy needs 3 columns west and 2 east of the kernel plus a one-PE border: fabric (W+7)x(H+2).
set -e
cslc layout.csl --arch=wse3 --fabric-dims=15,10 --fabric-offsets=4,1 --params=P:8,Mt:6,Kt:130,Nt:4 --memcpy --channels=1 -o out
cs_python run.py --name out
