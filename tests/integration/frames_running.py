"""`ifxray frames` on goroutines that never park, caught wherever the stop finds them, against
the runtime's own CPU profile of the same process (the spin fixture).

The runtime's SIGPROF handler unwinds a running goroutine from wherever its thread is: in a vDSO
call from m.vdsoPC/SP, on the system stack up to systemstack and across to the goroutine's stack
(morestack: from g.sched). ifxray must do the same from the registers of its stop. For each
toolchain and variant (plain, stripped, PIE), with the fixture's spinners (time.Now in a loop,
256 KiB allocations in a loop) sampled SAMPLES times:
- complete: every sample of a spinner that ifxray finds running has a whole stack (down to
  runtime.goexit) or says why not; no stack is ever cut short without a reason, and at most one
  sample in a case has a reason other than the known one (the SIGPROF handler in its own vDSO
  call after interrupting the goroutine in one: the handler's call took over m.vdsoPC/SP, the
  runtime's only record of the goroutine's place). Before ifxray followed m.vdsoPC/SP and
  systemstack, most samples of the time.Now spinner said "running outside its Go stack";

- paths exercised: some sample of the time.Now spinner was taken inside the vDSO (json
  running_in "vdso"), and some sample of the allocating spinner crossed runtime.systemstack
  (running_in "system stack");
- profile: each sampled stack, as function names innermost first (runtime.goexit and the
  SIGPROF handler's frames aside: CPU profiles leave them out), is one the runtime's profile has
  too. Running code is caught at arbitrary instructions: a stack's frames on the system stack
  depend on where the stop hit, so from the goroutine's side of runtime.systemstack outward it
  must be the tail of a profile stack; on the goroutine's own stack the innermost frame may be
  one the profile did not happen to sample, so from its caller outward. The profile is a sample
  as well (a rare path, the collector starting say, may be missing from it): at least 90% of the
  stacks must match.

On a kernel crash core of the zoo (GOTRACEBACK=crash, SIGQUIT) the runtime prints the busy
goroutine's stack from wherever the crash found it: asynchronously preempted (through
runtime.asyncPreempt), or still running with its thread in the crash's signal handler (one signal
inside another). ifxray's frames from the core (after the last runtime.sigtramp in the second
case) must be the runtime's: function, file:line, sp, pc and frame size.

A goroutine caught in a signal handler is rare in a sample, so it is made certain: gdb attaches
to the plain fixture, stops at the first instruction of runtime.sigprof when the signal
interrupted Go code on a goroutine's stack (its register arguments: pc in .text, gp neither nil
nor mp.g0, sp between gp.stack.lo and gp.stack.hi), writes a
core with gcore and lets go. On that core, among the goroutines ifxray finds running in a signal
handler, exactly one must have:
- the interrupted pc and sp that the runtime's own handler passed to sigprof (rax, rbx) as the
  frame after runtime.sigtramp: ifxray read them from the kernel's signal frame;
- the frames of gdb's backtrace of that thread (which unwinds the signal frame with DWARF CFI),
  before and after gdb's "<signal handler called>", function for function, pc for pc where gdb
  prints one (gdb does not take go1.19's runtime.sigtramp for a signal trampoline and stops
  there: on go1.19 the handler's frames are compared).
"""
import json
import re
import subprocess
import tempfile
from pathlib import Path

import core_files
import fixtures
import frames_labels
import oracles
import pprof_raw

SAMPLES = 40
MAX_SAMPLES = 300
VARIANTS = ("plain", "stripped", "pie")


def sample(pid, ids, report, case):
    """{goroutine id: [(function names innermost first, error, running_in)]} for the spinners
    found running: SAMPLES stops, more (up to MAX_SAMPLES) until both off-stack paths were seen
    (a stop inside systemstack is a few percent of the allocating spinner's)."""
    out = {g: [] for g in ids}
    seen = set()
    for n in range(MAX_SAMPLES):
        if n >= SAMPLES and {"vdso", "system stack"} <= seen:
            break
        args = ["frames", "--format", "json"]
        for g in ids:
            args += ["--goroutine", g]
        rc, text, err = fixtures.run_ifxray(args + [pid])
        if rc != 0:
            report.check(False, f"run:{case}", f"  exit {rc}: {err[-1500:]}")
            return out
        for g in json.loads(text)["goroutines"]:
            if g["status"] == "running":
                out[g["id"]].append((tuple(f["function"] for f in g["frames"]), g["error"],
                                     g["running_in"]))
                seen.add(g["running_in"])
    return out


# Where a signal handler's frames end: the kernel enters it at sigtramp, or at cgoSigtramp when
# that is installed (it jumps on to sigtramp).
TRAMPOLINES = ("runtime.sigtramp", "runtime.cgoSigtramp")


def after_handler(names):
    """The index just past the last signal trampoline frame in names, 0 when there is none."""
    at = [i for i, n in enumerate(names) if n in TRAMPOLINES]
    return at[-1] + 1 if at else 0


def tails(stacks):
    out = set()
    for s in stacks:
        for i in range(len(s)):
            out.add(s[i:])
    return out


def check(report, case, tc, exe):
    with fixtures.run_fixture(exe, timeout=60) as fx:
        facts = json.loads((fx.outdir / "facts.json").read_text())
        now_id, alloc_id = facts["spin_now"], facts["spin_alloc"]
        got = sample(fx.pid, (now_id, alloc_id), report, case)
        fx.proc.stdin.close()
        fx.proc.wait(timeout=60)
        prof = fx.outdir / "cpu.pprof"
        runtime = {pprof_raw.functions(stack) for _, stack, _ in
                   pprof_raw.parse(tc.tool("pprof", "-raw", str(exe), str(prof)))}
    all_tails = tails(runtime)
    running = got[now_id] + got[alloc_id]
    # The one stop ifxray cannot see through: a signal handler in a vDSO call (sigprof reads the
    # clock) that interrupted the goroutine in one, whose m.vdsoPC/SP the handler's call took.
    # It must say so; nothing else may be incomplete.
    nested_vdso = [s for s, e, _ in running if "and the handler is in one too" in e]
    silent = [s for s, e, _ in running if not e and (not s or s[-1] != "runtime.goexit")]
    errors = [(s, e) for s, e, _ in running if e and "and the handler is in one too" not in e]
    # A stack that looks whole but is not is never allowed; an unforeseen state that ifxray
    # reports as incomplete, with its reason, at most once in a case's samples (before ifxray
    # followed the runtime off the goroutine's stack, most samples were incomplete).
    report.check(running and not silent and len(errors) <= 1, f"complete:{case}",
                 f"  {len(running)} running samples ({len(nested_vdso)} in a vDSO call inside "
                 f"a handler inside a vDSO call); cut short silently: {silent[:5]}; with an "
                 f"error: {errors[:5]}")
    in_vdso = [s for s, _, where in got[now_id] if where == "vdso"]
    crossed = [s for s, _, where in got[alloc_id]
               if where == "system stack" and "runtime.systemstack" in s]
    report.check(in_vdso and crossed, f"paths-exercised:{case}",
                 f"  vdso samples {len(in_vdso)}, systemstack samples {len(crossed)}")
    missing = []
    for s, e, _ in running:
        if e:  # incomplete stacks (the nested vDSO case above) are not compared
            continue
        s = s[:-1]  # the runtime's CPU profile leaves runtime.goexit out
        s = s[after_handler(s):]  # nor does it show its own signal handler
        if "runtime.systemstack" in s:  # the goroutine's side of it
            want = s[s.index("runtime.systemstack") + 1:]
        else:
            want = s if s in all_tails else s[1:]
        if want and want not in all_tails:
            missing.append(s)
    # The profile is a sample too: rare paths (the collector starting, say) may be missing.
    report.check(len(missing) * 10 <= len(running), f"profile:{case}",
                 f"  {len(missing)} of {len(running)} not in the runtime's profile, e.g. "
                 f"{missing[:3]}")


GDB_FRAME = re.compile(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \(")


def gdb_backtrace(text):
    """[(function, pc or None)] of gdb's bt, "<signal handler called>" as ("<signal>", None)."""
    out = []
    for line in text.splitlines():
        if re.match(r"^#\d+\s+<signal handler called>", line):
            out.append(("<signal>", None))
            continue
        m = GDB_FRAME.match(line)
        if m:
            out.append((m.group(3), int(m.group(2), 16) if m.group(2) else None))
    return out


def check_signal_core(report, tc):
    case = f"signal-core:{tc.name}"
    exe = fixtures.exe_path(tc, "plain", "spin")
    addr, _, size = oracles.sections(exe)[".text"]
    lo, hi = addr, addr + size
    with tempfile.TemporaryDirectory() as tmp, fixtures.run_fixture(exe, timeout=60) as fx:
        core = Path(tmp) / "sigprof.core"
        gdb = subprocess.run(
            ["gdb", "-batch", "-nx", "-p", str(fx.pid), "-ex", "set auto-load off",
             "-ex", "set language c",  # the condition's casts
             "-ex", f"break *'runtime.sigprof' if $rax >= {lo:#x} && $rax < {hi:#x} && $rdi != 0"
             " && $rdi != *(long*)$rsi && $rbx >= *(long*)$rdi && $rbx < *(long*)($rdi + 8)",
             "-ex", "continue", "-ex", "p/x $rax", "-ex", "p/x $rbx", "-ex", f"gcore {core}",
             "-ex", "bt 40", "-ex", "detach"],
            capture_output=True, text=True, timeout=120)
        regs = re.findall(r"^\$\d+ = (0x[0-9a-f]+)$", gdb.stdout, re.M)
        bt = gdb_backtrace(gdb.stdout)
        if not report.check(len(regs) == 2 and core.is_file() and bt,
                            f"gdb:{case}", f"  gdb said:\n{gdb.stdout[-3000:]}\n{gdb.stderr[-1500:]}"):
            return
        pc, sp = (int(r, 16) for r in regs)
        rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", core])
        core.unlink()
    if not report.check(rc == 0, f"ifxray:{case}", f"  exit {rc}: {err[-1500:]}"):
        return
    # Another thread may be in a handler too: the one gdb stopped is the one whose frame after
    # the trampoline is where the signal interrupted it, as sigprof was told.
    caught = [g for g in json.loads(out)["goroutines"] if g["running_in"] == "signal handler"]

    def first_after(g):
        names = [f["function"] for f in g["frames"]]
        at = after_handler(names) or len(names)
        return g["frames"][at] if at < len(names) else {}

    hit = [g for g in caught if first_after(g).get("pc") == hex(pc)
           and first_after(g).get("sp") == hex(sp)]
    report.check(len(hit) == 1, f"sigprof-args:{case}",
                 f"  sigprof(pc={pc:#x}, sp={sp:#x}); after the trampoline, ifxray has: "
                 f"{[first_after(g) for g in caught]}")
    if not hit:
        return
    frames = hit[0]["frames"]
    names = [f["function"] for f in frames]
    at = after_handler(names) or len(names)
    # gdb does not know go1.19's sigtramp for a signal trampoline: it stops there ("??" after
    # it), and only the handler's frames are compared.
    if ("<signal>", None) in bt:
        cut = bt.index(("<signal>", None))
        want = bt[:cut] + bt[cut + 1:]
    else:
        bt_names = [fn for fn, _ in bt]
        want = bt[:bt_names.index("runtime.sigtramp") + 1] if "runtime.sigtramp" in bt_names \
            else bt
        frames = frames[:at]
    # gdb goes on past runtime.goexit (a "??" frame at pc 0): the runtime's stack ends there.
    goexit = [i for i, (fn, _) in enumerate(want) if fn == "runtime.goexit"]
    want = want[:goexit[0] + 1] if goexit else want
    got = [(f["function"], int(f["pc"], 16)) for f in frames]
    same = len(got) == len(want) and all(
        g[0] == w[0] and (w[1] is None or g[1] == w[1]) for g, w in zip(got, want))
    report.check(same, f"gdb-backtrace:{case}", f"  gdb: {want}\n  ifxray: {got}")


def check_crash_core(report, tc):
    """The zoo's busy goroutine in a kernel crash core (GOTRACEBACK=crash, SIGQUIT): the runtime
    prints its stack in the crash traceback, from wherever the crash found it, and ifxray must
    give the same frames (function, file:line, sp, pc, frame size) from the core: either
    asynchronously preempted (runnable, through runtime.asyncPreempt2 and asyncPreempt), or
    still running with its thread in the crash's signal handler, where the handler's own frames
    (one signal inside another: the handler raises the signal again) come first and the frames
    after the last runtime.sigtramp are the ones the runtime printed."""
    case = f"crash-core:{tc.name}"
    core_files.allow_cores()
    with tempfile.TemporaryDirectory() as cores:
        with core_files.core_pattern(cores):
            core, live = core_files.kernel_core(fixtures.exe_path(tc, "plain", "zoo"), cores)
        busy = json.loads(live["facts.json"])["busy_goid"]
        crash = frames_labels.crash_traceback(live["stderr"])
        rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", core])
    if not report.check(rc == 0 and busy in crash, f"{case}:run",
                        f"  exit {rc}: {err[-1000:]}; busy goroutine {busy} in the crash "
                        f"traceback: {busy in crash}"):
        return
    state, want = crash[busy]
    g = next((g for g in json.loads(out)["goroutines"] if g["id"] == busy), None)
    frames = g["frames"] if g else []
    names = [f["function"] for f in frames]
    if g and g["running_in"] == "signal handler" and after_handler(names):
        frames = frames[after_handler(names):]
    got = [(f["function"], f["file"], f["line"], None if f["inlined"] else f["sp"],
            None if f["inlined"] else f["pc"], None if f["inlined"] else f["frame_size"])
           for f in frames]
    report.check(g is not None and got == want, f"{case}:busy",
                 f"  runtime [{state}]:\n    " + "\n    ".join(map(str, want)) +
                 f"\n  ifxray [{g['status'] if g else None}, {g['running_in'] if g else None}]:"
                 "\n    " + "\n    ".join(map(str, got)))


def main():
    tcs = fixtures.setup("frames_running")
    report = fixtures.Report("frames_running")
    for tc in tcs:
        try:
            check_crash_core(report, tc)
        except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
            report.error(f"crash-core:{tc.name}", e)
        try:
            check_signal_core(report, tc)
        except (fixtures.FixtureError, OSError, ValueError, KeyError,
                subprocess.TimeoutExpired) as e:
            report.error(f"signal-core:{tc.name}", e)
        for variant in VARIANTS:
            case = f"{tc.name}/{variant}"
            try:
                check(report, case, tc, fixtures.exe_path(tc, variant, "spin"))
            except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
