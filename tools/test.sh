#!/usr/bin/env bash
# Runs the whole test suite (building first, and installing what is missing).
#   bash tools/test.sh              # everything
#   bash tools/test.sh -L core      # one area: api, models, core, io, cli
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(( $(nproc) < 2 ? 1 : 2 ))
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
