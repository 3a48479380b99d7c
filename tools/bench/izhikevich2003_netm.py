#!/usr/bin/env python3
"""Izhikevich (2003) net.m transcribed to NumPy: the reference for configs/izhikevich2003.yaml.

    /usr/bin/python3 tools/bench/izhikevich2003_netm.py [--seeds 5] [--duration 1000]

Prints the mean firing rate (Hz) of the whole network per seed and their mean and SD, to
compare with `glia run configs/izhikevich2003.yaml` (glia draws different random numbers, so
rates agree statistically, not spike for spike).
"""
import argparse
import json

import numpy as np


def run(seed, duration_ms):
    rng = np.random.default_rng(seed)
    Ne, Ni = 800, 200
    re, ri = rng.random(Ne), rng.random(Ni)
    a = np.concatenate([0.02 * np.ones(Ne), 0.02 + 0.08 * ri])
    b = np.concatenate([0.2 * np.ones(Ne), 0.25 - 0.05 * ri])
    c = np.concatenate([-65 + 15 * re**2, -65 * np.ones(Ni)])
    d = np.concatenate([8 - 6 * re**2, 2 * np.ones(Ni)])
    S = np.hstack([0.5 * rng.random((Ne + Ni, Ne)), -rng.random((Ne + Ni, Ni))])
    v = -65 * np.ones(Ne + Ni)
    u = b * v
    n_spikes = 0
    for _ in range(int(duration_ms)):
        I = np.concatenate([5 * rng.standard_normal(Ne), 2 * rng.standard_normal(Ni)])
        fired = np.where(v >= 30)[0]
        n_spikes += fired.size
        v[fired] = c[fired]
        u[fired] += d[fired]
        I += S[:, fired].sum(axis=1)
        v += 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        v += 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        u += a * (b * v - u)
    return n_spikes / (Ne + Ni) / (duration_ms * 1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=1000.0)
    args = ap.parse_args()
    rates = [run(s, args.duration) for s in range(1, args.seeds + 1)]
    print(json.dumps({"reference": "net.m (numpy)", "rates_hz": rates,
                      "mean_hz": float(np.mean(rates)), "sd_hz": float(np.std(rates, ddof=1))}))


if __name__ == "__main__":
    main()
