"""`ifxray leaks` on a busy HTTP server: no proven leak.

Oracle: the leaks fixture in its LEAKS_HTTP mode runs a net/http server whose handlers hand jobs
to a worker pool, under load from in-process clients (keep-alive connections, a slow endpoint
waiting on timers). By construction none of its goroutines is leaked: each serves, works, or
waits for the network, a timer, a job or a reply a live goroutine delivers. ifxray runs `leaks`
several times while the load goes on (the fixture's count of served requests must grow across
them): every run must prove nothing. On Go 1.26 (GOEXPERIMENT=goroutineleakprofile) and 1.27
the runtime's own leak profile, taken right after each run, must be empty of leaked goroutines
too; and so must ifxray's verdict on a gcore taken under load.
"""
import json
import os
import re
import select
import tempfile
import time

import fixtures

PROFILED = ("go1.26", "go1.27")
RUNS = 4


def served(fx):
    out = fixtures.ask(fx, "count", "COUNT")
    while not re.search(r"COUNT (\d+)\n", out):
        r, _, _ = select.select([fx.proc.stdout], [], [], 10)
        if not r:
            raise fixtures.FixtureError(f"no full COUNT line: {out!r}")
        out += os.read(fx.proc.stdout.fileno(), 4096).decode()
    return int(re.search(r"COUNT (\d+)\n", out).group(1))


def check_run(report, case, target):
    rc, out, err = fixtures.run_ifxray(["leaks", "--format", "json", target])
    if not report.check(rc == 0, f"exit:{case}", f"  exit {rc}: {err[-300:]}\n  {out[:600]}"):
        return
    doc = json.loads(out)
    proven = [g for g in doc["leaks"] if g["verdict"] == "proven"]
    report.check(not proven and doc["summary"]["proven"] == 0, f"no-proven:{case}",
                 f"  {json.dumps(proven)[:800]}")
    # 8 workers, 12 clients, the server: the busy process was really read, and the heap proof
    # really decided on blocked goroutines.
    s = doc["summary"]
    report.check(s["goroutines"] >= 21 and s["blocked"] >= 1 and
                 s["engine"].startswith("heap proof"), f"goroutines:{case}", f"  {s}")


def main():
    tcs = fixtures.setup("leaks_httpbusy")
    report = fixtures.Report("leaks_httpbusy")
    for tc in tcs:
        for variant in ("plain", "stripped"):
            case = f"{tc.name}/{variant}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, "leaks"), timeout=60,
                                          env={"LEAKS_HTTP": "1"}) as fx:
                    before = served(fx)
                    for i in range(RUNS):
                        check_run(report, f"live{i}:{case}", fx.pid)
                        if tc.name in PROFILED:
                            fixtures.ask(fx, "leakprofile", "DONE\n")
                            prof = (fx.outdir / "leak.txt").read_text()
                            report.check("goroutine" in prof and "(leaked)" not in prof,
                                         f"runtime-profile{i}:{case}", f"  {prof[:600]}")
                    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir(
                            "/dev/shm") else None) as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            check_run(report, f"core:{case}", core)
                    after = served(fx)
                    report.check(after > before + 100, f"under-load:{case}",
                                 f"  served {before} before the runs, {after} after")
            except (fixtures.FixtureError, OSError, ValueError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
