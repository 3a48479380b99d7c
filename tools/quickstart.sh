#!/usr/bin/env bash
# Quick start: install what is missing, build, run the default experiment (configs/cuba.yaml),
# and say where the output went.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
./build/glia run configs/cuba.yaml
echo
echo "Output: results/cuba.h5  (summary: ./build/glia inspect results/cuba.h5;"
echo "        raster: python3 tools/plot_raster.py results/cuba.h5)"
