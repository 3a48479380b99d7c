#!/usr/bin/env python3
"""Benchmarks of the standard networks: glia (and, with --brian2, Brian2's C++ standalone mode on
the same networks, in the same invocation, so ratios survive a noisy machine).

    python3 tools/bench/run.py                          # every case below; 1 and 2 threads
    python3 tools/bench/run.py brunel --repeats 5 --threads 1,2 --brian2
    python3 tools/bench/run.py --quick                  # short durations (a smoke test of the driver)

Each case runs `glia run ... --stats` --repeats times and reports the median of: construction
time, simulation wall time, synaptic events per second, peak RSS, bytes per synapse and the
mean rate. Output: a Markdown table on stdout, all raw figures as JSON in --json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLIA = os.path.join(ROOT, "build", "glia")

# name -> (config, simulated duration, Brian2 script arguments or None)
CASES = {
    "brunel": ("configs/brunel.yaml", "1000 ms", ["brian2_brunel.py"]),
    "cuba": ("configs/cuba.yaml", "10000 ms", ["brian2_vogels_abbott.py", "cuba"]),
    "coba": ("configs/coba.yaml", "1000 ms", ["brian2_vogels_abbott.py", "coba"]),
    "izhikevich2003": ("configs/izhikevich2003.yaml", "60000 ms", None),
    "sparse_lif": ("configs/sparse_lif.yaml", "1000 ms", None),
    "sparse_lif_clock": ("configs/sparse_lif.yaml", "1000 ms", None),
}
# Extra overrides per case.
EXTRA = {"sparse_lif_clock": ["populations.exc.update=clock", "populations.inh.update=clock"]}
QUICK = {"brunel": "100 ms", "cuba": "500 ms", "coba": "100 ms", "izhikevich2003": "1000 ms",
         "sparse_lif": "100 ms", "sparse_lif_clock": "100 ms"}


def run_glia(config, duration, threads, tmp, extra=()):
    out = os.path.join(tmp, "bench.h5")
    stats = os.path.join(tmp, "stats.json")
    cmd = [GLIA, "run", os.path.join(ROOT, config), "-o", out, "--threads", str(threads),
           "--no-progress", "--stats", stats, "--set", f"simulation.duration={duration}",
           "--set", "record.reports={}"]
    for e in extra:
        cmd += ["--set", e]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(stats) as f:
        return json.load(f)


def run_brian2(args, duration_ms, threads):
    script = os.path.join(ROOT, "tools", "bench", args[0])
    cmd = ["/usr/bin/python3", script, *args[1:], "--duration", str(duration_ms), "--threads", str(threads)]
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def ms_of(duration):
    value, unit = duration.split()
    return float(value) * (1000.0 if unit == "s" else 1.0)


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    global GLIA
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--brian2", action="store_true", help="also run Brian2 standalone (1 thread) where a script exists")
    ap.add_argument("--quick", action="store_true", help="short durations")
    ap.add_argument("--json", help="write every raw figure here")
    ap.add_argument("--glia", default=GLIA, help=f"the executable to measure (default: {GLIA})")
    args = ap.parse_args()
    if not os.path.exists(args.glia):
        sys.exit(f"{args.glia} not found: build first (bash tools/setup.sh)")
    GLIA = args.glia
    args.cases = args.cases or list(CASES)
    for c in args.cases:
        if c not in CASES:
            sys.exit(f"unknown case '{c}'; cases: {', '.join(CASES)}")
    threads = [int(t) for t in args.threads.split(",")]
    raw = []
    lines = ["| network | sim. time | threads | build [s] | wall [s] | events/s | peak RSS [MB] | bytes/syn | rate [Hz] | vs Brian2 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="glia_bench_") as tmp:
        for name in args.cases:
            config, duration, brian = CASES[name]
            if args.quick:
                duration = QUICK[name]
            brian_wall = None
            if args.brian2 and brian:
                b = [run_brian2(brian, ms_of(duration), 1) for _ in range(args.repeats)]
                brian_wall = statistics.median(r["run_time_s"] for r in b)
                raw.append({"network": name, "simulator": "brian2", "runs": b})
                lines.append(f"| {name} (Brian2 standalone) | {duration} | 1 | | {brian_wall:.3f} | | | | "
                             f"{statistics.median(r['rate_hz'] for r in b):.2f} | 1 |")
            for t in threads:
                rows = [run_glia(config, duration, t, tmp, EXTRA.get(name, ())) for _ in range(args.repeats)]
                raw.append({"network": name, "simulator": "glia", "threads": t, "runs": rows})
                wall = median(rows, "wall_seconds")
                ratio = f"{brian_wall / wall:.1f}x faster" if brian_wall else ""
                lines.append(
                    f"| {name} | {duration} | {t} | {median(rows, 'build_seconds'):.3f} | {wall:.3f} | "
                    f"{median(rows, 'events_per_second'):.3g} | {median(rows, 'peak_rss_bytes') / 1e6:.0f} | "
                    f"{median(rows, 'bytes_per_synapse'):.2f} | {median(rows, 'mean_rate_hz'):.2f} | {ratio} |")
                print(lines[-1], file=sys.stderr)
    print(f"median of {args.repeats} runs; machine: {os.cpu_count()} cores")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
