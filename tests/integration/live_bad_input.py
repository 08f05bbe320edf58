"""Live targets that cannot be read: one clear line on stderr, a distinct exit status, and the
process (when there is one) left running. For both `gcore` and `info`:

  no such pid                 exit 3, "no process"
  a thread id, not a pid      exit 3, names the process it belongs to
  a zombie                    exit 3, "zombie"
  already traced              exit 5, names the tracer's pid and command (a python3 holder that
                              PTRACE_SEIZEs the ticker through ctypes)
  not permitted               exit 4, says what is missing (ifxray run as uid 65534 on a process
                              of root; needs root to set up, as the tests run)
  usage                       exit 2 for a gcore pid that is not a number
  unwritable output (gcore)   exit 3, "cannot create"; the process runs on

Environment: IFXRAY, IFXRAY_FIXTURE_CACHE (see fixtures.py).
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures as F
import live as L

COMMANDS = (["gcore", "-o", "/dev/null"], ["info", "--format", "json"])

HOLDER = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_SEIZE = 0x4206
if libc.ptrace(PTRACE_SEIZE, int(sys.argv[1]), None, None) != 0:
    print("FAILED", ctypes.get_errno(), flush=True)
    sys.exit(1)
print("HELD", flush=True)
sys.stdin.read()  # hold until the test closes stdin; exiting detaches
"""


def one_line(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("ifxray: ") and "internal error" not in err


def expect(rep, case, args, want_rc, needles, user=None):
    rc, out, err = run_as(args, user) if user is not None else F.run_ifxray(args, timeout=60)
    missing = [n for n in needles if n not in err]
    return rep.check(rc == want_rc and one_line(err) and not missing, case,
                     f"  ifxray {' '.join(map(str, args))}: exit {rc} (want {want_rc}), "
                     f"missing {missing}\n  stderr: {err.strip()[:600]}")


def run_as(args, uid):
    """Runs a copy of ifxray (readable by anyone) as uid/gid `uid`."""
    d = Path(tempfile.mkdtemp(prefix="ifxray-uid-"))
    try:
        os.chmod(d, 0o755)
        exe = d / "ifxray"
        shutil.copy(F.ifxray_path(), exe)
        os.chmod(exe, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

        def drop():
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

        p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                           timeout=60, preexec_fn=drop, cwd="/")
        return p.returncode, p.stdout, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def unused_pid():
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise F.FixtureError("no unused pid")


def check_target_runs(rep, fx, case):
    problem = L.health_problem(fx, case.split(":")[0].replace(" ", "-"))
    rep.check(problem is None, f"{case}: target runs on", f"  {problem}")


def main():
    F.setup("live_bad_input")
    rep = F.Report("live_bad_input")
    try:
        run_cases(rep)
    except F.FixtureError as e:
        rep.error("setup", e)
    rep.finish()


def run_cases(rep):
    gone = unused_pid()
    with F.run_fixture(L.ticker_exe("go1.26", "plain")) as fx:
        threads = [t for t in L.thread_states(fx.pid) if t != fx.pid]
        for cmd in COMMANDS:
            name = cmd[0]
            expect(rep, f"no such pid: {name}", cmd + [gone], 3, ["no process", str(gone)])
            expect(rep, f"thread id: {name}", cmd + [threads[0]], 3, [str(fx.pid)])
        expect(rep, "usage: gcore", ["gcore", "12abc"], 2, ["12abc"])
        check_zombie(rep)
        check_traced(rep, fx)
        check_not_permitted(rep, fx)
        expect(rep, "unwritable output: gcore", ["gcore", "-o", "/nonexistent-dir/core", fx.pid],
               3, ["cannot create", "/nonexistent-dir/core"])
        check_target_runs(rep, fx, "unwritable output")


def check_zombie(rep):
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 5
        while L.process_state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        for cmd in COMMANDS:
            expect(rep, f"zombie: {cmd[0]}", cmd + [child.pid], 3, ["zombie", str(child.pid)])
    finally:
        child.wait()


def check_traced(rep, fx):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(fx.pid)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline().strip()
        if not rep.check(line == "HELD", "traced: holder seized the ticker", f"  holder: {line}"):
            return
        comm = Path(f"/proc/{holder.pid}/comm").read_text().strip()
        for cmd in COMMANDS:
            expect(rep, f"traced: {cmd[0]}", cmd + [fx.pid], 5,
                   ["already traced", f"pid {holder.pid}", comm])
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    check_target_runs(rep, fx, "traced")


def check_not_permitted(rep, fx):
    if os.geteuid() != 0:
        # Without root, pid 1 (root's init) is the process we may not trace.
        for cmd in COMMANDS:
            expect(rep, f"not permitted: {cmd[0]}", cmd + [1], 4, ["not permitted"])
        return
    for cmd in COMMANDS:
        expect(rep, f"not permitted: {cmd[0]}", cmd + [fx.pid], 4,
               ["not permitted", "CAP_SYS_PTRACE", "uid 0", "uid 65534"], user=65534)
    check_target_runs(rep, fx, "not permitted")


if __name__ == "__main__":
    main()
