#!/usr/bin/env python3
"""Izhikevich (2006) spnet.cpp transcribed to NumPy: the reference for configs/polychronization.yaml.

    /usr/bin/python3 tools/bench/spnet_reference.py [--seconds 60] [--seed 1] [--glia-structure]

--glia-structure uses the config's two simplifications (each source's 100 excitatory synapses
split 80 to E / 20 to I, delays uniform on 1..20 ms per synapse) instead of spnet's (targets
drawn from all 1000 neurons, exactly 5 synapses per delay). Prints per second the excitatory
rate and the weight distribution (mean, fraction < 1, fraction > 9) as JSON lines.
"""
import argparse
import json

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--glia-structure", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    Ne, Ni, M, D, sm = 800, 200, 100, 20, 10.0
    N = Ne + Ni
    a = np.r_[0.02 * np.ones(Ne), 0.1 * np.ones(Ni)]
    d = np.r_[8.0 * np.ones(Ne), 2.0 * np.ones(Ni)]
    post = np.zeros((N, M), dtype=int)
    delay = np.zeros((N, M), dtype=int)  # spnet's delay bin 0..19 (delivered bin ms later)
    for i in range(N):
        if i < Ne:
            if args.glia_structure:
                post[i, :80] = rng.choice(np.setdiff1d(np.arange(Ne), [i]), 80, replace=False)
                post[i, 80:] = Ne + rng.choice(Ni, 20, replace=False)
                delay[i] = rng.integers(0, D, M)
            else:
                post[i] = rng.choice(np.setdiff1d(np.arange(N), [i]), M, replace=False)
                delay[i] = np.repeat(np.arange(D), M // D)
        else:
            post[i] = rng.choice(Ne, M, replace=False)
            delay[i] = 0
    s = np.where(np.arange(N)[:, None] < Ne, 6.0, -5.0) * np.ones((N, M))
    sd = np.zeros((N, M))
    v = -65.0 * np.ones(N)
    u = 0.2 * v
    last_pre = np.full(N, -10**9)   # step of the last spike of each neuron (LTP trace source)
    last_post = np.full(N, -10**9)  # step of the last spike (LTD trace)
    fired_at = []                   # (t, neuron) for pending deliveries
    exc = np.arange(Ne)
    for sec in range(args.seconds):
        n_exc_spikes = 0
        for t in range(1000):
            T = sec * 1000 + t
            I = np.zeros(N)
            I[rng.integers(N)] = 20.0
            fired = np.nonzero(v >= 30)[0]
            v[fired] = -65.0
            u[fired] += d[fired]
            n_exc_spikes += np.count_nonzero(fired < Ne)
            last_post[fired] = T
            # LTP: for every E synapse onto a fired neuron: sd += 0.1 * 0.95^(T - dly - 1 - t_pre)
            for i in fired:
                src, k = np.nonzero((post[:Ne] == i))
                lag = (T - delay[src, k] - 1) - last_pre[src]
                ok = lag >= 0
                sd[src[ok], k[ok]] += 0.1 * 0.95 ** lag[ok]
            last_pre[fired] = T
            fired_at.extend((T, j) for j in fired)
            fired_at = [(tf, j) for tf, j in fired_at if T - tf < D]
            for tf, j in fired_at:
                ks = np.nonzero(delay[j] == T - tf)[0]
                if ks.size == 0:
                    continue
                tg = post[j, ks]
                np.add.at(I, tg, s[j, ks])
                if j < Ne:  # LTD with the target's trace 0.12 * 0.95^(T - t_post)
                    lag = T - last_post[tg]
                    sd[j, ks] -= np.where(lag >= 0, 0.12 * 0.95 ** np.maximum(lag, 0), 0.0)
            v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I)
            v += 0.5 * ((0.04 * v + 5) * v + 140 - u + I)
            u += a * (0.2 * v - u)
        s[:Ne] = np.clip(s[:Ne] + 0.01 + sd[:Ne], 0, sm)
        sd[:Ne] *= 0.9
        w = s[:Ne]
        print(json.dumps({"second": sec, "exc_rate_hz": n_exc_spikes / Ne,
                          "w_mean": float(w.mean()), "below_1": float((w < 1).mean()),
                          "above_9": float((w > 9).mean())}), flush=True)


if __name__ == "__main__":
    main()
