#!/usr/bin/env python3
"""Raster and population rate from a glia output file (SONATA spikes).

    python3 tools/plot_raster.py results/cuba.h5                  # -> results/cuba.raster.png
    python3 tools/plot_raster.py out.h5 -o fig.png --t-start 200 --t-stop 400 --max-neurons 500

Reads only the file: /spikes/<population>/{timestamps, node_ids} and, when present, /run for
the duration and population sizes. Needs h5py, numpy and matplotlib (Debian: python3-h5py,
python3-numpy, python3-matplotlib).
"""
import argparse
import sys

import h5py
import numpy as np


def read(path):
    pops = []
    with h5py.File(path, "r") as f:
        if "spikes" not in f:
            sys.exit(f"{path}: no /spikes group")
        sizes, duration = {}, None
        if "run" in f:
            run = f["run"]
            duration = float(run.attrs.get("duration", 0)) or None
            if "steps_done" in run.attrs and "dt" in run.attrs:
                duration = float(run.attrs["steps_done"]) * float(run.attrs["dt"]) or duration
            if "population_names" in run and "population_sizes" in run:
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in run["population_names"][()]]
                sizes = dict(zip(names, (int(s) for s in run["population_sizes"][()])))
        for name, group in f["spikes"].items():
            t = group["timestamps"][()]
            ids = group["node_ids"][()]
            size = sizes.get(name, int(ids.max()) + 1 if ids.size else 0)
            pops.append((name, t, ids, size))
    return pops, duration


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("-o", "--output", help="image file (default: <file>.raster.png)")
    ap.add_argument("--t-start", type=float, default=0.0, help="[ms]")
    ap.add_argument("--t-stop", type=float, default=None, help="[ms] (default: end of run)")
    ap.add_argument("--max-neurons", type=int, default=1000, help="per population, for the raster")
    ap.add_argument("--bin", type=float, default=1.0, help="rate histogram bin [ms]")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops, duration = read(args.file)
    t_stop = args.t_stop if args.t_stop is not None else (duration or max((t.max() for _, t, _, _ in pops if t.size), default=1.0))
    fig, (ax_r, ax_p) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), gridspec_kw={"height_ratios": [3, 1]})
    offset = 0
    edges = np.arange(args.t_start, t_stop + args.bin, args.bin)
    for name, t, ids, size in pops:
        window = (t >= args.t_start) & (t < t_stop)
        shown = window & (ids < args.max_neurons)
        ax_r.plot(t[shown], ids[shown] + offset, "|", markersize=2, label=name)
        counts, _ = np.histogram(t[window], bins=edges)
        rate = counts / max(size, 1) / (args.bin * 1e-3)
        mean = window.sum() / max(size, 1) / ((t_stop - args.t_start) * 1e-3)
        ax_p.plot(edges[:-1], rate, label=f"{name} ({mean:.2f} Hz)")
        offset += min(size, args.max_neurons)
    ax_r.set_ylabel("neuron")
    ax_r.legend(loc="upper right", markerscale=4)
    ax_p.set_ylabel("rate [Hz]")
    ax_p.set_xlabel("time [ms]")
    ax_p.legend(loc="upper right", fontsize="small")
    ax_r.set_title(args.file)
    fig.tight_layout()
    out = args.output or args.file.rsplit(".h5", 1)[0] + ".raster.png"
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
