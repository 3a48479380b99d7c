#!/usr/bin/env bash
# Installs the Debian 12 packages glia needs (only those missing), then configures and builds
# glia in build/ (Release). Safe to run again: it only does what is left to do.
#   bash tools/setup.sh            # deps + build
#   bash tools/setup.sh --deps     # deps only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake git pkg-config ccache
    libtbb-dev libhdf5-dev hdf5-tools libspdlog-dev libfmt-dev libcli11-dev
    libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev libboost-dev libeigen3-dev
    librandom123-dev zlib1g-dev
    python3 python3-h5py python3-numpy python3-matplotlib
    chromium chromium-driver fonts-dejavu-core  # the monitor's browser test
    dataset-fashion-mnist  # Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "glia setup: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--deps" ]; then
    exit 0
fi

jobs=$(( $(nproc) < 2 ? 1 : 2 ))
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$jobs"
echo "glia setup: built build/glia"
