#!/usr/bin/env python3
"""Brette et al. (2007) benchmarks 1 (COBA) and 2 (CUBA) in Brian2's C++ standalone mode,
the same networks as configs/coba.yaml and configs/cuba.yaml (Debian package python3-brian).

    /usr/bin/python3 tools/bench/brian2_vogels_abbott.py coba|cuba [--duration 1000]
        [--method rk4|euler|exact] [--delay 0.1] [--seed 42]

Prints one JSON line with wall times, spike count and mean rate. Defaults follow glia's
semantics (one-step synaptic delay; RK4 for COBA, exact for CUBA); --method euler --delay 0
gives Brette's original Brian script.
"""
import argparse
import json
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("benchmark", choices=["coba", "cuba"])
    ap.add_argument("--duration", type=float, default=1000.0, help="[ms]")
    ap.add_argument("--method", default=None)
    ap.add_argument("--delay", type=float, default=0.1, help="[ms]; 0 = Brian's no delay")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV, nS, pF, second

    build_dir = tempfile.mkdtemp(prefix="brian2_va_")
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    if args.threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.seed(args.seed)
    b2.defaultclock.dt = 0.1 * ms
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr = -50 * mV, -60 * mV
    if args.benchmark == "coba":
        Cm, gl, El, Ee, Ei = 200 * pF, 10 * nS, -60 * mV, 0 * mV, -80 * mV
        we, wi = 6 * nS, 67 * nS
        eqs = """dv/dt = (gl*(El-v) + ge*(Ee-v) + gi*(Ei-v))/Cm : volt (unless refractory)
                 dge/dt = -ge/taue : siemens
                 dgi/dt = -gi/taui : siemens"""
        method = args.method or "rk4"
    else:
        El = -49 * mV
        we, wi = 60 * 0.27 / 10 * mV, -20 * 4.5 / 10 * mV
        eqs = """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
                 dge/dt = -ge/taue : volt
                 dgi/dt = -gi/taui : volt"""
        method = args.method or "exact"
    P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method=method)
    if args.benchmark == "coba":
        P.v = "El + (randn() * 5 - 5)*mV"
        P.ge = "(randn() * 1.5 + 4) * 10.*nS"
        P.gi = "(randn() * 12 + 20) * 10.*nS"
    else:
        P.v = "Vr + rand() * (Vt - Vr)"
    Ce = b2.Synapses(P[:3200], P, on_pre="ge += we", delay=args.delay * ms)
    Ci = b2.Synapses(P[3200:], P, on_pre="gi += wi", delay=args.delay * ms)
    Ce.connect(p=0.02)
    Ci.connect(p=0.02)
    mon = b2.SpikeMonitor(P, record=False)
    b2.run(args.duration * ms)
    t0 = time.time()
    b2.device.build(directory=build_dir, compile=True, run=True)
    n = int(np.sum(mon.count[:]))
    print(json.dumps({"simulator": "brian2", "benchmark": args.benchmark, "method": method,
                      "delay_ms": args.delay, "duration_ms": args.duration,
                      "spikes": n, "rate_hz": n / 4000 / (args.duration * 1e-3),
                      "compile_and_run_s": time.time() - t0,
                      "run_time_s": float(b2.device._last_run_time)}))


if __name__ == "__main__":
    main()
