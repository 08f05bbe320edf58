"""A live target must come out of ifxray running and unchanged, on every path.

The ticker fixture writes a counter every 10 ms and answers stdin lines with "ECHO <line> ok"
while a 1 MiB heap pattern is intact.

  runs     100 consecutive ifxray runs on one process (go1.26 plain; 10 more on go1.19 PIE),
           alternating `gcore` and `info --format json --stats`: each exits 0, and after each
           the process is in state S or R with no thread stopped and no tracer; at the end it
           still ticks and answers ok.
  signals  ifxray is held in the stop (IFXRAY_TEST_STOP_DELAY_MS) and sent SIGKILL, SIGINT,
           SIGTERM, SIGHUP or SIGPIPE once every thread of the target is stopped: ifxray dies of
           that signal and the target runs on (not stopped, not traced, ticks, answers ok).
  no-stop  `info --no-stop` never stops the process and says the result may be inconsistent.

Usage: live_resume.py [--runs N]
Environment: IFXRAY, IFXRAY_FIXTURE_CACHE (see fixtures.py).
"""
import argparse
import json
import signal
import time

import fixtures as F
import live as L

SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


def check_runs(rep, exe, runs, scratch, label):
    with F.run_fixture(exe) as fx:
        core = scratch / f"resume.{fx.pid}"
        pauses, t0, failures = [], time.monotonic(), 0
        for i in range(runs):
            args = (["gcore", "-o", core, fx.pid] if i % 2 == 0
                    else ["info", "--format", "json", "--stats", fx.pid])
            rc, out, err = F.run_ifxray(args, timeout=60)
            case = f"runs: {label} run {i + 1} ({args[0]})"
            ok = rep.check(rc == 0, case, f"  exit {rc}: {err.strip()[:500]}")
            if ok and args[0] == "info":
                ok = rep.check(json.loads(out).get("pid") == fx.pid, case + " json", out[:300])
            for line in err.splitlines():
                if "stopped for" in line:
                    pauses.append(float(line.rsplit("stopped for", 1)[1].split()[0]))
                elif "pause_ms=" in line:
                    pauses.append(float(line.split("pause_ms=")[1].split()[0]))
            problem = L.not_stopped_problem(fx.pid)
            ok = rep.check(problem is None, case + " target left running", f"  {problem}") and ok
            failures += not ok
            if failures > 5:
                break
        problem = L.health_problem(fx, "after-runs")
        rep.check(problem is None, f"runs: {label} target healthy after {runs} runs", f"  {problem}")
        core.unlink(missing_ok=True)
        if pauses:
            pauses.sort()
            print(f"  {label}: {runs} runs in {time.monotonic() - t0:.1f}s, pause ms "
                  f"median {pauses[len(pauses) // 2]:.1f}, max {pauses[-1]:.1f}", flush=True)


def check_signals(rep, exe, scratch):
    with F.run_fixture(exe) as fx:
        for cmd in (["gcore", "-o", scratch / f"sig.{fx.pid}", fx.pid],
                    ["info", "--format", "json", fx.pid]):
            for sig in SIGNALS:
                case = f"signals: {signal.Signals(sig).name} to ifxray {cmd[0]} mid-stop"
                problem, _ = L.signal_mid_stop(cmd, fx.pid, sig)
                if not rep.check(problem is None, case, f"  {problem}"):
                    continue
                problem = L.health_problem(fx, f"after-{signal.Signals(sig).name}")
                rep.check(problem is None, case + ": target runs on", f"  {problem}")


def check_no_stop(rep, exe):
    with F.run_fixture(exe) as fx:
        rc, out, err = F.run_ifxray(["info", "--format", "json", "--no-stop", fx.pid], timeout=60)
        if not rep.check(rc == 0, "no-stop: info --no-stop exits 0", f"  exit {rc}: {err}"):
            return
        text = out + err
        rep.check("read without stopping the process" in text, "no-stop: says it is racy",
                  f"  stdout+stderr: {text[-400:]}")
        problem = L.health_problem(fx, "after-no-stop")
        rep.check(problem is None, "no-stop: target healthy", f"  {problem}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    F.setup("live_resume")
    rep = F.Report("live_resume")
    scratch = L.scratch_dir()
    try:
        check_runs(rep, L.ticker_exe("go1.26", "plain"), args.runs, scratch, "go1.26/plain")
        check_runs(rep, L.ticker_exe("go1.19", "pie"), 10, scratch, "go1.19/pie")
        check_signals(rep, L.ticker_exe("go1.26", "plain"), scratch)
        check_no_stop(rep, L.ticker_exe("go1.27", "stripped"))
    except F.FixtureError as e:
        rep.error("setup", e)
    finally:
        for p in scratch.iterdir():
            p.unlink()
        scratch.rmdir()
    rep.finish()


if __name__ == "__main__":
    main()
