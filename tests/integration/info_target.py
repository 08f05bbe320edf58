"""`ifxray info PID` and `ifxray info CORE` against what the runtime itself reports.

Oracles: the zoo fixture writes, at READY, runtime.NumGoroutine(), runtime.GOMAXPROCS(0),
runtime.NumCPU(), MemStats.NumGC (GC is off afterwards) and the thread id and goroutine id of a
goroutine locked to its thread and blocked in a system call; /proc/PID/task lists the threads.
For every toolchain x variant: the live process, and ifxray's own gcore of it, must give exactly
those figures, and the same threads (by tid) with the same goroutines on them.
"""
import json
import os
import tempfile

import fixtures


def info(target, extra=()):
    rc, out, err = fixtures.run_ifxray(["info", "--format", "json", *extra, target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray info {target} exited {rc}: {err.strip()}")
    return json.loads(out), err


def tids(pid):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def compare(report, case, doc, facts, want_tids):
    want = {"goroutines": facts["num_goroutine"], "gomaxprocs": facts["gomaxprocs"],
            "ncpu": facts["num_cpu"], "num_gc": facts["num_gc"],
            "go_version": facts["go_version"]}
    got = {"goroutines": doc.get("goroutines"), "gomaxprocs": doc.get("gomaxprocs"),
           "ncpu": doc.get("ncpu"), "num_gc": doc.get("heap", {}).get("num_gc"),
           "go_version": doc.get("go_version")}
    report.check(want == got, f"figures:{case}", fixtures.diff_fields(want, got, want))
    got_tids = sorted(t["tid"] for t in doc.get("threads", []))
    report.check(got_tids == want_tids, f"threads:{case}",
                 f"  /proc/PID/task {want_tids}\n  ifxray          {got_tids}")
    on_thread = {t["tid"]: t.get("goroutine") for t in doc.get("threads", [])}
    report.check(on_thread.get(facts["syscall_tid"]) == facts["syscall_goid"],
                 f"syscall-goroutine:{case}",
                 f"  thread {facts['syscall_tid']}: want goroutine {facts['syscall_goid']}, "
                 f"got {on_thread.get(facts['syscall_tid'])}")
    report.check(all(t.get("function") or t.get("location") for t in doc.get("threads", [])),
                 f"thread-pcs:{case}", "  a thread's pc resolved to nothing")


def main():
    tcs = fixtures.setup("info_target")
    report = fixtures.Report("info_target")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            exe = fixtures.exe_path(tc, variant, "zoo")
            try:
                with fixtures.run_fixture(exe) as fx:
                    facts = json.loads((fx.outdir / "facts.json").read_text())
                    # The runtime may start a thread (a new M) at any moment; a run during
                    # which the thread set changed proves nothing either way, so it is retried.
                    for _attempt in range(3):
                        before = tids(fx.pid)
                        live, err = info(fx.pid, ["--stats"])
                        after = tids(fx.pid)
                        if before == after:
                            break
                    report.check(before == after, f"stable-threads:{case}",
                                 f"  threads changed during each of 3 runs: {before} -> {after}")
                    compare(report, f"live:{case}", live, facts, after)
                    report.check("stats pause_ms=" in err, f"stats:{case}", f"  stderr: {err!r}")
                    with tempfile.TemporaryDirectory() as tmp:
                        core = os.path.join(tmp, "core")
                        for _attempt in range(3):  # as above: the core's threads, stable
                            before = tids(fx.pid)
                            rc, _, gerr = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                            after = tids(fx.pid)
                            if rc != 0 or before == after:
                                break
                        if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {gerr}"):
                            continue
                        doc, _ = info(core)
                        compare(report, f"core:{case}", doc, facts, after)
                        report.check(doc.get("target") == "core" and live.get("target") == "live",
                                     f"kind:{case}", "  target kinds wrong")
            except (fixtures.FixtureError, ValueError, OSError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
