#!/usr/bin/env python3
"""Weight distribution over time from a glia output file (/weights/<projection>).

    python3 tools/plot_weights.py results/polychronization.h5                 # every recorded projection
    python3 tools/plot_weights.py out.h5 --projection exc_exc -o weights.png --bins 50

Top: the histogram of the weights at every snapshot as an image (time x weight, colour = share
of synapses). Bottom: the mean weight and the shares near the two ends of the range.
Reads only the file. Needs h5py, numpy and matplotlib (Debian: python3-h5py, python3-numpy,
python3-matplotlib).
"""
import argparse
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--projection", action="append", help="projection(s) to pool (default: all recorded)")
    ap.add_argument("-o", "--output", help="image file (default: <file>.weights.png)")
    ap.add_argument("--bins", type=int, default=40)
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(args.file, "r") as f:
        if "weights" not in f:
            sys.exit(f"{args.file}: no /weights group (record weights with record.weights in the experiment)")
        names = args.projection or list(f["weights"].keys())
        time = None
        blocks = []
        unit = ""
        for name in names:
            g = f["weights"][name]
            t = g["time"][()]
            time = t if time is None else time[: min(len(time), len(t))]
            blocks.append(g["weight"][()])
            unit = g["weight"].attrs.get("units", "")
            unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    n = len(time)
    W = np.hstack([b[:n] for b in blocks])
    lo, hi = float(W.min()), float(W.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, args.bins + 1)
    H = np.stack([np.histogram(w, bins=edges)[0] / w.size for w in W])
    fig, (ax_h, ax_m) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), gridspec_kw={"height_ratios": [3, 1]})
    t_s = time / 1000.0
    ax_h.imshow(H.T, origin="lower", aspect="auto", cmap="viridis",
                extent=[t_s[0], t_s[-1] if n > 1 else t_s[0] + 1, lo, hi])
    ax_h.set_ylabel(f"weight [{unit}]")
    ax_h.set_title(f"{args.file}: {', '.join(names)} ({W.shape[1]} synapses)")
    span = hi - lo
    ax_m.plot(t_s, W.mean(axis=1), label="mean")
    ax_m2 = ax_m.twinx()
    ax_m2.plot(t_s, (W < lo + 0.1 * span).mean(axis=1), "C1", label="low 10%")
    ax_m2.plot(t_s, (W > hi - 0.1 * span).mean(axis=1), "C2", label="high 10%")
    ax_m2.set_ylabel("share")
    ax_m.set_ylabel(f"mean [{unit}]")
    ax_m.set_xlabel("time [s]")
    ax_m2.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    out = args.output or args.file.rsplit(".h5", 1)[0] + ".weights.png"
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
