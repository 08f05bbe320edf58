"""Heap model speed: `ifxray info --heap --stats PID` on the heap fixture with a large live heap
and many parked goroutines (issue 6's target: 1 GiB live heap and 100,000 goroutines: total
under 5 s, pause under 500 ms on a 2-core machine).

Builds the heap fixture with go1.26 (cached in the bench dir), starts it with HEAPFIX_MB and
HEAPFIX_GOROUTINES, waits for READY, runs ifxray --runs times and prints for each run: pause
(the ptrace stop: goroutines, span metadata and the heap copied), total wall time, bytes
copied, and the model's own split (capture, full pointer scan of every object, roots).
It checks that each run succeeds and finds at least the fixture's live bytes; it never fails
on time.

    cmake --build build
    IFXRAY=build/ifxray python3 tests/bench/run_heap_bench.py --mb 1024 --goroutines 100000
ctest runs `--smoke` (16 MiB, 1,000 goroutines, one run) only to prove the bench works.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false", "GOWORK": "off",
          "GOPROXY": "off", "CGO_ENABLED": "0"}


def env(extra=None):
    e = dict(os.environ)
    e.pop("GOROOT", None)
    e.update(GO_ENV)
    e.update(extra or {})
    return e


def build(bench_dir):
    exe = bench_dir / "heapfix"
    src = REPO / "tests" / "fixtures" / "heap"
    if not exe.exists() or exe.stat().st_mtime < (src / "main.go").stat().st_mtime:
        bench_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["go", "build", "-o", str(exe), "."], cwd=src, env=env(), check=True)
    return exe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--goroutines", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--dir", default=os.environ.get("IFXRAY_BENCH_DIR", "build/bench"))
    a = ap.parse_args()
    if a.smoke:
        a.mb, a.goroutines, a.runs = 16, 1000, 1
    ifxray = os.environ["IFXRAY"]
    exe = build(Path(a.dir))
    out = tempfile.mkdtemp(prefix="ifxray-heapbench-")
    t0 = time.monotonic()
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env({"IFXRAY_FIXTURE_OUT": out, "HEAPFIX_MB": str(a.mb),
                                     "HEAPFIX_GOROUTINES": str(a.goroutines)}))
    try:
        line = proc.stdout.readline()
        if line.strip() != b"READY":
            sys.exit(f"fixture did not start: {line!r}")
        mem = json.loads(Path(out, "memstats.json").read_text())
        print(f"fixture: {a.mb} MiB graph, {a.goroutines} extra goroutines; "
              f"HeapAlloc {mem['heap_alloc'] / 2**20:.1f} MiB, HeapObjects {mem['heap_objects']}; "
              f"ready in {time.monotonic() - t0:.1f} s")
        print(f"command: {ifxray} info --heap --format json --stats PID")
        for run in range(a.runs):
            t = time.monotonic()
            p = subprocess.run([ifxray, "info", "--heap", "--format", "json", "--stats",
                                str(proc.pid)], capture_output=True, text=True)
            wall = time.monotonic() - t
            if p.returncode != 0:
                sys.exit(f"ifxray failed: {p.stderr}")
            h = json.loads(p.stdout)["heap_model"]
            st = dict(re.findall(r"(\w+)=([\d.]+)", p.stderr))
            if h["object_bytes"] < mem["heap_alloc"] * 0.9:
                sys.exit(f"ifxray found {h['object_bytes']} bytes, fixture has {mem['heap_alloc']}")
            print(f"run {run + 1}: pause {float(st['pause_ms']):.0f} ms, total "
                  f"{float(st['total_ms']):.0f} ms (wall {wall * 1000:.0f} ms); "
                  f"copied {h['copied_bytes'] / 2**20:.0f} MiB in {h['capture_us'] / 1000:.0f} ms; "
                  f"{h['spans']} spans, {h['objects']} objects, {h['pointers']} pointers "
                  f"scanned in {h['scan_us'] / 1000:.0f} ms; roots "
                  f"{sum(h['roots'].values())} in {h['roots_us'] / 1000:.0f} ms")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


main()
