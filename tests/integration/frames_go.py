"""`ifxray frames --format go` against the runtime's own traceback.

Oracle: the zoo fixture writes runtime.Stack(buf, true) at READY (goroutines parked on
channels, select, nil channels, locks, WaitGroup, Cond, sleep, accept, a system call, and a
recursion 300 frames deep). For every toolchain x variant, on the live process, on ifxray's
gcore of it and on gdb's gcore of it, every goroutine the runtime printed must be printed by ifxray byte for byte:
header (status, wait reason, locked to thread), every frame with its arguments, file:line and
+offset, the elision marks, and the created-by lines. Goroutines running at the runtime's dump
are excluded (their stacks moved on), and so is the zoo's busy-looping goroutine (facts.json
busy_goid), which is never parked: for it ifxray must say running (or runnable, if the scheduler
had just preempted it) with the same functions, innermost first, as the runtime printed (when its
thread was caught in the runtime's signal handler too: its frames are unwound through it).
The zoo also parks goroutines inside deferred calls (after a return, while panicking, and after a
nil pointer fault, whose frame is under runtime.sigpanic: its +offset is the faulting
instruction's) and in methods of a generic type.

Start functions (live): every compared goroutine's start_function (ifxray reads g.startpc) is the
function at the bottom of its stack in runtime.Stack, or for `go f(args)` the wrapper the
compiler made to call f, which the traceback hides: then ifxray's bottom physical frame, marked
a wrapper, right under f.

Filters (on ifxray's core, against the same runtime.Stack): `--wait-reason R` for every wait
reason the runtime printed gives exactly the goroutines whose header has R; `--state waiting`
exactly those with a wait reason, `--state syscall` those in [syscall]; `--func '^F$'` for every
main.* function the runtime printed gives exactly the goroutines with an F frame; a bad regex
is a usage error (exit 2). The main goroutine (running at the runtime's dump) and the busy one
are left out of both sides.

Groups (the default text format, on ifxray's core of the zoo and on the live manyg fixture,
1000 goroutines in ~90 shapes): its groups are exactly the classes of goroutines whose
runtime.Stack blocks are the same but for goroutine ids, arguments, +offsets and minutes waited
(same state, functions, file:line and creation site), each with the class's size and (up to 10
of) its ids, largest group first; the main and busy goroutines are left out.
"""
import json
import os
import re
import subprocess
import tempfile

import fixtures

HEADER = re.compile(r"goroutine (\d+) \[([^\]]*)\]:")


def parse(text):
    """{goid: (state, block text)} from a Go traceback."""
    out = {}
    for block in text.strip().split("\n\n"):
        m = HEADER.match(block)
        if m:
            out[int(m.group(1))] = (m.group(2), block)
    return out


def frames_go(target):
    rc, out, err = fixtures.run_ifxray(["frames", "--format", "go", target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray frames {target} exited {rc}: {err.strip()}")
    return parse(out)


def functions(block):
    """Function names of a traceback block, innermost first (created-by line excluded)."""
    lines = block.splitlines()[1:]
    return [ln.rsplit("(", 1)[0] for ln in lines
            if ln and not ln.startswith("\t") and not ln.startswith("created by")
            and "(" in ln]


NOT_WAITING = ("running", "runnable", "syscall")


def ifxray_ids(target, *args):
    rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", *args, target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray frames {' '.join(args)} exited {rc}: {err.strip()}")
    return {g["id"] for g in json.loads(out)["goroutines"]}


def check_filters(report, case, target, runtime, busy):
    moving = {busy} | {g for g, (state, _) in runtime.items() if state.startswith("running")}
    first = {g: state.split(",")[0] for g, (state, _) in runtime.items() if g not in moving}
    for reason in sorted(set(first.values()) - set(NOT_WAITING)):
        want = {g for g, r in first.items() if r == reason}
        got = ifxray_ids(target, "--wait-reason", reason) - moving
        report.check(got == want, f"filter-wait-reason:{case}:{reason}",
                     f"  runtime: {sorted(want)}\n  ifxray: {sorted(got)}")
    for state, want in (("waiting", {g for g, r in first.items() if r not in NOT_WAITING}),
                        ("syscall", {g for g, r in first.items() if r == "syscall"})):
        got = ifxray_ids(target, "--state", state) - moving
        report.check(got == want and want, f"filter-state:{case}:{state}",
                     f"  runtime: {sorted(want)}\n  ifxray: {sorted(got)}")
    names = {fn for g, (_, block) in runtime.items() if g not in moving
             for fn in functions(block) if fn.startswith("main.") and "[" not in fn}
    for fn in sorted(names):
        want = {g for g in first if fn in functions(runtime[g][1])}
        pattern = "^" + re.sub(r"([.()*\[\]])", r"\\\1", fn) + "$"
        got = ifxray_ids(target, "--func", pattern) - moving
        report.check(got == want, f"filter-func:{case}:{fn}",
                     f"  runtime: {sorted(want)}\n  ifxray: {sorted(got)}")
    report.check(len(names) >= 10, f"filter-func-coverage:{case}", f"  only {sorted(names)}")
    rc, _, err = fixtures.run_ifxray(["frames", "--func", "(", target])
    report.check(rc == 2 and "--func" in err, f"filter-func-bad:{case}", f"  exit {rc}: {err}")


GROUP = re.compile(r"^(\d+) goroutines? \[[^\]]*\]:((?: \d+)*)( \.\.\. \(\+\d+\))?$")


def stack_class(state, block):
    """A runtime.Stack block without what differs between goroutines ifxray groups together."""
    out = [re.sub(r", \d+ minutes", "", state)]
    for line in block.splitlines()[1:]:
        if line.startswith("\t"):
            line = re.sub(r" \+0x[0-9a-f]+$", "", line)
        elif line.startswith("created by "):
            line = re.sub(r" in goroutine \d+$", "", line)
        elif line.endswith(")"):
            line = line.rsplit("(", 1)[0]
        out.append(line)
    return tuple(out)


def check_groups(report, case, target, runtime, busy):
    moving = {busy} | {g for g, (state, _) in runtime.items() if state.startswith("running")}
    classes = {}
    for g, (state, block) in runtime.items():
        if g not in moving:
            classes.setdefault(stack_class(state, block), set()).add(g)
    rc, out, err = fixtures.run_ifxray(["frames", str(target)])
    if not report.check(rc == 0, f"groups:{case}", f"  exit {rc}: {err}"):
        return
    got = [(int(m.group(1)), {int(x) for x in m.group(2).split()})
           for m in map(GROUP.match, out.splitlines()) if m]
    sizes = [n for n, _ in got]
    of = {g: frozenset(c) for c in classes.values() for g in c}
    matched, bad = set(), []
    for n, shown in got:
        if shown & moving:
            continue
        cls = of.get(min(shown)) if shown else None
        if cls is None or not shown <= cls or n != len(cls) or cls in matched:
            bad.append(f"  ifxray group of {n} {sorted(shown)}: runtime class "
                       f"{sorted(cls) if cls else None}\n")
        matched.add(cls)
    missing = [sorted(c) for c in set(of.values()) - matched]
    report.check(not bad and not missing and sizes == sorted(sizes, reverse=True)
                 and sum(sizes) >= len(of), f"groups:{case}",
                 "".join(bad[:5]) + f"  runtime classes ifxray has no group for: {missing[:5]}\n"
                 f"  sizes {sizes[:20]}")


def compare(report, case, runtime, ours, busy):
    checked = 0
    got = ours.get(busy)
    # Its thread may have been stopped inside the runtime's signal handler (a preemption
    # request): ifxray unwinds through it, and the go format hides the handler's runtime frames.
    report.check(got is not None and got[0] in ("running", "runnable")
                 and functions(got[1]) == functions(runtime[busy][1]),
                 f"busy:{case}",
                 f"  runtime:\n{runtime[busy][1]}\n  ifxray:\n{got[1] if got else '(missing)'}")
    for goid, (state, block) in runtime.items():
        if state.startswith("running") or goid == busy:
            continue
        checked += 1
        got = ours.get(goid)
        report.check(got is not None and got[1] == block, f"goroutine:{case}:{goid}",
                     f"  runtime:\n{block}\n  ifxray:\n{got[1] if got else '(missing)'}")
    extra = sorted(set(ours) - set(runtime))
    report.check(not extra, f"extra:{case}", f"  goroutines the runtime did not print: {extra}")
    report.check(checked >= 10, f"coverage:{case}", f"  only {checked} goroutines compared")


def check_start(report, case, target, runtime, busy):
    """The start function (g.startpc) of every goroutine is the function at the bottom of its
    stack in the runtime's own traceback; or, for `go f(args)`, the compiler's wrapper that
    calls f (main.main.gowrapN; a closure before Go 1.21), which the traceback hides: then it is
    the bottom physical frame, marked as a wrapper, right under the runtime's bottom frame.
    Generic instantiations as the traceback prints them."""
    rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", target])
    if not report.check(rc == 0, f"start:{case}", f"  exit {rc}: {err[-1000:]}"):
        return
    generic = re.compile(r"\[[^\]]*\]")
    ours = {g["id"]: g for g in json.loads(out)["goroutines"]}
    wrong, wrapped = [], 0
    for goid, (state, block) in runtime.items():
        if state.startswith("running") or goid == busy:
            continue
        bottom = functions(block)[-1]
        g = ours.get(goid)
        start = generic.sub("[...]", g["start_function"]) if g else None
        frames = [f for f in g["frames"] if f["function"] != "runtime.goexit"] if g else []
        if len(frames) >= 2 and frames[-1]["wrapper"] and start == frames[-1]["function"] and \
                generic.sub("[...]", frames[-2]["function"]) == bottom:
            wrapped += 1
        elif start != bottom:
            wrong.append(f"  goroutine {goid}: runtime {bottom}, ifxray {start}")
    report.check(not wrong and len(runtime) >= 10, f"start:{case}",
                 f"  ({wrapped} through a wrapper)\n" + "\n".join(wrong[:10]))


def scratch():
    """Where the big cores go: memory when there is room (gdb's are about 1 GiB), else /tmp."""
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 4 << 30:
            return "/dev/shm"
    except OSError:
        pass
    return None


def main():
    tcs = fixtures.setup("frames_go")
    report = fixtures.Report("frames_go")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, "zoo")) as fx:
                    runtime = parse((fx.outdir / "stack.txt").read_text())
                    busy = json.loads((fx.outdir / "facts.json").read_text())["busy_goid"]
                    compare(report, f"live:{case}", runtime, frames_go(fx.pid), busy)
                    check_start(report, f"live:{case}", fx.pid, runtime, busy)
                    with tempfile.TemporaryDirectory(dir=scratch()) as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            compare(report, f"core:{case}", runtime, frames_go(core), busy)
                            check_filters(report, f"core:{case}", core, runtime, busy)
                            check_groups(report, f"core:{case}", core, runtime, busy)
                        os.unlink(core)
                        gdb = subprocess.run(["gdb", "-p", str(fx.pid), "-batch", "-ex",
                                              f"gcore {core}"], capture_output=True, text=True,
                                             timeout=300)
                        if report.check(os.path.exists(core), f"gdb-gcore:{case}",
                                        f"  gdb: {gdb.stderr[-500:]}"):
                            compare(report, f"gdb-core:{case}", runtime, frames_go(core), busy)
            except (fixtures.FixtureError, OSError) as e:
                report.error(f"run:{case}", e)
        try:
            with fixtures.run_fixture(fixtures.exe_path(tc, "plain", "manyg")) as fx:
                runtime = parse((fx.outdir / "stack.txt").read_text())
                check_groups(report, f"manyg:{tc.name}", fx.pid, runtime, None)
        except (fixtures.FixtureError, OSError) as e:
            report.error(f"run:manyg:{tc.name}", e)
    report.finish()


if __name__ == "__main__":
    main()
