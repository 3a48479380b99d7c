#!/usr/bin/env python3
"""Brunel (2000) model A, Fig. 8C, in Brian2's C++ standalone mode: the same network as
configs/brunel.yaml, for rate and speed comparisons (Debian package python3-brian).

    /usr/bin/python3 tools/bench/brian2_brunel.py [--duration 1000] [--v-reset 10]
        [--rule indegree|bernoulli] [--refractory-input discard|add] [--threads 1]

Prints one JSON line: wall times, spikes, mean rate, synapses. The synaptic update follows
glia/NEST semantics by default (fixed in-degree, input discarded while refractory, threshold
v >= theta); --rule bernoulli --refractory-input add --strict-threshold gives Brian2's own
example (examples/frompapers/Brunel_2000.py).
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=1000.0, help="[ms]")
    ap.add_argument("--v-reset", type=float, default=10.0, help="[mV]")
    ap.add_argument("--rule", choices=["indegree", "bernoulli"], default="indegree")
    ap.add_argument("--refractory-input", choices=["discard", "add"], default="discard")
    ap.add_argument("--strict-threshold", action="store_true", help="v > theta instead of v >= theta")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--build-dir", default=None)
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV, Hz

    build_dir = args.build_dir or tempfile.mkdtemp(prefix="brian2_brunel_")
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    if args.threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.seed(args.seed)
    np.random.seed(args.seed)
    b2.defaultclock.dt = 0.1 * ms

    N_E, N_I = 10000, 2500
    C_E, C_I = 1000, 250
    tau, theta, V_r, tau_rp = 20 * ms, 20 * mV, args.v_reset * mV, 2 * ms
    J, g, D = 0.1 * mV, 5.0, 1.5 * ms
    nu_thr = theta / (J * C_E * tau)
    nu_ext = 2.0 * nu_thr

    threshold = "v > theta" if args.strict_threshold else "v >= theta"
    neurons = b2.NeuronGroup(N_E + N_I, "dv/dt = -v/tau : volt (unless refractory)",
                             threshold=threshold, reset="v = V_r", refractory=tau_rp, method="exact")
    exc, inh = neurons[:N_E], neurons[N_E:]
    # NEST discards input that arrives during refractoriness; Brian adds it.
    on_pre_e = "v += J*int(not_refractory)" if args.refractory_input == "discard" else "v += J"
    on_pre_i = "v += -g*J*int(not_refractory)" if args.refractory_input == "discard" else "v += -g*J"
    se = b2.Synapses(exc, neurons, on_pre=on_pre_e, delay=D)
    si = b2.Synapses(inh, neurons, on_pre=on_pre_i, delay=D)
    if args.rule == "bernoulli":
        se.connect(p=0.1)
        si.connect(p=0.1)
    else:  # fixed in-degree with multapses and autapses (NEST's defaults)
        rng = np.random.default_rng(args.seed)
        n = N_E + N_I
        se.connect(i=rng.integers(0, N_E, size=n * C_E), j=np.repeat(np.arange(n), C_E))
        si.connect(i=rng.integers(0, N_I, size=n * C_I), j=np.repeat(np.arange(n), C_I))
    target_var = "v"
    pi = b2.PoissonInput(neurons, target_var, N=C_E, rate=nu_ext,
                         weight="J*int(not_refractory)" if args.refractory_input == "discard" else "J")
    mon = b2.SpikeMonitor(neurons, record=False)  # counts only

    b2.run(args.duration * ms)
    t0 = time.time()
    b2.device.build(directory=build_dir, compile=True, run=True, debug=False)
    total = time.time() - t0
    n_spikes = int(np.sum(mon.count[:]))
    prof = {}
    try:
        prof = {"run_time_s": float(b2.device._last_run_time)}
    except Exception:
        pass
    print(json.dumps({
        "simulator": "brian2", "version": b2.__version__, "threads": args.threads,
        "duration_ms": args.duration, "v_reset_mV": args.v_reset, "rule": args.rule,
        "refractory_input": args.refractory_input, "strict_threshold": args.strict_threshold,
        "neurons": N_E + N_I, "synapses": int(len(se) + len(si)),
        "spikes": n_spikes, "rate_hz": n_spikes / (N_E + N_I) / (args.duration * 1e-3),
        "compile_and_run_s": total, **prof,
    }))


if __name__ == "__main__":
    main()
