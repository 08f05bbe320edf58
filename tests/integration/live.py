"""Helpers for tests on live processes: thread states, the ticker fixture's counter and echo,
ifxray runs that are signalled while they hold the process stopped. Standard library only."""
import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import fixtures as F

STOPPED = ("t", "T")  # tracing stop, job-control stop


def thread_states(pid):
    """{tid: state letter} of every thread of pid (threads that vanish meanwhile are skipped)."""
    states = {}
    with contextlib.suppress(OSError):
        for t in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, IndexError):
                text = Path(f"/proc/{pid}/task/{t}/stat").read_text()
                states[int(t)] = text.rsplit(")", 1)[1].split()[0]
    return states


def process_state(pid):
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()[0]


def tracer_pid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return 0


def wait_all_stopped(pid, timeout=10):
    """The tids of pid once every thread is in a ptrace stop; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = thread_states(pid)
        if st and all(s in STOPPED for s in st.values()):
            return sorted(st)
        time.sleep(0.005)
    return None


def not_stopped_problem(pid, grace=1.0):
    """None when pid runs freely (state S or R, no thread stopped, no tracer) within grace
    seconds; else what is wrong."""
    deadline = time.monotonic() + grace
    while True:
        try:
            st, tp, ps = thread_states(pid), tracer_pid(pid), process_state(pid)
        except OSError as e:
            return f"process {pid} is gone: {e}"
        stopped = {t: s for t, s in st.items() if s in STOPPED}
        if not stopped and tp == 0 and ps in ("S", "R"):
            return None
        if time.monotonic() >= deadline:
            return (f"process {pid}: state {ps}, tracer pid {tp}, stopped threads {stopped}")
        time.sleep(0.01)


def counter(fx):
    with contextlib.suppress(OSError, ValueError):
        return int((fx.outdir / "counter").read_text() or "-1")
    return -1


def ticking_problem(fx, ticks=3, timeout=5.0):
    """None when the ticker's counter advances by `ticks` within timeout; else what is wrong."""
    start = counter(fx)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if counter(fx) >= start + ticks:
            return None
        time.sleep(0.01)
    return f"counter went from {start} to {counter(fx)} in {timeout}s: the process does not tick"


def ping(fx, word, timeout=5.0):
    """Sends `word` to the ticker and returns its answer line ('' on timeout)."""
    fx.proc.stdin.write((word + "\n").encode())
    fx.proc.stdin.flush()
    buf = b""
    deadline = time.monotonic() + timeout
    fd = fx.proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return ""
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 1)
            if not chunk:
                return ""
            buf += chunk
    return buf.decode(errors="replace").strip()


def health_problem(fx, word="ping"):
    """None when the ticker ticks, answers `word` intact and is not stopped or traced."""
    return (not_stopped_problem(fx.pid) or ticking_problem(fx)
            or (None if ping(fx, word) == f"ECHO {word} ok"
                else f"no intact answer to {word!r} (memory changed or the process hangs)"))


def signal_mid_stop(args, pid, sig, delay_ms=20000):
    """Runs ifxray ARGS with the test hook holding pid stopped, sends sig once every thread
    of pid is stopped, and returns (problem or None, exit status of ifxray)."""
    env = {**os.environ, "IFXRAY_TEST_STOP_DELAY_MS": str(delay_ms)}
    p = subprocess.Popen([F.ifxray_path(), *map(str, args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    try:
        if wait_all_stopped(pid) is None:
            return f"ifxray never stopped every thread of {pid}: {thread_states(pid)}", None
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return f"ifxray still runs 10 s after {signal.Signals(sig).name}", None
        if p.returncode != -sig:
            return (f"ifxray exited {p.returncode}, not killed by {signal.Signals(sig).name}: "
                    f"{p.stderr.read().decode(errors='replace').strip()}", p.returncode)
        return None, p.returncode
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()


def ticker_exe(toolchain="go1.26", variant="plain"):
    F.build_all()
    for tc in F.toolchains():
        if tc.name == toolchain:
            return F.exe_path(tc, variant, "ticker")
    raise F.FixtureError(f"no toolchain {toolchain}")


def scratch_dir(room=4 << 30):
    """A temp dir for cores: /dev/shm when it has `room` bytes free (gdb's cores are ~1.2 GB),
    else $TMPDIR."""
    shm = Path("/dev/shm")
    ok = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > room
    return Path(tempfile.mkdtemp(prefix="ifxray-live-", dir=shm if ok else None))
