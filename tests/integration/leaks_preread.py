"""The heap's span metadata read before the stop (SpanPreread) against the stop's own read.

`ifxray leaks` reads every mspan while the process runs (it sizes the copy buffer from them),
and in the stop copies the mspan structs again and decodes only those whose bytes changed. The
oracle is the runtime's span metadata itself, read in full in the same stop: with
IFXRAY_TEST_PRECOPY_CHECK=1 the stop also reads every span and its allocation bits the old way
and reports "pre-read check: D of N spans differ from the stop's own read (R reused, C decoded
in the stop)"; IFXRAY_TEST_PRECOPY_DELAY_MS=300 holds ifxray between the pre-read and the stop.

The fixture changes its heap meanwhile: the leaks fixture with LEAKS_WATCH_MS/LEAKS_WATCH_K
starts K more leaking goroutines (each with its channel) every few milliseconds, so spans fill
(freeindex, allocCount change), new spans join allspans, and now and then a GC cycle sweeps.
Checks, per toolchain: every run reports the check with D == 0 and N > 0; over the runs both
paths were taken (some spans reused, some decoded in the stop), and the verdicts equal those of
a run with --no-preread on the same process at rest (LEAKS_WATCH off).
"""
import json
import os
import re

import fixtures

CHECK = re.compile(r"pre-read check: (\d+) of (\d+) spans differ from the stop's own read "
                   r"\((\d+) reused, (\d+) decoded in the stop\)")
RUNS = 3


def leaks(fx, extra=(), env=None):
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        rc, out, err = fixtures.run_ifxray(["leaks", "--stats", "--format", "json",
                                            "--fail-on", "never", *extra, fx.pid], timeout=120)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray leaks exited {rc}: {err[-500:]}")
    return json.loads(out), fixtures.stats(err)


def verdicts(doc):
    return sorted((leak["verdict"], tuple(sorted(leak["goroutines"]))) for leak in doc["leaks"])


def main():
    tcs = fixtures.setup("leaks_preread")
    report = fixtures.Report("leaks_preread")
    hook = {"IFXRAY_TEST_PRECOPY_CHECK": "1", "IFXRAY_TEST_PRECOPY_DELAY_MS": "300"}
    for tc in tcs:
        case = f"{tc.name}/plain"
        exe = fixtures.exe_path(tc, "plain", "leaks")
        try:
            env = {"LEAKS_WATCH_MS": "2", "LEAKS_WATCH_K": "20", "LEAKS_MANY": "500",
                   "LEAKS_HEAP_MB": "16"}
            reused = decoded = 0
            with fixtures.run_fixture(exe, timeout=60, env=env) as fx:
                for i in range(RUNS):
                    doc, st = leaks(fx, env=hook)
                    lines = [m for w in doc["warnings"] for m in [CHECK.search(w)] if m]
                    report.check(len(lines) == 1, f"check-line:{case}:{i}",
                                 f"  no pre-read check among {doc['warnings'][:5]}")
                    if not lines:
                        continue
                    differ, total, r, d = map(int, lines[0].groups())
                    report.check(differ == 0 and total > 0, f"same:{case}:{i}",
                                 f"  {lines[0].group(0)}")
                    report.check(st.get("spans_reused") == r and st.get("spans_decoded") == d,
                                 f"stats:{case}:{i}", f"  --stats {st} vs {lines[0].group(0)}")
                    reused += r
                    decoded += d
            report.check(reused > 0 and decoded > 0, f"both-paths:{case}",
                         f"  over {RUNS} runs: {reused} spans reused, {decoded} decoded in the "
                         "stop")
            with fixtures.run_fixture(exe, timeout=60,
                                      env={"LEAKS_MANY": "500", "LEAKS_HEAP_MB": "16"}) as fx:
                with_pre, st = leaks(fx)
                without, _ = leaks(fx, ["--no-preread"])
            report.check(st.get("spans_reused", 0) > 0, f"preread-used:{case}", f"  {st}")
            report.check(verdicts(with_pre) == verdicts(without), f"verdicts:{case}",
                         "  the verdicts differ with and without the pre-read")
        except (fixtures.FixtureError, OSError, ValueError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
