"""`ifxray info` on core dumps: kernel crash cores and gdb's gcore of the fixtures, and bad cores.

For every toolchain x variant:
  kernel  a crash core (GOTRACEBACK=crash, SIGQUIT) of every fixture; its threads are listed
          while the process is group-stopped, then SIGQUIT and SIGCONT are sent
  gdb     `gdb -batch -ex 'gcore FILE'` of the ticker fixture (gdb writes ~1.2 GB for a tiny Go
          program; --gdb-all makes one of every fixture); the threads are listed by gdb's `shell`
          while gdb holds them stopped
  ifxray  `ifxray gcore PID -o FILE` of the ticker fixture (untouched pages read as zeros); the
          threads are listed while it holds them stopped (test hook IFXRAY_TEST_STOP_DELAY_MS)
Oracles: "threads" equals the NT_PRSTATUS notes `readelf -n` lists and the tids listed in
/proc/PID/task (the runtime may start a thread between the listing and the dump: a kernel core
may hold threads started while the process crashed, with tids above every listed one; a kernel
or ifxray case failing only that comparison is run again, up to 3 times); "goroutines"
equals runtime.NumGoroutine() where the fixture recorded it (goroutines.txt); "pid" and
"exe_path" are the process's; no warning about the executable.

For the cgo fixture's kernel cores also `frames --native` against gdb's backtraces of the core
(every thread ifxray unwinds natively: gdb's functions at gdb's pcs; at least one over all of
them). For the zoo's kernel cores also `frames --format go` against the runtime.Stack(all) the
zoo wrote at READY, as frames_go compares it (every goroutine not running then, byte for byte).

Bad cores (one fixture): a file that is not a core (exit 3), a kernel core cut in half (exit 0,
a warning naming the missing ranges), a gdb core cut in half (its notes are at the end: exit 3,
"truncated"), another build given with --exe (exit 6; with --force exit 0 and a warning), an
--exe that does not exist (exit 3), and a core whose executable was deleted (exit 3 asking for
--exe; works with --exe).

Kernel cores need kernel.core_pattern pointed at our temp dir: the test sets it (root) and
restores it on every exit path; if it cannot, the test fails and says why. Cores are written to
/dev/shm when it has room, else to $TMPDIR, and deleted after use (at most two at a time).

Usage: core_files.py [--gdb-all] [--only SUBSTR]
Environment: IFXRAY, IFXRAY_FIXTURE_CACHE (see fixtures.py).
"""
import argparse
import contextlib
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures as F
import frames_go
import frames_native

CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")
GDB_FIXTURE = "ticker"
BAD_INPUT_CASE = ("go1.26", "plain", "ticker")
EXE_WARNINGS = ("not the executable", "could not check", "truncated")


# kernel.core_pattern is one setting for the whole machine: test runs side by side (two
# checkouts, a terminal beside CI) take this lock around it, as ctest's RESOURCE_LOCK does for
# the tests of one run.
CORE_PATTERN_LOCK = Path("/run/lock/ifxray-core-pattern.lock")
CORE_PATTERN_WAIT = 1200  # seconds: core_files holds it for a few minutes


@contextlib.contextmanager
def core_pattern_lock():
    CORE_PATTERN_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(CORE_PATTERN_LOCK, "a+") as f:
        deadline = time.monotonic() + CORE_PATTERN_WAIT
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise F.FixtureError(f"{CORE_PATTERN_LOCK} still held after "
                                         f"{CORE_PATTERN_WAIT} s: another test run makes kernel "
                                         "cores") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def core_pattern(directory):
    """Point kernel.core_pattern at directory/core.<pid>; restore the old value afterwards."""
    with core_pattern_lock():
        yield from _core_pattern(directory)


def _core_pattern(directory):
    try:
        old = CORE_PATTERN.read_text().rstrip("\n")
    except OSError as e:
        raise F.FixtureError(f"cannot read {CORE_PATTERN}: {e}") from e
    want = f"{directory}/core.%p"
    try:
        CORE_PATTERN.write_text(want + "\n")
    except OSError as e:
        raise F.FixtureError(f"cannot set {CORE_PATTERN} to {want!r} (kernel cores need it; "
                             f"run as root with a writable /proc/sys): {e}") from e
    try:
        if CORE_PATTERN.read_text().rstrip("\n") != want:
            raise F.FixtureError(f"{CORE_PATTERN} did not take {want!r}")
        yield
    finally:
        CORE_PATTERN.write_text(old + "\n")


def allow_cores():
    """Unlimited RLIMIT_CORE for this process and so for the fixtures it starts."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError) as e:
        raise F.FixtureError(f"cannot raise RLIMIT_CORE to unlimited: {e}") from e


def core_dir():
    """A temp dir for cores: /dev/shm when it has room for a gdb core, else $TMPDIR."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 4 << 30:
        return tempfile.mkdtemp(prefix="ifxray-cores-", dir=shm)
    return tempfile.mkdtemp(prefix="ifxray-cores-")


def tids(pid):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def thread_states(pid):
    """{tid: state letter} of every thread of pid."""
    states = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/task/{t}/stat").read_text()
            states[int(t)] = stat.rsplit(")", 1)[1].split()[0]
    return states


def wait_group_stopped(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = thread_states(pid)
        if states and all(s == "T" for s in states.values()):
            return
        time.sleep(0.01)
    raise F.FixtureError(f"pid {pid}: threads not all stopped after SIGSTOP within {timeout}s")


def recorded_goroutines(fx):
    p = fx.outdir / "goroutines.txt"
    return int(p.read_text().strip()) if p.is_file() else None


def wait_for_file(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not path.is_file():
        raise F.FixtureError(f"no core at {path} (core_pattern {CORE_PATTERN.read_text().strip()!r})")


def kernel_core(exe, cores):
    """Crash a fixture with SIGQUIT under GOTRACEBACK=crash; returns (core, live facts: pid,
    goroutines, stack.txt and facts.json when written, tids, stderr)."""
    with F.run_fixture(exe, env={"GOTRACEBACK": "crash"}) as fx:
        live = {"pid": fx.pid, "goroutines": recorded_goroutines(fx)}
        for name in ("stack.txt", "facts.json"):
            if (fx.outdir / name).is_file():
                live[name] = (fx.outdir / name).read_text()
        os.kill(fx.pid, signal.SIGSTOP)
        wait_group_stopped(fx.pid)
        live["tids"] = tids(fx.pid)
        # While it crashes the runtime may still start a thread (a P handed off from a thread
        # that sat in a system call through the stop): the dump holds it too.
        live["threads_may_grow"] = True
        os.kill(fx.pid, signal.SIGQUIT)  # pending until SIGCONT: no thread runs in between
        os.kill(fx.pid, signal.SIGCONT)
        try:
            fx.proc.wait(timeout=60)
        except subprocess.TimeoutExpired as e:
            raise F.FixtureError(f"{exe} did not die of SIGQUIT with GOTRACEBACK=crash") from e
        core = Path(cores) / f"core.{fx.pid}"
        wait_for_file(core)
        live["stderr"] = fx.stderr()  # the runtime's crash traceback
        # The kernel has finished writing once the process is reaped.
        return core, live


def gdb_core(exe, cores):
    """gdb's gcore of a running fixture; the tids are listed while gdb holds it stopped."""
    with F.run_fixture(exe) as fx:
        live = {"pid": fx.pid, "goroutines": recorded_goroutines(fx)}
        core = Path(cores) / f"gdb.{fx.pid}"
        listing = Path(cores) / f"tasks.{fx.pid}"
        F.run(["gdb", "-p", str(fx.pid), "-batch", "-nx",
               "-ex", f"shell ls /proc/{fx.pid}/task > {listing}", "-ex", f"gcore {core}"],
              timeout=300)
        if not core.is_file():
            raise F.FixtureError(f"gdb wrote no core at {core}")
        live["tids"] = sorted(int(t) for t in listing.read_text().split())
        listing.unlink()
        return core, live


def ifxray_core(exe, cores):
    """ifxray's own gcore of a running fixture. It holds the process stopped longer under the
    test hook IFXRAY_TEST_STOP_DELAY_MS, and the threads are listed while they all are in
    tracing stop; without that chance they are listed right after."""
    with F.run_fixture(exe) as fx:
        live = {"pid": fx.pid, "goroutines": recorded_goroutines(fx), "tids": None}
        core = Path(cores) / f"ifxray.{fx.pid}"
        cmd = [F.ifxray_path(), "gcore", str(fx.pid), "-o", str(core)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "IFXRAY_TEST_STOP_DELAY_MS": "300"})
        while p.poll() is None and live["tids"] is None:
            first = thread_states(fx.pid)
            if first and all(st == "t" for st in first.values()) and thread_states(fx.pid) == first:
                live["tids"] = sorted(first)
            time.sleep(0.002)
        _, err = p.communicate(timeout=120)
        if live["tids"] is None:
            live["tids"] = tids(fx.pid)
        if p.returncode != 0 or not core.is_file():
            raise F.FixtureError(f"{' '.join(cmd)} exited {p.returncode}: {err.strip()}")
        return core, live


MAKERS = {"kernel": kernel_core, "gdb": gdb_core, "ifxray": ifxray_core}
ATTEMPTS = {"kernel": 3, "gdb": 1, "ifxray": 3}


def prstatus_count(core):
    out = F.run(["readelf", "-n", "-W", str(core)]).stdout
    return sum(1 for line in out.splitlines() if "NT_PRSTATUS" in line)


def info(core, *args):
    """(exit code, JSON document or None, stderr) of `ifxray info --format json ARGS CORE`."""
    rc, out, err = F.run_ifxray(["info", "--format", "json", *args, core])
    doc = None
    if rc == 0:
        try:
            doc = json.loads(out)
        except ValueError:
            pass
    return rc, doc, err


def one_line(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("ifxray: ")


def same_threads(got_tids, live):
    """The core's threads are the listed ones; a kernel core may also hold threads the runtime
    started while it crashed, after the listing (tids count up: each is above every listed one)."""
    listed = live["tids"]
    extra = [t for t in got_tids if t not in listed]
    if not set(listed) <= set(got_tids):
        return False
    return not extra or (live.get("threads_may_grow", False) and min(extra) > max(listed))


def check_core(case, core, live, exe):
    """[(ok, case name, detail)] of the checks on one core."""
    notes = prstatus_count(core)
    rc, doc, err = info(core)
    cmd = f"  ifxray info --format json {core}\n"
    if rc != 0 or doc is None:
        return [(False, f"open: {case}", f"{cmd}  want exit 0 and JSON; got exit {rc}: "
                                         f"{err.strip()[:400]}")]
    got_tids = sorted(t.get("tid") for t in doc.get("threads", []))
    out = [(len(got_tids) == notes, f"threads = NT_PRSTATUS notes: {case}",
            f"{cmd}  readelf -n lists {notes} NT_PRSTATUS notes; ifxray {len(got_tids)} threads"),
           (same_threads(got_tids, live), f"threads = /proc/PID/task: {case}",
            f"{cmd}  /proc/{live['pid']}/task: {live['tids']}\n  ifxray: {got_tids}")]
    if live["goroutines"] is not None:
        out.append((doc.get("goroutines") == live["goroutines"], f"goroutines: {case}",
                    f"{cmd}  runtime.NumGoroutine() {live['goroutines']}, "
                    f"ifxray {doc.get('goroutines')}"))
    want = {"pid": live["pid"], "exe_path": str(exe)}
    have = {"pid": doc.get("pid"), "exe_path": doc.get("exe_path")}
    out.append((want == have, f"process: {case}", cmd + F.diff_fields(want, have, want)))
    bad = [w for w in doc.get("warnings", []) if any(s in w for s in EXE_WARNINGS)]
    out.append((not bad, f"warnings: {case}", f"{cmd}  unexpected warnings: {bad}"))
    return out


NATIVE_COMPARED = [0]  # threads compared by check_native over the whole run


def check_native(case, core, exe):
    """[(ok, case name, detail)]: `frames --native` on a kernel core of the cgo fixture against
    gdb's backtraces of the same core: every thread ifxray unwinds natively has gdb's functions
    at gdb's pcs."""
    rc, out, err = F.run_ifxray(["frames", "--native", "--format", "json", core])
    if rc != 0:
        return [(False, f"native: {case}", f"  ifxray frames --native exited {rc}: {err[:300]}")]
    ours = frames_native.native_of(json.loads(out))
    gdb = frames_native.gdb_threads([str(exe), str(core)])
    results = []
    for tid, (stack, _, _) in ours.items():
        got = frames_native.physical(stack)
        want = gdb.get(tid, [])
        same = len(want) >= len(got) > 0 and all(
            fn == wfn and (pc is None or wpc is None or pc == wpc)
            for (pc, fn), (wpc, wfn) in zip(got, want))
        results.append((same, f"native {tid}: {case}", f"  gdb:    {want}\n  ifxray: {got}"))
    # The crash's SIGQUIT may land on any thread, C's included (Go's handler then runs there), so
    # which threads are in C varies from core to core; main() checks that some were compared.
    NATIVE_COMPARED[0] += len(ours)
    return results


class Collect:
    """A Report-like sink for checks that report.check: [(ok, case name, detail)]."""

    def __init__(self):
        self.results = []

    def check(self, ok, case, detail=""):
        self.results.append((bool(ok), case, detail))
        return bool(ok)


def check_go(case, core, live):
    """[(ok, case name, detail)]: `frames --format go` of a kernel core of the zoo against the
    runtime.Stack(all) it wrote at READY."""
    rc, out, err = F.run_ifxray(["frames", "--format", "go", core])
    if rc != 0:
        return [(False, f"go: {case}", f"  ifxray frames --format go exited {rc}: {err[:300]}")]
    sink = Collect()
    frames_go.compare(sink, f"go: {case}", frames_go.parse(live["stack.txt"]),
                      frames_go.parse(out), json.loads(live["facts.json"])["busy_goid"])
    return sink.results


def run_case(rep, kind, case, exe, cores):
    """Make one core and check it. Threads listed from /proc can miss one the runtime starts
    before a kernel or ifxray core is taken: when only that comparison fails, the case is run
    again (ATTEMPTS)."""
    attempts = ATTEMPTS[kind]
    for attempt in range(1, attempts + 1):
        core, live = MAKERS[kind](exe, cores)
        try:
            results = check_core(case, core, live, exe)
            if kind == "kernel" and exe.name == "cgo":
                results += check_native(case, core, exe)
            if kind == "kernel" and exe.name == "zoo":
                results += check_go(case, core, live)
        finally:
            core.unlink()
        failed = [name for ok, name, _ in results if not ok]
        if attempt == attempts or failed != [f"threads = /proc/PID/task: {case}"]:
            break
        print(f"retry {case}: a thread started around the listing of /proc/PID/task", flush=True)
    for ok, name, detail in results:
        rep.check(ok, name, detail)


def check_bad_cores(rep, tcs, cores):
    tc = next(t for t in tcs if t.name == BAD_INPUT_CASE[0])
    other_tc = next(t for t in tcs if t.name != tc.name)
    exe = Path(os.path.realpath(F.exe_path(tc, *BAD_INPUT_CASE[1:])))
    other = Path(os.path.realpath(F.exe_path(other_tc, *BAD_INPUT_CASE[1:])))

    def expect(case, args, core, want_rc, *needles):
        rc, doc, err = info(core, *args)
        text = err + json.dumps(doc.get("warnings", []) if doc else [])
        ok = rc == want_rc and all(n in text for n in needles)
        if want_rc != 0:
            ok = ok and one_line(err)
        rep.check(ok, f"bad core: {case}",
                  f"  ifxray info --format json {' '.join(map(str, args))} {core}\n"
                  f"  want exit {want_rc}, {'one line' if want_rc else 'warnings'} with "
                  f"{needles}; got exit {rc}: {err.strip()[:400]!r} "
                  f"warnings {doc.get('warnings') if doc else None}")
        return doc

    text = Path(cores) / "not-a-core"
    text.write_text("this is not a core\n")
    expect("not a core", [], text, 3)
    text.unlink()

    core, _ = kernel_core(exe, cores)
    try:
        expect("wrong executable", ["--exe", other], core, 6, "build ID")
        expect("wrong executable --force", ["--exe", other, "--force"], core, 0, "--force")
        expect("--exe does not exist", ["--exe", Path(cores) / "nonexistent"], core, 3,
               "nonexistent")
        notes = prstatus_count(core)  # the kernel writes the notes first: the cut keeps them
        os.truncate(core, core.stat().st_size // 2)
        doc = expect("kernel core cut in half", [], core, 0, "truncated", "0x")
        if doc:
            rep.check(len(doc.get("threads", [])) == notes,
                      "bad core: kernel core cut in half keeps its threads",
                      f"  want the {notes} NT_PRSTATUS threads, got {len(doc.get('threads', []))}")
    finally:
        core.unlink()

    core, _ = gdb_core(exe, cores)
    try:
        os.truncate(core, core.stat().st_size // 2)
        expect("gdb core cut in half", [], core, 3, "truncated")
    finally:
        core.unlink()

    moved_dir = Path(tempfile.mkdtemp(prefix="ifxray-moved-"))  # /dev/shm may be noexec
    moved = moved_dir / exe.name
    shutil.copy2(exe, moved)
    try:
        core, _ = kernel_core(moved, cores)
    finally:
        shutil.rmtree(moved_dir)
    try:
        expect("executable deleted", [], core, 3, "--exe")
        expect("executable deleted, --exe given", ["--exe", exe], core, 0)
    finally:
        core.unlink()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gdb-all", action="store_true", help="a gdb core of every fixture")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    rep = F.Report("core_files")
    tcs = F.setup(rep.name)
    # ctest's timeout sends SIGTERM: unwind so that core_pattern is restored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t0 = time.monotonic()
    cores = core_dir()
    try:
        allow_cores()
        with core_pattern(cores):
            for fx in F.fixture_names():
                for tc in tcs:
                    for variant in F.VARIANTS:
                        exe = Path(os.path.realpath(F.exe_path(tc, variant, fx)))
                        kinds = ["kernel"]
                        if fx == GDB_FIXTURE:
                            kinds.append("ifxray")
                        if args.gdb_all or fx == GDB_FIXTURE:
                            kinds.append("gdb")
                        for kind in kinds:
                            case = f"{kind} {tc.name}/{variant}/{fx}"
                            if args.only not in case:
                                continue
                            try:
                                run_case(rep, kind, case, exe, cores)
                            except F.FixtureError as e:
                                rep.error(f"open: {case}", e)
            if "bad" in args.only or not args.only:
                try:
                    check_bad_cores(rep, tcs, cores)
                except F.FixtureError as e:
                    rep.error("bad core: setup", e)
    except F.FixtureError as e:
        rep.error("setup", e)
    finally:
        shutil.rmtree(cores, ignore_errors=True)
    if not args.only or "cgo" in args.only:
        rep.check(NATIVE_COMPARED[0] > 0, "native threads: kernel cores of cgo",
                  "  no thread of any kernel core of the cgo fixture was unwound natively")
    print(f"core_files: {time.monotonic() - t0:.0f}s", flush=True)
    rep.finish()


if __name__ == "__main__":
    main()
