"""`ifxray leaks --watch INTERVAL --samples N` against the counts the fixture wrote.

Oracle: the leaks fixture with LEAKS_WATCH_MS/LEAKS_WATCH_K leaks K goroutines (main.watchGrow)
every interval and logs, after each batch, CLOCK_MONOTONIC and how many it has started; five
goroutines (main.watchConstant) leak once at start. ifxray's clock (steady_clock) and Python's
time.monotonic() are CLOCK_MONOTONIC too, so the test knows the window [t0, t1] ifxray ran in.
Checks: only the watchGrow group is reported as growing; the time between its first and last
sample lies between N-1 intervals and the window; its growth equals what the fixture started in
some span of that length inside the window (give or take one batch still parking); per_minute
is that growth over that time; the constant group is there with its 5 goroutines and is not
reported as growing.
"""
import bisect
import json
import time

import fixtures

WATCH_MS, WATCH_K = 150, 3
INTERVAL_S, SAMPLES = 1.0, 3


def started_in_spans(log, t0, t1, span):
    """(min, max) goroutines the fixture started in any [s, s+span] within [t0, t1]."""
    times = [t for t, _ in log]
    counts = [n for _, n in log]

    def n_at(t):  # started by time t
        i = bisect.bisect_right(times, t)
        return counts[i - 1] if i else 0

    lo, hi, s = None, None, t0
    while s + span <= t1 + 1e-9:
        d = n_at(s + span) - n_at(s)
        lo, hi = (d if lo is None else min(lo, d)), (d if hi is None else max(hi, d))
        s += 0.005
    return lo, hi


def main():
    tcs = fixtures.setup("leaks_watch")
    report = fixtures.Report("leaks_watch")
    env = {"LEAKS_WATCH_MS": str(WATCH_MS), "LEAKS_WATCH_K": str(WATCH_K),
           "LEAKS_CHAIN": "10", "LEAKS_MANY": "10"}
    for tc in tcs:
        case = f"{tc.name}/plain"
        try:
            with fixtures.run_fixture(fixtures.exe_path(tc, "plain", "leaks"), timeout=60,
                                      env=env) as fx:
                t0 = time.monotonic()
                rc, out, err = fixtures.run_ifxray(
                    ["leaks", "--watch", f"{int(INTERVAL_S * 1000)}ms", "--samples", SAMPLES,
                     "--format", "json", "--fail-on", "never", fx.pid])
                t1 = time.monotonic()
                if not report.check(rc == 0, f"exit:{case}", f"  exit {rc}: {err[-400:]}"):
                    continue
                doc = json.loads(out)
                log = [tuple(map(int, line.split())) for line in
                       (fx.outdir / "watch.txt").read_text().splitlines() if line.strip()]
                log = [(t / 1e9, n) for t, n in log]
                growth = doc.get("growth", [])
                grow = [g for g in growth if g["group"].endswith("|main.watchGrow")]
                report.check(len(grow) == 1 and len(growth) == 1, f"growing-groups:{case}",
                             f"  {json.dumps(growth)[:800]}")
                const = [g for g in doc["leaks"] if g["frames"]
                         and g["frames"][0]["function"] == "main.watchConstant"]
                report.check(len(const) == 1 and len(const[0]["goroutines"]) == 5
                             and const[0]["verdict"] == "proven", f"constant-group:{case}",
                             f"  {json.dumps(const)[:400]}")
                if not grow:
                    continue
                g = grow[0]
                counts, ms = g["counts"], g["milliseconds"]
                report.check(len(counts) == SAMPLES and counts == sorted(counts),
                             f"counts:{case}", f"  {counts}")
                report.check((SAMPLES - 1) * INTERVAL_S * 1000 <= ms <= (t1 - t0) * 1000,
                             f"elapsed:{case}",
                             f"  {ms} ms between samples; window {(t1 - t0) * 1000:.0f} ms")
                lo, hi = started_in_spans(log, t0, t1, ms / 1000)
                grew = counts[-1] - counts[0]
                report.check(lo is not None and lo - WATCH_K <= grew <= hi + WATCH_K,
                             f"growth:{case}",
                             f"  ifxray: +{grew} in {ms} ms; fixture started {lo}..{hi} "
                             f"in any {ms} ms of the window")
                want_rate = grew * 60000 / ms if ms else 0
                report.check(abs(g["per_minute"] - want_rate) <= 1, f"per-minute:{case}",
                             f"  per_minute {g['per_minute']}, counts {counts} over {ms} ms")
                final = [x for x in doc["leaks"] if x["frames"]
                         and x["frames"][0]["function"] == "main.watchGrow"]
                report.check(sum(len(x["goroutines"]) for x in final) == counts[-1],
                             f"last-sample:{case}", f"  groups {len(final)}, counts {counts}")
        except (fixtures.FixtureError, OSError, ValueError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
