"""`ifxray pitfalls` keeps its value walk out of the pause of a live target.

The target is stopped while goroutines, stacks and the heap are copied; the walk over values
(globals, every frame's variables, what they reach) must run after it is resumed. The manyg
fixture (go1.26, plain) with 30,000 parked goroutines gives a walk over 30,000 goroutines' frames.
Checked with ifxray's --stats, whose pause is measured by the target layer (first thread stopped
to last thread resumed) and whose walk time is measured around the walk alone:
- the heap copy is inside the pause (heap_copy_ms <= pause_ms);
- the walk is outside it: pause_ms + walk_ms <= total_ms (disjoint intervals of one run);
- the pause is no longer than that of `frames` (the goroutine copy) plus the heap copy, with a
  margin for a loaded machine, and walk_ms is beyond that margin, so a walk inside the stop
  would fail this check;
- the walk examined every goroutine's frames (frames_scanned at least the goroutine count) and
  did not run out of --max-values.
"""
import json
import re

import fixtures

N = 30000


def main():
    tcs = fixtures.setup("pitfalls_pause")
    report = fixtures.Report("pitfalls_pause")
    tc = next(t for t in tcs if t.name == "go1.26")
    exe = fixtures.exe_path(tc, "plain", "manyg")
    try:
        with fixtures.run_fixture(exe, timeout=120, env={"MANYG_N": str(N)}) as fx:
            rc, out, err = fixtures.run_ifxray(["frames", "--stats", "--format", "json", fx.pid])
            frames = fixtures.stats(err)
            rc, out, err = fixtures.run_ifxray(["pitfalls", "--stats", "--format", "json", fx.pid])
            p = fixtures.stats(err)
            doc = json.loads(out)
            need = ("pause_ms", "total_ms", "heap_copy_ms", "walk_ms")
            if not report.check(rc in (0, 1) and all(k in p for k in need) and
                                "pause_ms" in frames, "stats", f"  exit {rc}: {err[-2000:]}"):
                report.finish()
                return
            detail = f"  pitfalls {p}, frames {frames}"
            report.check(p["heap_copy_ms"] <= p["pause_ms"] + 0.5, "copy-in-pause", detail)
            report.check(p["pause_ms"] + p["walk_ms"] <= p["total_ms"] + 0.5, "walk-after-pause",
                         detail)
            margin = 50 + 0.5 * (frames["pause_ms"] + p["heap_copy_ms"])
            report.check(p["pause_ms"] <= frames["pause_ms"] + p["heap_copy_ms"] + margin,
                         "pause-bounded", detail)
            report.check(p["walk_ms"] > margin, "walk-measurable", detail)
            report.check(doc["frames_scanned"] >= N and not any(
                "--max-values" in w for w in doc["warnings"]), "walked",
                f"  frames_scanned {doc['frames_scanned']}, warnings {doc['warnings'][:5]}")
    except (fixtures.FixtureError, ValueError, KeyError) as e:
        report.error("run", e)
    report.finish()


main()
