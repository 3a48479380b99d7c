#!/usr/bin/env python3
"""Figures from the output of a two_phase protocol run (NALSM and the other liquids).

    python3 tools/plot_nalsm.py results/nalsm1000_fashion.h5     # -> results/nalsm1000_fashion.png

One figure, four panels: the state raster of the first recorded test sample with the level
(the astrocyte's A(t)) of the recorded samples; the level at the end of each phase-A
presentation; the softmax readout's validation and test accuracy per epoch; the test confusion
matrix of the reported readout. Reads only the file (docs/output_format.md, "Protocol runs").
Needs h5py, numpy and matplotlib (Debian: python3-h5py, python3-numpy, python3-matplotlib).
"""
import argparse
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output", help="image file (default: FILE with .png)")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(args.file, "r") as f:
        run = f["run"]
        if run.attrs.get("kind") not in ("two_phase", b"two_phase"):
            sys.exit(f"{args.file}: not the output of a two_phase protocol (/run@kind)")
        m = f["metrics"] if "metrics" in f else {}
        # Texts are attributes of /metrics, numbers scalar datasets.
        metrics = dict(m.attrs) if "metrics" in f else {}
        for k in m:
            if isinstance(m[k], h5py.Dataset) and m[k].size == 1 and m[k].ndim <= 1:
                metrics[k] = float(m[k][()].reshape(-1)[0]) if m[k].ndim else float(m[k][()])
        raster = None
        if "reservoir/rasters/sample" in f:
            s = f["reservoir/rasters/sample"][:]
            raster = (f["reservoir/rasters/step"][:][s == 0], f["reservoir/rasters/neuron"][:][s == 0])
        trace = f["reservoir/rasters/level"][:] if "reservoir/rasters/level" in f else None
        init_a = f["reservoir/init/final_level"][:] if "reservoir/init/final_level" in f else None
        val_curve = m["softmax_validation_curve"][:] if "softmax_validation_curve" in m else None
        test_curve = m["softmax_test_curve"][:] if "softmax_test_curve" in m else None
        readout = metrics.get("accuracy_test_readout", "softmax")
        readout = readout.decode() if isinstance(readout, bytes) else str(readout)
        conf = m[f"{readout}_confusion_test"][:] if f"{readout}_confusion_test" in m else None
        # The first state population (E in the NALSM configs) in one colour, the rest in another.
        n_exc = 0
        if "reservoir/network" in f:
            state = f["reservoir/network"]
            first = min(state, key=lambda p: int(state[p].attrs["first_gid"]))
            n_exc = int(state[first].attrs["size"])

    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    a = ax[0, 0]
    if raster is not None and len(raster[0]):
        exc = raster[1] < n_exc
        a.scatter(raster[0][exc], raster[1][exc], s=0.5, c="tab:blue", label="E")
        a.scatter(raster[0][~exc], raster[1][~exc], s=0.5, c="tab:red", label="I")
        a.set_xlabel("step (ms)")
        a.set_ylabel("state neuron")
        a.set_title("state raster, first test sample (phase B)")
        if trace is not None and trace.size:
            b = a.twinx()
            if trace.shape[2] == 1:  # one global astrocyte: every recorded sample, the first bold
                for k in range(trace.shape[0]):
                    b.plot(trace[k, :, 0], c="k", lw=0.6, alpha=0.3 if k else 1.0)
            else:  # regional astrocytes: each region of the first sample
                for r in range(trace.shape[2]):
                    b.plot(trace[0, :, r], lw=0.9, label=f"region {r}")
                b.legend(loc="upper right", fontsize=7)
            b.set_ylabel("level A(t)")
    else:
        a.set_axis_off()
    a = ax[0, 1]
    if init_a is not None and init_a.size:
        a.plot(init_a, lw=0.3, c="tab:green")
        a.set_xlabel("phase-A presentation")
        a.set_ylabel("level A at the end of the presentation")
        a.set_title("astrocyte during phase A")
    else:
        a.set_axis_off()
    a = ax[1, 0]
    if val_curve is not None and val_curve.size:
        e = np.arange(1, val_curve.size + 1)
        a.plot(e, 100 * val_curve, label="validation")
        a.plot(e, 100 * test_curve, label="test")
        a.set_xlabel("epoch")
        a.set_ylabel("accuracy (%)")
        a.set_title("softmax readout (NALSM)")
        a.legend()
    else:
        a.set_axis_off()
    a = ax[1, 1]
    if conf is not None and conf.size:
        norm = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
        a.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        a.set_xlabel("predicted")
        a.set_ylabel("true")
        acc = metrics.get("accuracy_test", float("nan"))
        a.set_title(f"{readout} readout, test accuracy {100 * acc:.2f} %")
    else:
        a.set_axis_off()
    bf = metrics.get("branching_factor", float("nan"))
    fig.suptitle(f"{args.file}: branching factor {bf:.3f}")
    fig.tight_layout()
    out = args.output or (args.file[:-3] if args.file.endswith(".h5") else args.file) + ".png"
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
