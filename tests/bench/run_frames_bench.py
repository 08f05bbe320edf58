"""Speed of `ifxray frames --format go` on many parked goroutines, against Delve (issue 4, Speed).

Builds (once, cached) tests/fixtures/manyg with go1.26, then for each N in 1k, 10k, 100k, 1M
starts ONE manyg process with N parked goroutines and, on that same process:
  ifxray frames --format go --stats PID > /dev/null    median wall of --runs runs, the median
                                                       pause_ms and bytes_read of its --stats
                                                       line, its peak RSS (wait4 rusage)
  dlv attach PID  + `goroutines -t`, `exit`, answer "n" (do not kill)   once, wall and peak RSS,
                                                       capped by --delve-timeout ("> T")
and prints a table with the ratio Delve / ifxray. It never fails on time; it fails when ifxray
fails or its answer is wrong: one extra (untimed) run writes the go-format text, which must hold
every goroutine of manyg (N + main) with the expected wait reasons, and, when the fixture could
dump runtime.Stack(all) (N <= 10,000), the very same goroutine blocks as the runtime's text
(goroutine 1 aside: it made the dump). Delve's "[K goroutines]" must cover N and the target must
survive it. 1M needs ~4 GiB for manyg and ~10 GiB for ifxray: it is skipped, with the reason,
when MemAvailable is short or the fixture cannot start; Delve runs up to --delve-max goroutines.

Full bench (Delve at 100k takes minutes):
    cmake --build build
    IFXRAY=build/ifxray python3 tests/bench/run_frames_bench.py
  options: --max 1000000 (largest N), --runs 5, --delve-timeout 1200, --delve-max 100000,
           --no-delve, --dlv PATH, --dir build/bench (or $IFXRAY_BENCH_DIR)
ctest runs `run_frames_bench.py --smoke` (N=1k, one run, no Delve) as bench_frames_smoke, only
to prove that the bench works: `ctest --test-dir build -L bench`.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import fixtures  # noqa: E402

FIXTURE = "manyg"
DELVE_VERSION = "1.27.2"
SIZES = [1000, 10000, 100000, 1000000]
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false", "GOWORK": "off",
          "GOPROXY": "off", "CGO_ENABLED": "0"}
# manyg's shapes and the wait reason go1.26 prints for each.
REASONS = {"recv": "chan receive", "select": "select", "mutex": "sync.Mutex.Lock", "sleep": "sleep"}
# Rough peak memory per goroutine (KiB) of manyg plus one ifxray run, measured at 1M with some
# margin; used only to skip a size the machine cannot hold.
KIB_PER_GOROUTINE = 16
STATS_RE = re.compile(r"ifxray: stats pause_ms=([\d.]+) total_ms=([\d.]+) bytes_read=(\d+) "
                      r"reads=(\d+)(?: pause_cpu_ms=([\d.]+))?")
HEADER_RE = re.compile(r"goroutine (\d+) \[([^\],]+)(?:, (\d+) minutes)?(?:, locked to thread)?\]:")


class BenchError(Exception):
    pass


def env(extra=None):
    e = dict(os.environ)
    e.pop("GOROOT", None)
    e.update(extra or {})
    return e


def go_version():
    p = subprocess.run(["go", "version"], capture_output=True, text=True, env=env(GO_ENV))
    m = re.match(r"go version (go1\.26\S*) ", p.stdout)
    if p.returncode != 0 or not m:
        raise BenchError(f"`go version` says {(p.stdout + p.stderr).strip()!r}; the bench builds "
                         "manyg with go1.26 (on PATH)")
    return m.group(1)


def build(root, version):
    """manyg built with go1.26, once per source/toolchain."""
    tag = hashlib.sha256((fixtures.source_hash(FIXTURE) + version).encode()).hexdigest()[:16]
    d = root / f"{FIXTURE}-{tag}"
    exe = d / FIXTURE
    if exe.is_file():
        return exe
    for old in root.glob(f"{FIXTURE}-*"):  # built from older sources
        shutil.rmtree(old, ignore_errors=True)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f"{FIXTURE}.tmp"
    p = subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=fixtures.FIXTURES_SRC / FIXTURE,
                       capture_output=True, text=True, env=env(GO_ENV), timeout=900)
    if p.returncode != 0:
        raise BenchError(f"go build manyg exited {p.returncode}:\n{p.stderr[-2000:]}")
    os.replace(tmp, exe)
    print(f"built {exe} with {version}", flush=True)
    return exe


def find_dlv(explicit):
    """Delve's path, checked to be v1.27.2; None with a reason when it is not there."""
    cands = [explicit] if explicit else [shutil.which("dlv")]
    if not explicit:
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True,
                                env=env(GO_ENV)).stdout.strip().split(":")[0]
        if gopath:
            cands.append(str(Path(gopath) / "bin" / "dlv"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            out = subprocess.run([c, "version"], capture_output=True, text=True).stdout
            if f"Version: {DELVE_VERSION}" not in out:
                return None, f"{c} is not Delve {DELVE_VERSION}: {out.strip()!r}"
            return str(Path(c).resolve()), ""
    return None, f"no dlv (v{DELVE_VERSION}) on PATH or in $(go env GOPATH)/bin; run scripts/setup"


def spawn(argv, stdin, stdout, stderr, timeout=None):
    """Run argv with fds 0/1/2 opened from the given paths; wait4 it. Returns (exit code or None
    on timeout, wall seconds, rusage of that child alone)."""
    acts = [(os.POSIX_SPAWN_OPEN, 0, str(stdin), os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(stdout), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, str(stderr), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env(), file_actions=acts)
    if timeout is None:
        _, status, ru = os.wait4(pid, 0)
        return os.waitstatus_to_exitcode(status), time.perf_counter() - t0, ru
    deadline = t0 + timeout
    while True:
        got, status, ru = os.wait4(pid, os.WNOHANG)
        if got:
            return os.waitstatus_to_exitcode(status), time.perf_counter() - t0, ru
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, ru = os.wait4(pid, 0)
            return None, time.perf_counter() - t0, ru
        time.sleep(0.005)


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def proc_state(pid):
    """The one-letter state of pid (R, S, T, t, Z, ...), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def blocks(path):
    """{goroutine id: its block of text} of a go-format traceback file."""
    out, cur, gid = {}, [], None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("goroutine "):
                m = HEADER_RE.match(line)
                gid = int(m.group(1)) if m else None
                cur = [re.sub(r", \d+ minutes", "", line)]
                if gid is not None:
                    out[gid] = cur
            elif line.strip():
                cur.append(line)
    return {g: "".join(b) for g, b in out.items()}


def check_output(path, facts, outdir):
    """Problems with ifxray's go-format text at path, for manyg's facts: goroutine count, wait
    reasons per shape, and (when the runtime dumped them) every block but goroutine 1."""
    n = facts["n"]
    states, seen = {}, 0
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("goroutine "):
                m = HEADER_RE.match(line)
                if not m:
                    return [f"a header go's format does not have: {line.strip()!r}"], seen, states
                seen += 1
                states[m.group(2)] = states.get(m.group(2), 0) + 1
    bad = []
    if not n + 1 <= seen <= n + 5:
        bad.append(f"{seen} goroutines in the go-format text, want {n} + main (+ a few)")
    for shape, reason in REASONS.items():
        want = facts["shapes"].get(shape, 0)
        if states.get(reason, 0) != want:
            bad.append(f"{states.get(reason, 0)} goroutines [{reason}], want {want}")
    stack = Path(outdir) / "stack.txt"
    if facts.get("stack_dumped") and stack.is_file():
        want, got = blocks(stack), blocks(path)
        want.pop(1, None)
        got.pop(1, None)
        diff = sorted(g for g in want.keys() | got.keys() if want.get(g) != got.get(g))
        if diff:
            g, none = diff[0], "(none)\n"
            bad.append(f"{len(diff)} of {len(want)} goroutines differ from runtime.Stack(all); "
                       f"goroutine {g}:\n--- runtime\n{want.get(g, none)}"
                       f"--- ifxray\n{got.get(g, none)}")
    return bad, seen, states


def measure_ifxray(ifx, pid, runs, facts, fixture_out, work):
    """One checked run to a file, then `runs` timed runs to /dev/null (at most 3 when the checked
    run took over 20 s)."""
    err = work / "ifxray.err"
    text = work / "ifxray.txt"
    argv = [ifx, "frames", "--format", "go", "--stats", str(pid)]
    rc, wall, ru = spawn(argv, "/dev/null", text, err)
    if rc != 0:
        raise BenchError(f"ifxray frames exited {rc}: {err.read_text()[-1500:]}")
    bad, seen, states = check_output(text, facts, fixture_out)
    text.unlink()
    if wall > 20:
        runs = min(runs, 3)
    rows = []
    for _ in range(runs):
        rc, wall, ru = spawn(argv, "/dev/null", "/dev/null", err)
        e = err.read_text()
        if rc != 0:
            raise BenchError(f"ifxray frames exited {rc}: {e[-1500:]}")
        m = STATS_RE.search(e)
        if not m:
            raise BenchError(f"no stats line on ifxray's stderr: {e[-500:]!r}")
        warns = [ln for ln in e.splitlines() if ln.startswith("ifxray: warning")]
        rows.append({"wall": wall, "pause_ms": float(m.group(1)), "bytes": int(m.group(3)),
                     "pause_cpu_ms": float(m.group(5) or "nan"), "load": os.getloadavg()[0],
                     "reads": int(m.group(4)), "rss_kib": ru.ru_maxrss,
                     "cpu": ru.ru_utime + ru.ru_stime, "warnings": warns})
    return {
        "wall": statistics.median(r["wall"] for r in rows),
        "wall_min": min(r["wall"] for r in rows),
        "pause_ms": statistics.median(r["pause_ms"] for r in rows),
        "pause_max": max(r["pause_ms"] for r in rows),
        "pause_min": min(r["pause_ms"] for r in rows),
        "pause_cpu_ms": statistics.median(r["pause_cpu_ms"] for r in rows),
        "load": statistics.median(r["load"] for r in rows),
        "bytes": rows[-1]["bytes"], "reads": rows[-1]["reads"],
        "rss_kib": max(r["rss_kib"] for r in rows),
        "cpu": statistics.median(r["cpu"] for r in rows),
        "warnings": rows[-1]["warnings"], "runs": len(rows),
        "seen": seen, "states": states, "bad": bad,
    }


def measure_delve(dlv, pid, n, timeout, work):
    """`dlv attach PID` with an init script `goroutines -t` + `exit`, "n" to its kill prompt."""
    init, answer = work / "dlv-init.txt", work / "dlv-answer.txt"
    init.write_text("goroutines -t\nexit\n")
    answer.write_text("n\n")
    out, err = work / "dlv.txt", work / "dlv.err"
    argv = [dlv, "attach", str(pid), "--allow-non-terminal-interactive=true", "--init", str(init)]
    rc, wall, ru = spawn(argv, answer, out, err, timeout)
    res = {"wall": wall, "rss_kib": ru.ru_maxrss, "timed_out": rc is None, "bad": []}
    st = proc_state(pid)
    if st in ("T", "t"):  # a killed Delve can leave the target stopped
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.2)
    if rc is None:
        res["bad_target"] = proc_state(pid) in (None, "Z", "X")
        return res
    tail = ""
    with open(out, "rb") as f:
        f.seek(max(0, out.stat().st_size - 4096))
        tail = f.read().decode(errors="replace")
    m = re.findall(r"\[(\d+) goroutines\]", tail)
    res["goroutines"] = int(m[-1]) if m else None
    if rc != 0:
        res["bad"].append(f"dlv exited {rc}: {err.read_text()[-800:]}{tail[-300:]}")
    elif not m or int(m[-1]) < n:
        res["bad"].append(f"dlv printed {m[-1] if m else 'no'} goroutines, want >= {n}")
    if proc_state(pid) in (None, "Z", "X", "T", "t"):
        res["bad"].append(f"the target is {proc_state(pid) or 'gone'} after Delve")
    out.unlink()
    return res


def fmt_n(n):
    return f"{n // 1000000}M" if n >= 1000000 and n % 1000000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


def fmt_s(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1000000, help="largest N (of 1k 10k 100k 1M)")
    ap.add_argument("--sizes", help="comma-separated N list instead of 1k,10k,100k,1M")
    ap.add_argument("--runs", type=int, default=5, help="timed ifxray runs per N (median)")
    ap.add_argument("--delve-timeout", type=float, default=1200)
    ap.add_argument("--delve-max", type=int, default=100000, help="largest N Delve is run on")
    ap.add_argument("--no-delve", action="store_true")
    ap.add_argument("--dlv", help="Delve binary (default: dlv on PATH, then $(go env GOPATH)/bin)")
    ap.add_argument("--smoke", action="store_true", help="N=1k, one run, no Delve")
    ap.add_argument("--dir", default=os.environ.get("IFXRAY_BENCH_DIR", str(REPO / "build" / "bench")))
    ap.add_argument("--ifxray", default=os.environ.get("IFXRAY", str(REPO / "build" / "ifxray")))
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else [n for n in SIZES if n <= a.max]
    if a.smoke:
        sizes, a.runs, a.no_delve = [1000], 1, True
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed, failed = passed + bool(ok), failed + (not ok)
        if not ok:
            print(f"FAIL {what}", flush=True)
        return ok

    results = []
    try:
        ifx = str(Path(a.ifxray).resolve())
        if not os.access(ifx, os.X_OK):
            raise BenchError(f"ifxray {ifx} is not an executable (set IFXRAY or --ifxray)")
        version = go_version()
        root = Path(a.dir).resolve()
        root.mkdir(parents=True, exist_ok=True)
        exe = build(root, version)
        dlv, why = (None, "--no-delve") if a.no_delve else find_dlv(a.dlv)
        if not a.no_delve and not check(dlv, f"Delve: {why}"):
            raise BenchError("Delve is required for the full bench (or pass --no-delve)")
        print(f"manyg {exe} ({version}); ifxray {ifx}; Delve {dlv or why}; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
        work = Path(tempfile.mkdtemp(prefix="frames-bench-", dir=root))
        try:
            for n in sizes:
                row = {"n": n}
                results.append(row)
                need = n * KIB_PER_GOROUTINE
                avail = mem_available_kib()
                if need > avail:
                    row["skip"] = (f"needs ~{need / 2**20:.1f} GiB, MemAvailable is "
                                   f"{avail / 2**20:.1f} GiB")
                    print(f"N={fmt_n(n)}: skipped: {row['skip']}", flush=True)
                    continue
                print(f"N={fmt_n(n)}: starting manyg", flush=True)
                t0 = time.monotonic()
                try:
                    ctx = fixtures.run_fixture(exe, timeout=60 + n / 10000,
                                               env={"MANYG_N": str(n), "GOTOOLCHAIN": "local"})
                    fx = ctx.__enter__()
                except (fixtures.FixtureError, OSError) as e:
                    row["skip"] = f"manyg did not start: {str(e)[:300]}"
                    print(f"N={fmt_n(n)}: skipped: {row['skip']}", flush=True)
                    if n == sizes[0]:
                        check(False, f"N={n}: {row['skip']}")
                    continue
                try:
                    facts = json.loads((fx.outdir / "manyg.json").read_text())
                    row["facts"] = facts
                    print(f"  ready in {time.monotonic() - t0:.1f}s (goroutines created in "
                          f"{facts['create_ms']} ms, parking confirmed: {facts['confirmed']}); "
                          f"ifxray x{a.runs}", flush=True)
                    r = measure_ifxray(ifx, fx.pid, a.runs, facts, fx.outdir, work)
                    row["ifx"] = r
                    for b in r["bad"]:
                        check(False, f"N={n}: ifxray: {b}")
                    check(not r["bad"], f"N={n}: ifxray's answer")
                    print(f"  ifxray ({r['runs']} runs): wall {fmt_s(r['wall'])} (min {fmt_s(r['wall_min'])}), "
                          f"pause {r['pause_ms']:.1f} ms (min {r['pause_min']:.1f}, max "
                          f"{r['pause_max']:.1f}; ifxray's CPU in it {r['pause_cpu_ms']:.1f} ms), "
                          f"{r['bytes'] / 1e6:.1f} MB in {r['reads']} reads, "
                          f"RSS {r['rss_kib'] / 1024:.0f} MiB, CPU {fmt_s(r['cpu'])}, "
                          f"load {r['load']:.1f}; "
                          f"{r['seen']} goroutines {r['states']}", flush=True)
                    for w in r["warnings"][:5]:
                        print(f"    {w}", flush=True)
                    if dlv and n <= a.delve_max:
                        print(f"  Delve (timeout {a.delve_timeout:.0f}s)", flush=True)
                        d = measure_delve(dlv, fx.pid, n, a.delve_timeout, work)
                        row["dlv"] = d
                        for b in d["bad"]:
                            check(False, f"N={n}: Delve: {b}")
                        check(not d.get("bad_target"), f"N={n}: target gone after Delve")
                        print(f"  Delve: {'> ' if d['timed_out'] else ''}{fmt_s(d['wall'])}, "
                              f"RSS {d['rss_kib'] / 1024:.0f} MiB, "
                              f"{d.get('goroutines')} goroutines", flush=True)
                    elif dlv:
                        row["dlv_skip"] = f"N > --delve-max {a.delve_max}"
                        last = next((x for x in reversed(results) if x.get("dlv")), None)
                        if last and not last["dlv"]["timed_out"]:
                            k = n / last["n"]
                            row["dlv_skip"] += (
                                f"; scaled linearly from {fmt_n(last['n'])} it would take "
                                f"~{fmt_s(last['dlv']['wall'] * k)} and "
                                f"~{last['dlv']['rss_kib'] * k / 2**20:.1f} GiB")
                    check(proc_state(fx.pid) not in (None, "Z", "X", "T", "t"),
                          f"N={n}: manyg is {proc_state(fx.pid)} at the end")
                finally:
                    ctx.__exit__(None, None, None)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except (BenchError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        check(False, f"bench: {e}")

    print(f"\nifxray frames --format go --stats PID > /dev/null: median of {a.runs} runs (3 when "
          f"one takes over 20 s), RSS the largest; Delve "
          f"{DELVE_VERSION} `dlv attach PID` + `goroutines -t`, one run"
          f"{' (smoke: no meaning)' if a.smoke else ''}")
    print("  pause: median wall time the target was stopped; pause CPU: ifxray's own CPU time in it "
          "(what the pause costs without other processes competing for the CPUs); load: the "
          "1-minute load average during the runs")
    print(f"  {'N':>5} {'ifx wall':>9} {'pause':>9} {'pause CPU':>9} {'read':>9} {'ifx RSS':>9} "
          f"{'ifx CPU':>9} {'load':>5} {'dlv wall':>10} {'dlv RSS':>9} {'dlv/ifx':>8}")
    for row in results:
        n = fmt_n(row["n"])
        if "ifx" not in row:
            print(f"  {n:>5} skipped: {row.get('skip', 'failed')}")
            continue
        r = row["ifx"]
        d = row.get("dlv")
        if d:
            dw = ("> " if d["timed_out"] else "") + fmt_s(d["wall"])
            ratio = ("> " if d["timed_out"] else "") + f"{d['wall'] / r['wall']:.1f}x"
            drss = f"{d['rss_kib'] / 1024:.0f} MiB"
        else:
            dw, ratio, drss = "-", "-", "-"
        print(f"  {n:>5} {fmt_s(r['wall']):>9} {r['pause_ms']:>6.1f} ms {r['pause_cpu_ms']:>6.1f} ms "
              f"{r['bytes'] / 1e6:>6.1f} MB {r['rss_kib'] / 1024:>5.0f} MiB {fmt_s(r['cpu']):>9} "
              f"{r['load']:>5.1f} {dw:>10} {drss:>9} {ratio:>8}")
    for row in results:
        if "dlv_skip" in row:
            print(f"  Delve not run at N={fmt_n(row['n'])}: {row['dlv_skip']}")
    target = next((r for r in results if r["n"] == 100000 and "ifx" in r), None)
    if target and not a.smoke:
        r, d = target["ifx"], target.get("dlv")
        print(f"  issue 4 targets at 100k (informational): pause {r['pause_ms']:.1f} ms "
              f"(ifxray's CPU in it {r['pause_cpu_ms']:.1f} ms) "
              f"(<= 100 ms: {'yes' if r['pause_ms'] <= 100 else 'NO'}); "
              + (f"Delve/ifxray {d['wall'] / r['wall']:.1f}x (>= 20x: "
                 f"{'yes' if d['wall'] / r['wall'] >= 20 else 'NO'})" if d else "Delve not run"))
    print(f"run_frames_bench: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
