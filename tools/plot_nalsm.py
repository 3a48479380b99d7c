#!/usr/bin/env python3
"""Figures from a NALSM reservoir output file (glia run on an `experiment: nalsm` file).

    python3 tools/plot_nalsm.py results/nalsm1000_fashion.h5     # -> results/nalsm1000_fashion.png

One figure, four panels: the liquid raster of the first recorded test sample with the
astrocyte's A(t) of the recorded samples; A at the end of each phase-A presentation; the softmax
readout's validation and test accuracy per epoch; the test confusion matrix of the reported
readout. Reads only the file (docs/output_format.md, "Reservoir experiments"). Needs h5py, numpy
and matplotlib (Debian: python3-h5py, python3-numpy, python3-matplotlib).
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
        if run.attrs.get("kind") not in ("nalsm", b"nalsm"):
            sys.exit(f"{args.file}: not a reservoir output file (/run@kind != nalsm)")
        metrics = dict(f["metrics"].attrs) if "metrics" in f else {}
        m = f["metrics"] if "metrics" in f else {}
        raster = None
        if "reservoir/rasters/sample" in f:
            s = f["reservoir/rasters/sample"][:]
            raster = (f["reservoir/rasters/step"][:][s == 0], f["reservoir/rasters/neuron"][:][s == 0])
        trace = f["astrocytes/nalsm/trace"][:] if "astrocytes/nalsm/trace" in f else None
        init_a = f["reservoir/init/final_A"][:] if "reservoir/init/final_A" in f else None
        val_curve = m["softmax_validation_curve"][:] if "softmax_validation_curve" in m else None
        test_curve = m["softmax_test_curve"][:] if "softmax_test_curve" in m else None
        readout = metrics.get("accuracy_test_readout", "softmax")
        readout = readout.decode() if isinstance(readout, bytes) else str(readout)
        conf = m[f"{readout}_confusion_test"][:] if f"{readout}_confusion_test" in m else None
        n_exc = int(f["reservoir/liquid"].attrs.get("n_exc", 0)) if "reservoir/liquid" in f else 0

    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    a = ax[0, 0]
    if raster is not None and len(raster[0]):
        exc = raster[1] < n_exc
        a.scatter(raster[0][exc], raster[1][exc], s=0.5, c="tab:blue", label="E")
        a.scatter(raster[0][~exc], raster[1][~exc], s=0.5, c="tab:red", label="I")
        a.set_xlabel("step (ms)")
        a.set_ylabel("liquid neuron")
        a.set_title("liquid raster, first test sample (phase B)")
        if trace is not None and trace.size:
            b = a.twinx()
            if trace.shape[2] == 1:  # one global astrocyte: every recorded sample, the first bold
                for k in range(trace.shape[0]):
                    b.plot(trace[k, :, 0], c="k", lw=0.6, alpha=0.3 if k else 1.0)
            else:  # regional astrocytes: each region of the first sample
                for r in range(trace.shape[2]):
                    b.plot(trace[0, :, r], lw=0.9, label=f"region {r}")
                b.legend(loc="upper right", fontsize=7)
            b.set_ylabel("astrocyte A(t)")
    else:
        a.set_axis_off()
    a = ax[0, 1]
    if init_a is not None and init_a.size:
        a.plot(init_a, lw=0.3, c="tab:green")
        a.set_xlabel("phase-A presentation")
        a.set_ylabel("A at the end of the presentation")
        a.set_title("astrocyte during liquid initialisation")
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
