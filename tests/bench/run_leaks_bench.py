"""Speed of the leak proof (issue 6, Speed): `ifxray leaks` on a process with many goroutines and
a large live heap, with the Go runtime's own leak-profile collection on the same process as the
reference.

Uses the leaks fixture built by the test harness with go1.26 (GOEXPERIMENT=goroutineleakprofile),
started with LEAKS_MANY goroutines leaked alike (default 100,000) and LEAKS_HEAP_MB of live,
pointer-bearing heap (default 1024). On that one process:
  ifxray leaks --stats --format json PID   --runs times: total wall, pause_ms and the heap copy
                                           time of its --stats lines (median)
  then the fixture writes its goroutine leak profile (pprof "goroutineleak", debug=2): the time
  the runtime took (a leak-detecting GC cycle plus the profile) is the reference.
It fails when ifxray fails or its answer is wrong: the goroutine ids ifxray proves leaked must be
the runtime's. Targets (2-core machine): total < 5 s, pause < 500 ms; printed, never judged.

    cmake --build build
    IFXRAY=build/ifxray IFXRAY_FIXTURE_CACHE=build/fixtures python3 tests/bench/run_leaks_bench.py
  options: --goroutines N, --heap-mb M, --runs R, --smoke (2,000 goroutines, 64 MiB, one run)
"""
import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import fixtures  # noqa: E402

STATS_RE = re.compile(r"pause_ms=([\d.]+) total_ms=([\d.]+)")
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--goroutines", type=int, default=100_000)
    ap.add_argument("--heap-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.goroutines, a.heap_mb, a.runs = 2000, 64, 1
    fixtures.build_all()
    tc = next(t for t in fixtures.toolchains() if t.name == "go1.26")
    exe = fixtures.exe_path(tc, "plain", "leaks")
    env = {"LEAKS_MANY": str(a.goroutines), "LEAKS_HEAP_MB": str(a.heap_mb)}
    with fixtures.run_fixture(exe, timeout=600, env=env) as fx:
        runs = []
        for _ in range(a.runs):
            t0 = time.monotonic()
            rc, out, err = fixtures.run_ifxray(["leaks", "--stats", "--format", "json", fx.pid],
                                               timeout=600)
            wall = (time.monotonic() - t0) * 1000
            if rc not in (0, 1):
                sys.exit(f"FAIL ifxray leaks exited {rc}: {err[-500:]}")
            if not STATS_RE.search(err):
                sys.exit(f"FAIL no --stats line: {err[-500:]}")
            st = fixtures.stats(err)
            doc = json.loads(out)
            runs.append((wall, st, doc))
        want, go_ms = fixtures.runtime_leaked(fx, timeout=600)
    doc = runs[-1][2]
    got = {g for leak in doc["leaks"] if leak["verdict"] == "proven" for g in leak["goroutines"]}
    summary = doc["summary"]
    print(f"leaks bench: {a.goroutines} leaked goroutines (+{summary['goroutines'] - a.goroutines}"
          f" others), {a.heap_mb} MiB live heap; {summary['engine']}")

    def med(key):
        return statistics.median(r[1].get(key, 0.0) for r in runs)

    mib = 1 << 20
    print(f"  ifxray leaks total   {statistics.median(r[0] for r in runs):9.1f} ms  (target < 5000)")
    print(f"  ifxray pause         {med('pause_ms'):9.1f} ms  (target < 500; "
          f"ifxray's CPU in it {med('pause_cpu_ms'):.1f} ms)")
    print(f"  ifxray heap capture  {med('heap_capture_ms'):9.1f} ms  (in the pause; of which the "
          f"copy {med('heap_copy_ms'):.1f} ms for {med('heap_copy_bytes') / mib:.1f} MiB)")
    phases = [k for k in runs[-1][1] if k.startswith("stop_") and k.endswith("_ms")]
    print("  the pause by phase   " + ", ".join(f"{k[5:-3]} {med(k):.1f}" for k in phases) +
          " ms")
    print(f"  span metadata        {med('spans_reused'):9.0f} spans kept from before the stop, "
          f"{med('spans_decoded'):.0f} decoded in it")
    print(f"  ifxray proof         {med('proof_ms'):9.1f} ms  (after the pause)")
    print(f"  pre-faulted buffer   {med('reserve_bytes') / mib:9.1f} MiB (used "
          f"{med('reserve_used') / mib:.1f} MiB; {med('unreserved_bytes') / mib:.1f} MiB copied "
          f"into memory mapped in the pause)")
    print(f"  Go leak profile      {go_ms:9.1f} ms  (runtime/pprof goroutineleak, same process)")
    if got != want:
        sys.exit(f"FAIL proven set differs from the runtime's: ifxray only "
                 f"{sorted(got - want)[:10]}, runtime only {sorted(want - got)[:10]}")
    print(f"  proven = the runtime's leaked set ({len(want)} goroutines)")


main()
