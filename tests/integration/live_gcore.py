"""`ifxray gcore PID`: the cores open in gdb, Delve and ifxray, and are far smaller than gdb's.

For the ticker fixture of every toolchain x variant, `ifxray gcore` runs with the test hook
holding the process stopped (IFXRAY_TEST_STOP_DELAY_MS) while /proc/PID/task is listed, so the
list is exactly the threads the core should hold. Oracles:
  readelf   one NT_PRSTATUS note per listed thread; NT_FILE, NT_AUXV and the IFXRAY note present
  gdb       `gdb -batch -ex 'info threads' -ex bt EXE CORE` lists those threads (LWP ids) and a
            backtrace
  dlv       `dlv core EXE CORE` runs `threads` (the listed tids) and, but for stripped builds
            where Delve cannot find goroutines, `goroutines`: no error, at least
            runtime.NumGoroutine() of them (Delve also lists system goroutines)
  ifxray    `info --format json CORE` agrees with `info --format json PID` on "goroutines",
            and the core's threads are the listed tids
  size      once (go1.26 plain): gdb's own gcore of the same process, sizes and times printed;
            ifxray's core must be at least 10 times smaller
  non-Go    `sleep`: gcore works for any process (gdb sees its one thread); `info PID` says it is
            not a Go program (exit 3)
After every run the target must be running (not stopped, not traced).

Usage: live_gcore.py [--only SUBSTR]
Environment: IFXRAY, IFXRAY_FIXTURE_CACHE (see fixtures.py); DLV (default: dlv on PATH, in
$(go env GOBIN) or $(go env GOPATH)/bin; scripts/setup installs it).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import fixtures as F
import live as L

HOLD_MS = 400
MIN_RATIO = 10


def find_dlv():
    cands = [os.environ.get("DLV"), shutil.which("dlv")]
    gobin = F.run(["go", "env", "GOBIN"], check=False).stdout.strip()
    gopath = F.run(["go", "env", "GOPATH"], check=False).stdout.strip()
    cands += [str(Path(gobin) / "dlv")] if gobin else []
    cands += [str(Path(g) / "bin" / "dlv") for g in gopath.split(":") if g]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    raise F.FixtureError("dlv not found (set DLV or run scripts/setup, which installs Delve)")


def gcore_held(pid, core):
    """ifxray gcore with the process held stopped; returns (exit, stderr, tids while stopped)."""
    env = {**os.environ, "IFXRAY_TEST_STOP_DELAY_MS": str(HOLD_MS)}
    p = subprocess.Popen([F.ifxray_path(), "gcore", "-o", str(core), str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    tids = L.wait_all_stopped(pid, timeout=30)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    return p.returncode, err, tids


def readelf_notes(core):
    out = F.run(["readelf", "-nW", str(core)]).stdout
    return {"prstatus": len(re.findall(r"NT_PRSTATUS", out)), "file": "NT_FILE" in out,
            "auxv": "NT_AUXV" in out, "ifxray": re.search(r"^\s+IFXRAY\s", out, re.M) is not None}


def gdb_threads(exe, core):
    p = F.run(["gdb", "-batch", "-nx", "-ex", "info threads", "-ex", "bt", str(exe), str(core)],
              timeout=120, check=False)
    lwps = sorted(int(m) for m in re.findall(r"^\*?\s+\d+\s+(?:LWP|Thread \S+ \(LWP) (\d+)",
                                              p.stdout, re.M))
    return lwps, "#0 " in p.stdout, p.stdout + p.stderr


def dlv_session(dlv, exe, core, scratch, commands):
    """Runs Delve's commands on the core; returns (goroutine count or None, thread ids, text)."""
    init = scratch / "dlv-init"
    init.write_text("\n".join(commands + ["exit"]) + "\n")
    p = F.run([dlv, "core", str(exe), str(core), "--init", str(init),
               "--allow-non-terminal-interactive", "--check-go-version=false"],
              timeout=120, check=False, stdin=subprocess.DEVNULL)
    m = re.search(r"^\[(\d+) goroutines\]", p.stdout, re.M)
    threads = sorted(int(t) for t in re.findall(r"^[ *]\s*Thread (\d+) at ", p.stdout, re.M))
    return (int(m.group(1)) if m else None), threads, p.stdout + p.stderr


def info_json(target, *extra):
    rc, out, err = F.run_ifxray(["info", "--format", "json", *extra, target], timeout=120)
    if rc != 0:
        raise F.FixtureError(f"ifxray info {target} exited {rc}: {err.strip()}")
    return json.loads(out)


def check_one(rep, dlv, tc, variant, exe, scratch):
    label = f"{tc.name}/{variant}"
    with F.run_fixture(exe) as fx:
        recorded = int((fx.outdir / "goroutines.txt").read_text())
        core = scratch / f"core.{fx.pid}"
        rc, err, tids = gcore_held(fx.pid, core)
        rep.check(L.not_stopped_problem(fx.pid) is None, f"resume: {label}",
                  f"  {L.not_stopped_problem(fx.pid)}")
        if not rep.check(rc == 0 and tids, f"gcore: {label}", f"  exit {rc}, tids {tids}: {err}"):
            return
        notes = readelf_notes(core)
        rep.check(notes == {"prstatus": len(tids), "file": True, "auxv": True, "ifxray": True},
                  f"readelf: {label}", f"  notes {notes}, {len(tids)} threads listed")
        lwps, has_bt, text = gdb_threads(exe, core)
        rep.check(lwps == tids and has_bt, f"gdb: {label}",
                  f"  gdb threads {lwps}, listed {tids}, backtrace {has_bt}\n{text[-1500:]}")
        # Delve finds no goroutines without a symbol table: in stripped builds it lists threads.
        stripped = variant == "stripped"
        n, dthreads, text = dlv_session(dlv, exe, core, scratch,
                                        ["threads"] if stripped else ["threads", "goroutines"])
        bad = [ln for ln in text.splitlines() if re.search(r"(?i)\berror\b|could not", ln)]
        rep.check(dthreads == tids and not bad and (stripped or (n or 0) >= recorded),
                  f"dlv: {label}", f"  threads {dthreads} (listed {tids}), {n} goroutines "
                  f"(fixture counts {recorded}); errors {bad}\n{text[-1500:]}")
        live = info_json(fx.pid)
        from_core = info_json(core, "--exe", exe)
        got = {"goroutines": from_core.get("goroutines"),
               "tids": sorted(t["tid"] for t in from_core.get("threads", []))}
        want = {"goroutines": live.get("goroutines"), "tids": tids}
        rep.check(got == want, f"info: {label}", f"  core {got}, live {want}")
        if live.get("goroutines") is None:
            print(f"  note: {label}: info PID gives no goroutine count", flush=True)
        print(f"  {label}: core {core.stat().st_size / 2**20:.1f} MiB, {len(tids)} threads; "
              f"{err.strip().splitlines()[-1] if err.strip() else ''}", flush=True)
        core.unlink()


def timed(cmd, timeout=600):
    t0 = time.monotonic()
    p = F.run(cmd, timeout=timeout, check=False)
    return p, time.monotonic() - t0


def check_size(rep, exe, scratch):
    with F.run_fixture(exe) as fx:
        mine, gdbs = scratch / f"ifxray.{fx.pid}", scratch / f"gdb.{fx.pid}"
        p, t_mine = timed([F.ifxray_path(), "gcore", "-o", str(mine), str(fx.pid)])
        if not rep.check(p.returncode == 0, "size: ifxray gcore", p.stderr):
            return
        pause = p.stderr.strip().splitlines()[-1]
        q, t_gdb = timed(["gdb", "-p", str(fx.pid), "-batch", "-nx", "-ex", f"gcore {gdbs}"])
        if not rep.check(q.returncode == 0 and gdbs.is_file(), "size: gdb gcore",
                         q.stderr[-1000:]):
            return
        a, b = mine.stat().st_size, gdbs.stat().st_size
        print(f"  size: ifxray {a / 2**20:.1f} MiB in {t_mine:.2f}s ({pause}); gdb "
              f"{b / 2**20:.1f} MiB in {t_gdb:.2f}s; ratio {b / a:.0f}x", flush=True)
        rep.check(b >= MIN_RATIO * a, "size: ifxray's core is far smaller than gdb's",
                  f"  ifxray {a} bytes, gdb {b} bytes")
        gdbs.unlink()
        # gdb read all of the memory, mapping the zero page everywhere: still small after that.
        p, _ = timed([F.ifxray_path(), "gcore", "-o", str(mine), str(fx.pid)])
        c = mine.stat().st_size if p.returncode == 0 else 0
        rep.check(0 < c <= 2 * a + (4 << 20), "size: still small after gdb read everything",
                  f"  before {a} bytes, after {c} bytes: {p.stderr}")
        mine.unlink(missing_ok=True)
        problem = L.health_problem(fx, "after-gcores")
        rep.check(problem is None, "size: target healthy", f"  {problem}")


def check_not_go(rep, scratch):
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        time.sleep(0.1)
        core = scratch / f"sleep.{sleeper.pid}"
        rc, _, err = F.run_ifxray(["gcore", "-o", core, sleeper.pid])
        if rep.check(rc == 0, "not-go: gcore of sleep", f"  exit {rc}: {err}"):
            lwps, has_bt, text = gdb_threads(shutil.which("sleep"), core)
            rep.check(lwps == [sleeper.pid] and has_bt, "not-go: gdb opens the core",
                      f"  threads {lwps}\n{text[-800:]}")
            core.unlink()
        rc, _, err = F.run_ifxray(["info", sleeper.pid])
        rep.check(rc == 3 and len(err.strip().splitlines()) == 1 and "Go" in err,
                  "not-go: info says it is not a Go program", f"  exit {rc}: {err}")
        rep.check(L.not_stopped_problem(sleeper.pid) is None, "not-go: sleep runs on",
                  f"  {L.not_stopped_problem(sleeper.pid)}")
    finally:
        sleeper.kill()
        sleeper.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    tcs = F.setup("live_gcore")
    rep = F.Report("live_gcore")
    scratch = L.scratch_dir()
    try:
        dlv = find_dlv()
        for tc in tcs:
            for variant in F.VARIANTS:
                if args.only in f"{tc.name}/{variant}":
                    exe = F.exe_path(tc, variant, "ticker")
                    try:
                        check_one(rep, dlv, tc, variant, exe, scratch)
                    except F.FixtureError as e:
                        rep.error(f"run: {tc.name}/{variant}", e)
        if not args.only:
            check_size(rep, L.ticker_exe("go1.26", "plain"), scratch)
            check_not_go(rep, scratch)
    except F.FixtureError as e:
        rep.error("setup", e)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rep.finish()


if __name__ == "__main__":
    main()
