"""`ifxray leaks` keeps stacks copied before the stop only where no other goroutine can have
written into them, checked against the stop's own copy.

The proof reads values from stacks, and a channel send writes the value straight into a parked
receiver's stack before it wakes it (chan.go send: sendDirect, then goready): between the two,
the receiver is still parked with the g.waitsince the stack pre-copy trusts (StackPrecopy). So
leaks keeps a parked goroutine's pre-copied stack only when each of its channel sudogs is still
queued on its channel (queued_undisturbed): a sender dequeues the sudog before it writes.

Oracle: the stack itself, copied again in the stop. IFXRAY_TEST_PRECOPY_CHECK=1 makes the stop
copy every stack the pre-copy vouched for once more and compare ("pre-copy check: D of N kept
stacks differ from the stop's copy"); IFXRAY_TEST_PRECOPY_DELAY_MS holds ifxray between the
pre-copy and the stop. The state is made certain: in that window gdb attaches to the leaks
fixture (LEAKS_RECV_N receivers parked on one channel), breaks in runtime.send right after
sendDirect wrote the value into a receiver's stack (condition: main.sending, set by the fixture's
"send" command just before it sends), stops the process with SIGSTOP and detaches; ifxray then
stops a process frozen in that state. Checks, per toolchain: gdb's breakpoint was hit; every
check line says 0 differ; some stacks were kept and some copied in the stop (precopy_kept
between 0 and precopy_stacks). The check can fail: with queued_undisturbed always true, each
toolchain reports "1 of N kept stacks differ" (the receiver the send wrote into; tried by hand).
"""
import json
import os
import re
import select
import signal
import subprocess
import time

import fixtures

CHECK = re.compile(r"pre-copy check: (\d+) of (\d+) kept stacks differ")
RECEIVERS = 50


def after_send_direct(exe):
    """The address right after runtime.send's call of runtime.sendDirect."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exe], capture_output=True,
                         text=True, check=True).stdout
    body = re.search(r"<runtime\.send>:\n(.*?)\n\n", dis, re.S)
    call = body and re.search(r"^\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <runtime\.sendDirect>",
                              body.group(1), re.M)
    if not call:
        raise fixtures.FixtureError(f"no call of runtime.sendDirect in runtime.send of {exe}")
    return int(call.group(1), 16) + 5


def wait_for_hook(proc, timeout=60):
    """ifxray's stderr up to its line "ifxray: test hook: N ms before the stop"."""
    buf, deadline = b"", time.monotonic() + timeout
    while b"ms before the stop\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise fixtures.FixtureError(f"ifxray did not reach its test hook: {buf[-500:]!r}")
        if select.select([proc.stderr], [], [], left)[0]:
            buf += os.read(proc.stderr.fileno(), 4096)
    return buf.decode()


def main():
    tcs = fixtures.setup("leaks_precopy")
    report = fixtures.Report("leaks_precopy")
    for tc in tcs:
        case = f"{tc.name}/plain"
        exe = str(fixtures.exe_path(tc, "plain", "leaks"))
        env = {"LEAKS_RECV_N": str(RECEIVERS), "LEAKS_MANY": "10", "LEAKS_CHAIN": "10"}
        try:
            bp, flag = after_send_direct(exe), fixtures.symbol(exe, "main.sending")
            with fixtures.run_fixture(exe, timeout=60, env=env) as fx:
                ifx = subprocess.Popen(
                    [fixtures.ifxray_path(), "leaks", "--stats", "--format", "json",
                     "--fail-on", "never", str(fx.pid)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=fixtures.base_env({"IFXRAY_TEST_PRECOPY_CHECK": "1",
                                           "IFXRAY_TEST_PRECOPY_DELAY_MS": "8000"}))
                head = wait_for_hook(ifx)  # the pre-copy is done; ifxray waits before its stop
                armed = os.path.join(fx.outdir, "armed")
                gdb = subprocess.Popen(
                    ["timeout", "60", "gdb", "-batch", "-nx", "-p", str(fx.pid),
                     "-ex", "set auto-load off", "-ex", "set language c",
                     "-ex", f"break *{bp:#x} if *(unsigned int*){flag:#x} == 1",
                     "-ex", f"shell touch {armed}", "-ex", "continue",
                     "-ex", f"shell kill -STOP {fx.pid}", "-ex", "detach"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                deadline = time.monotonic() + 30
                while not os.path.exists(armed) and time.monotonic() < deadline:
                    time.sleep(0.05)
                fx.proc.stdin.write(b"send\n")
                fx.proc.stdin.flush()
                gout, gerr = gdb.communicate(timeout=90)
                hit = "Breakpoint 1," in gout
                out, err = ifx.communicate(timeout=120)
                out, err = out.decode(), head + err.decode()
                os.kill(fx.pid, signal.SIGCONT)
            if not report.check(hit, f"gdb:{case}", f"  gdb said:\n{gout[-2000:]}\n{gerr[-800:]}"):
                continue
            if not report.check(ifx.returncode == 0, f"ifxray:{case}", f"  {err[-800:]}"):
                continue
            doc, st = json.loads(out), fixtures.stats(err)
            lines = [m for w in doc["warnings"] for m in [CHECK.search(w)] if m]
            report.check(lines and all(m.group(1) == "0" for m in lines), f"same:{case}",
                         f"  {[m.group(0) for m in lines]}")
            report.check(0 < st.get("precopy_kept", 0) < st.get("precopy_stacks", 0),
                         f"written-refused:{case}",
                         f"  precopy_kept={st.get('precopy_kept')} "
                         f"precopy_stacks={st.get('precopy_stacks')}")
        except (fixtures.FixtureError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
