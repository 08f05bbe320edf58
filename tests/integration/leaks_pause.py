"""What `ifxray leaks` does while it holds a live process stopped, on a process with thousands of
blocked goroutines and a pointer-bearing heap, against the Go runtime's own leak detector.

Oracle: the leaks fixture built with Go 1.26 and 1.27 (GOEXPERIMENT=goroutineleakprofile),
started with LEAKS_MANY goroutines leaked alike and LEAKS_HEAP_MB of linked pointer-bearing
objects a global holds. ifxray runs first; then the fixture writes the runtime's goroutine leak
profile: the goroutine ids ifxray proves leaked must be exactly the runtime's.

And the pause's mechanics, from `--stats` (the bench, tests/bench/run_leaks_bench.py, times it):
  - the sudogs and channels of the blocked goroutines are copied in batches: fewer system calls
    over the whole run than there are blocked goroutines (one read per sudog and per channel
    would be twice as many);
  - the heap copy went into the buffer faulted in before the stop (reserve_used), not into
    memory mapped during the pause (unreserved_bytes), and it holds the heap (heap_copy_bytes);
  - the span metadata read before the stop served it (spans_reused; leaks_preread checks it
    against the stop's own read), and so did the stacks copied before it (precopy_kept;
    leaks_precopy checks them against the stop's own copy).
"""
import json

import fixtures

MANY, HEAP_MB = 4000, 64
def main():
    tcs = fixtures.setup("leaks_pause")
    report = fixtures.Report("leaks_pause")
    for tc in tcs:
        if tc.name not in ("go1.26", "go1.27"):
            continue
        case = tc.name
        env = {"LEAKS_MANY": str(MANY), "LEAKS_HEAP_MB": str(HEAP_MB)}
        try:
            with fixtures.run_fixture(fixtures.exe_path(tc, "plain", "leaks"), timeout=120,
                                      env=env) as fx:
                rc, out, err = fixtures.run_ifxray(["leaks", "--stats", "--format", "json",
                                                    fx.pid])
                if rc not in (0, 1):
                    raise fixtures.FixtureError(f"ifxray leaks exited {rc}: {err[-500:]}")
                doc = json.loads(out)
                st = fixtures.stats(err)
                want, _ = fixtures.runtime_leaked(fx)
            got = {g for leak in doc["leaks"] if leak["verdict"] == "proven"
                   for g in leak["goroutines"]}
            report.check(len(want) >= MANY, f"oracle:{case}",
                         f"  the runtime found only {len(want)} leaked goroutines")
            report.check(got == want, f"proven:{case}",
                         f"  runtime only: {sorted(want - got)[:20]}\n"
                         f"  ifxray only: {sorted(got - want)[:20]}")
            needed = ("reads", "heap_copy_bytes", "reserve_used", "unreserved_bytes")
            missing = [k for k in needed if k not in st]
            report.check(not missing, f"stats:{case}", f"  missing {missing} in:\n{err[-800:]}")
            if missing:
                continue
            # Stacks copied before the stop served it (leaks_precopy checks them against the
            # stop's own copy), so the proven set above was computed from them.
            report.check(st.get("precopy_kept", 0) >= MANY, f"precopy:{case}",
                         f"  precopy_kept={st.get('precopy_kept')}")
            # The stop decoded only the spans that changed since they were read before it.
            report.check(st.get("spans_reused", 0) > 0, f"preread:{case}",
                         f"  spans_reused={st.get('spans_reused')}")
            report.check(st["reads"] < MANY, f"batched:{case}",
                         f"  {st['reads']:.0f} system calls for {MANY} blocked goroutines")
            report.check(st["heap_copy_bytes"] >= HEAP_MB << 20, f"heap-copied:{case}",
                         f"  heap_copy_bytes={st['heap_copy_bytes']:.0f}")
            report.check(st["unreserved_bytes"] * 4 < st["heap_copy_bytes"]
                         and st["reserve_used"] >= st["heap_copy_bytes"] / 2,
                         f"prefaulted:{case}",
                         f"  reserve_used={st['reserve_used']:.0f} "
                         f"unreserved_bytes={st['unreserved_bytes']:.0f} "
                         f"heap_copy_bytes={st['heap_copy_bytes']:.0f}")
        except (fixtures.FixtureError, OSError, ValueError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
