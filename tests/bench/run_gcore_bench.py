"""Size and time of `ifxray gcore` against gdb's gcore, on the same process (issue 3).

Builds the manyg fixture (tests/fixtures/manyg) with go1.26 through run_frames_bench's helpers,
starts one process with N parked goroutines, and on that same process takes --runs cores with
each tool, in turn: ifxray's wall time, its pause (from its own report line) and core size
(allocated bytes and apparent size), then gdb's. Prints medians and the ratios gdb / ifxray.
It never fails on time; it fails when a core cannot be written or ifxray cannot read its core.

    cmake --build build
    IFXRAY=build/ifxray python3 tests/bench/run_gcore_bench.py [--n 10000] [--runs 3]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run_frames_bench as fb


def sizes(path):
    st = os.stat(path)
    return st.st_blocks * 512, st.st_size


def take(cmd, core):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t
    if p.returncode != 0 or not os.path.exists(core):
        sys.exit(f"run_gcore_bench: {' '.join(cmd)} failed ({p.returncode}): {p.stderr[-400:]}")
    m = re.search(r"stopped for ([0-9.]+) ms", p.stderr)
    return wall, float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=os.environ.get("IFXRAY_BENCH_DIR", "build/bench"))
    args = ap.parse_args()
    ifxray = os.environ.get("IFXRAY", "build/ifxray")
    exe = fb.build(Path(args.dir).resolve(), fb.go_version())
    work = tempfile.mkdtemp(prefix="gcore-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={**os.environ, "MANYG_N": str(args.n), "IFXRAY_FIXTURE_OUT": work})
    try:
        if proc.stdout.readline().strip() != b"READY":
            sys.exit("run_gcore_bench: manyg did not start")
        rows = {"ifxray": [], "gdb": []}
        core = os.path.join(work, "core")
        for _ in range(args.runs):
            for tool, cmd in (("ifxray", [ifxray, "gcore", "-o", core, str(proc.pid)]),
                              ("gdb", ["gdb", "-p", str(proc.pid), "-batch", "-ex", f"gcore {core}"])):
                wall, pause = take(cmd, core)
                if tool == "ifxray":
                    check = subprocess.run([ifxray, "info", "--format", "json", core],
                                           capture_output=True, text=True)
                    if check.returncode != 0:
                        sys.exit(f"run_gcore_bench: ifxray cannot read its own core: {check.stderr}")
                rows[tool].append((wall, pause, *sizes(core)))
                os.unlink(core)
        med = {t: [statistics.median(x[i] for x in r if x[i] is not None) if any(x[i] is not None for x in r) else None
                   for i in range(4)] for t, r in rows.items()}
        print(f"gcore of one manyg process with {args.n} parked goroutines; median of {args.runs} runs")
        print(f"  {'':8} {'wall':>9} {'pause':>9} {'on disk':>12} {'apparent':>12}")
        for t, (wall, pause, disk, apparent) in med.items():
            p = f"{pause:.1f}ms" if pause is not None else "-"
            print(f"  {t:8} {wall * 1000:8.0f}ms {p:>9} {disk / 2**20:10.1f}MiB {apparent / 2**20:10.1f}MiB")
        i, g = med["ifxray"], med["gdb"]
        print(f"  ratios gdb/ifxray: time {g[0] / i[0]:.1f}x, size on disk {g[2] / i[2]:.1f}x, "
              f"apparent size {g[3] / i[3]:.1f}x")
        print("run_gcore_bench: 1 passed, 0 failed")
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
