"""`ifxray frames --native` against gdb's `thread apply all bt`, and the cgo fixture's Go part
against the runtime's own traceback.

The cgo fixture (every toolchain x variant) has a goroutine sleeping in C (c_sleep_forever ->
c_nap -> nanosleep, in a cgo call), a pthread created by C (c_thread_main -> c_thread_loop ->
c_nap -> nanosleep) and a goroutine parked in Go called back from C. For the live process, for
ifxray's gcore of it and (plain builds, and go1.26's PIE) for gdb's gcore of it:

  native   every thread ifxray unwinds natively: gdb on the same process or core shows the same
           functions, innermost first, at the same pcs (where gdb prints one) for ifxray's frames
           (for ifxray's cores, gdb on the process they were taken from, which has not moved:
           gdb loads no shared libraries from them);
           a C-only thread must end where gdb's ends; a goroutine's thread must hand over to Go
           where gdb's next frame is (same function when gdb names it)
  threads  the goroutine in C has its thread's native frames (its tid as the fixture recorded
           it, c_nap then c_sleep_forever under libc's nanosleep); the C thread is listed as a
           thread running no goroutine, not a Go runtime thread, with c_thread_loop in it
  folded   `--format folded --native`: every natively unwound thread's C functions, as gdb names
           them, end a stack (outermost first), after the goroutine's Go frames if it has one
  go       `--format go --native` starts with exactly `--format go`; that Go part equals the
           runtime's runtime.Stack(all) for every goroutine not running at the dump (the callback
           goroutine unwinds through runtime.cgocallback as the runtime does)

Corrupt stacks (go1.26 plain, ifxray's core): the C thread's stack above its sp overwritten
with its own pc (frames that repeat with rising sp) and with its own sp (a self-loop): exit 0
within a 1 GiB address-space limit, at most --max-native-frames frames for it and a changed
stack, the other thread's native frames and every Go frame as in the intact core.

Stripped builds have no names for the fixture's C functions: gdb prints "??", ifxray no name,
and the pcs must agree.
"""
import json
import os
import re
import subprocess
import tempfile

import struct

import fixtures
from core_patch import MEMORY_LIMIT, load_segments
from frames_bad_input import patched
from frames_go import parse as parse_go, scratch

THREAD = re.compile(r'^Thread \d+ \((?:.*?\()?LWP (\d+)\)')
FRAME = re.compile(r'^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \(')
GDB_CORE_CASES = {("go1.19", "plain"), ("go1.26", "plain"), ("go1.26", "pie"),
                  ("go1.27", "plain")}


def gdb_threads(args):
    """{tid: [(pc or None, function)]} from gdb's `thread apply all bt`."""
    p = subprocess.run(["gdb", "-batch", "-nx", *args, "-ex", "thread apply all bt"],
                       capture_output=True, text=True, timeout=300)
    out, tid = {}, None
    for line in p.stdout.splitlines():
        m = THREAD.match(line)
        if m:
            tid = int(m.group(1))
            out[tid] = []
            continue
        m = FRAME.match(line)
        if m and tid is not None:
            out[tid].append((int(m.group(2), 16) if m.group(2) else None, m.group(3)))
    if not out:
        raise fixtures.FixtureError(f"gdb {' '.join(args)} listed no threads: {p.stderr[-400:]}")
    return out


def native_of(doc):
    """{tid: (native stack, goroutine id or None, runtime_thread)} from ifxray's JSON."""
    out = {}
    for g in doc["goroutines"]:
        if g.get("native") is not None and g["thread"] is not None:
            out[g["thread"]] = (g["native"], g["id"], True)
    for t in doc["native_threads"]:
        out[t["tid"]] = (t["native"], None, t["runtime_thread"])
    return out


def physical(stack):
    """[(pc, function or '??')] of the physical frames; inlined frames come first, like gdb's."""
    return [(None if f["inlined"] else int(f["pc"], 16), f["function"] or "??")
            for f in stack["frames"]]


def check_native(report, case, gdb, ours, facts, core):
    for tid, (stack, goid, _) in ours.items():
        want = gdb.get(tid)
        got = physical(stack)
        if not report.check(want is not None, f"thread:{case}:{tid}", "  gdb has no such thread"):
            continue
        n = len(got)
        same = len(want) >= n and all(
            fn == wfn and (pc is None or wpc is None or pc == wpc)
            for (pc, fn), (wpc, wfn) in zip(got, want))
        detail = f"  gdb:    {want}\n  ifxray: {got}\n  end: {stack['reached_go']!r} {stack['error']!r}"
        report.check(same and n > 0, f"frames:{case}:{tid}", detail)
        if stack["reached_go"]:
            nxt = want[n] if len(want) > n else None
            report.check(nxt is not None and nxt[1] in (stack["reached_go"], "??"),
                         f"handover:{case}:{tid}", detail)
        else:
            report.check(len(want) == n and not stack["error"], f"end:{case}:{tid}", detail)
    stripped = "stripped" in case  # the fixture's static C functions have no names there
    sleeper = ours.get(facts["sleeper_tid"])
    names = [f for _, f in physical(sleeper[0])] if sleeper else []
    report.check(sleeper is not None and sleeper[1] == facts["sleeper_goid"]
                 and len(names) >= 4 and "nanosleep" in " ".join(names)
                 and (stripped or names[-2:] == ["c_nap", "c_sleep_forever"])
                 and sleeper[0]["reached_go"] == "runtime.asmcgocall",
                 f"sleeper:{case}", f"  {sleeper}")
    cthread = ours.get(facts["c_thread_tid"])
    cnames = [f for _, f in physical(cthread[0])] if cthread else []
    report.check(cthread is not None and cthread[1] is None and not cthread[2]
                 and "start_thread" in cnames and (stripped or "c_thread_loop" in cnames),
                 f"c-thread:{case}", f"  {cthread}")


def frames(args, target):
    rc, out, err = fixtures.run_ifxray(["frames", *args, target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray frames {args} {target} exited {rc}: {err.strip()}")
    return out


def check_target(report, case, target, gdb_args, runtime, facts, core):
    doc = json.loads(frames(["--native", "--format", "json"], target))
    check_native(report, case, gdb_threads(gdb_args), native_of(doc), facts, core)
    gdb = gdb_threads(gdb_args)
    folded = [line.rpartition(" ")[0] for line in
              frames(["--native", "--format", "folded"], target).splitlines()]
    for tid, (stack, goid, _) in native_of(doc).items():
        want = ";".join(fn for _, fn in reversed(gdb.get(tid, [])[:len(stack["frames"])]))
        report.check(any(line == want or line.endswith(";" + want) for line in folded)
                     and (goid is None or any(line.endswith(";" + want) and ";main." in line
                                              for line in folded)),
                     f"folded:{case}:{tid}", f"  want a stack ending {want!r}:\n  " +
                     "\n  ".join(folded))
    plain = frames(["--format", "go"], target)
    native = frames(["--format", "go", "--native"], target)
    report.check(native.startswith(plain) and "native thread" in native[len(plain):],
                 f"go-prefix:{case}", "  --native changed the Go part of --format go")
    ours = parse_go(plain)
    checked = 0
    for goid, (state, block) in runtime.items():
        if state.startswith("running"):
            continue
        checked += 1
        got = ours.get(goid)
        report.check(got is not None and got[1] == block, f"go:{case}:{goid}",
                     f"  runtime:\n{block}\n  ifxray:\n{got[1] if got else '(missing)'}")
    report.check(checked >= 2, f"go-coverage:{case}", f"  only {checked} goroutines compared")


def check_corrupt(report, core, facts, tmp):
    intact = native_of(json.loads(frames(["--native", "--format", "json"], core)))
    intact_go = frames(["--format", "go"], core)
    stack = intact[facts["c_thread_tid"]][0]
    pc0, sp0 = int(stack["frames"][0]["pc"], 16), int(stack["frames"][0]["sp"], 16)
    segs = load_segments(core)
    for name, word in (("own pc", pc0), ("self loop", sp0)):
        bad = patched(core, segs, [(sp0 + i, struct.pack("<Q", word)) for i in range(0, 4096, 8)],
                      os.path.join(tmp, "bad"))
        case = f"corrupt:{name}"
        p = subprocess.run([*MEMORY_LIMIT, fixtures.ifxray_path(), "frames", "--native", "--format",
                            "json", "--max-native-frames", "64", bad], capture_output=True,
                           text=True, timeout=120)
        if not report.check(p.returncode == 0, case, f"  exit {p.returncode}: {p.stderr[-300:]}"):
            continue
        got = native_of(json.loads(p.stdout))
        c = got.get(facts["c_thread_tid"])
        report.check(c is not None and len(c[0]["frames"]) <= 64 and c[0] != stack, case,
                     f"  C thread: {c}")
        report.check(got.get(facts["sleeper_tid"]) == intact.get(facts["sleeper_tid"]),
                     f"{case}:others", "  the sleeping goroutine's native frames changed")
        report.check(frames(["--format", "go"], bad) == intact_go, f"{case}:go",
                     "  Go frames changed")
        os.unlink(bad)


def main():
    tcs = fixtures.setup("frames_native")
    report = fixtures.Report("frames_native")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            exe = fixtures.exe_path(tc, variant, "cgo")
            try:
                with fixtures.run_fixture(exe) as fx:
                    runtime = parse_go((fx.outdir / "stack.txt").read_text())
                    facts = json.loads((fx.outdir / "facts.json").read_text())
                    check_target(report, f"live:{case}", fx.pid, ["-p", str(fx.pid)], runtime,
                                 facts, False)
                    with tempfile.TemporaryDirectory(dir=scratch()) as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            # gdb loads no shared libraries from ifxray's cores: its oracle is
                            # gdb on the process itself, which is still in the same state.
                            check_target(report, f"core:{case}", core, ["-p", str(fx.pid)],
                                         runtime, facts, True)
                            if (tc.name, variant) == ("go1.26", "plain"):
                                check_corrupt(report, core, facts, tmp)
                        os.unlink(core)
                        if (tc.name, variant) in GDB_CORE_CASES:
                            subprocess.run(["gdb", "-p", str(fx.pid), "-batch", "-nx", "-ex",
                                            f"gcore {core}"], capture_output=True, timeout=300)
                            if report.check(os.path.exists(core), f"gdb-gcore:{case}"):
                                check_target(report, f"gdb-core:{case}", core, [str(exe), core],
                                             runtime, facts, True)
            except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
                report.error(f"run:{case}", e)
    report.finish()


if __name__ == "__main__":
    main()
