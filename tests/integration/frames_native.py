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

Go callbacks from C: a goroutine parked in Go code that C called back (goCallback under
c_call_go), and one that called C again from such a callback and sleeps there (goCallbackNap
under c_call_go_nap, then c_nap_in_callback):
  go-part  every frame below the callback's own physical frame (cgocallbackg, cgocallback,
           systemstack_switch, cgocall, the cgo call, ...; runtime frames included) is, function
           for function and pc for pc, what runtime.Callers/CallersFrames gave in the callback
           (facts.json)
  c-part   each goroutine has, under its runtime.cgocallback frame, crosscall2 then the C frames
           down to runtime.asmcgocall (goCallback and c_call_go by name unless stripped), in
           json, text, go (a block after the Go part) and folded (between the cgo call's frames
           and runtime.cgocallback)
  gdb      (ifxray's cores of plain and PIE builds) gdb finds the callback's thread and system
           stack pointer itself (runtime.allm: m.lockedg, m.g0.sched.sp, with the binary's
           DWARF), and the return address into crosscall2 above that stack pointer by its own
           symbols; in a copy of the core whose thread registers are set to that frame, gdb's
           backtrace of the thread has ifxray's C frames, same functions at the same pcs, and
           runtime.asmcgocall where ifxray hands over to Go

Corrupt stacks (go1.26 plain, ifxray's core): the C thread's stack above its sp overwritten
with its own pc (frames that repeat with rising sp) and with its own sp (a self-loop): exit 0
within a 1 GiB address-space limit, at most --max-native-frames frames for it and a changed
stack, none at a pc outside every mapped module (where a stack address taken for a return
address ends it), the other thread's native frames and every Go frame as in the intact core.

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


CALLBACKS = (("callback_goid", "callback_callers", "main.goCallback", ["goCallback", "c_call_go"]),
             ("nested_goid", "nested_callers", "main.goCallbackNap",
              ["goCallbackNap", "c_call_go_nap"]))
LOCKED_MS = """set $m = 'runtime.allm'
while $m != 0
  if $m->lockedg != 0
    printf "LOCKED %d %d %#lx\\n", $m->procid, ((struct 'runtime.g' *)$m->lockedg)->goid, $m->g0->sched.sp
  end
  set $m = $m->alllink
end
"""
WORDS = re.compile(r"^(0x[0-9a-f]+):\s+(.*)$")
WORD = re.compile(r"(0x[0-9a-f]+)(?: <([^>+]+)(?:\+\d+)?>)?")


def below_callback(frames, fn, key):
    """The frames after the physical frame holding fn (innermost first)."""
    names = [key(f) for f in frames]
    if fn not in names:
        return None
    i = names.index(fn)
    while i < len(frames) and frames[i].get("inlined"):
        i += 1
    return frames[i + 1:]


def check_callbacks(report, case, doc, facts, folded, go_text, text):
    """The Go and C frames of the goroutines in Go callbacks from C (see the module's doc)."""
    gs = {g["id"]: g for g in doc["goroutines"]}
    stripped = "stripped" in case
    for goid_key, callers_key, fn, cnames in CALLBACKS:
        goid = facts[goid_key]
        g = gs.get(goid)
        if not report.check(g is not None, f"callback:{case}:{goid}", "  goroutine missing"):
            continue
        want = facts[callers_key]
        runtime = below_callback(want, fn, lambda f: f["function"])
        # runtime.Callers leaves out the wrappers the runtime's tracebacks elide (ABI wrappers
        # such as runtime.cgocallbackg's); ifxray lists them, flagged.
        named = {f["function"] for f in want}
        ours = below_callback([f for f in g["frames"] if not f["wrapper"] or f["function"] in named
                               and f["pc"] in {hex(r["pc"] + 1) for r in want}],
                              fn, lambda f: f["function"])
        detail = (f"  runtime.Callers: {[(f['function'], hex(f['pc'])) for f in want]}\n"
                  f"  ifxray: {[(f['function'], f['pc'], f['inlined']) for f in g['frames']]}")
        ok = ours is not None and runtime is not None and len(ours) >= 5 and \
            len(runtime) >= len(ours) and \
            any(f["function"] == "runtime.cgocallback" for f in ours)
        if ok:
            for o, r in zip(ours, runtime[len(runtime) - len(ours):]):
                pc, entry = int(o["pc"], 16), int(o["entry"], 16)
                ok = ok and o["function"] == r["function"] and \
                    (o["inlined"] or (pc - 1 if pc > entry else pc) == r["pc"])
        report.check(ok, f"callback-go:{case}:{goid}", detail)
        cbs = g.get("callback_native", [])
        detail = f"  callback_native: {cbs}\n  frames: {[f['function'] for f in g['frames']]}"
        if not report.check(len(cbs) == 1, f"callback-c:{case}:{goid}", detail):
            continue
        cb = cbs[0]
        stack = cb["native"]
        names = [f["function"] for f in stack["frames"]]
        report.check(g["frames"][cb["frame"]]["function"] == "runtime.cgocallback"
                     and names[:1] == ["crosscall2"] and not stack["error"]
                     and stack["reached_go"] == "runtime.asmcgocall" and len(names) >= 3
                     and (stripped or names[1:] == cnames), f"callback-c:{case}:{goid}", detail)
        c_part = ";".join(n or "??" for n in reversed(names))
        report.check(any(f";{c_part};runtime.cgocallback;" in line for line in folded),
                     f"callback-folded:{case}:{goid}",
                     f"  want ...;{c_part};runtime.cgocallback;... in\n  " + "\n  ".join(folded))
        sp = g["frames"][cb["frame"]]["sp"]
        block = (f"native frames of goroutine {goid} under runtime.cgocallback sp={sp}:\n"
                 "crosscall2()")
        report.check(block in go_text, f"callback-go-format:{case}:{goid}", f"  no {block!r}")
        report.check(text.count("native frames under it (C code that called back into Go)") >= 2,
                     f"callback-text:{case}", "  the C frames under a callback are not in the text")


def patched_regs(core, tid, regs, path):
    """A copy of core in which the NT_PRSTATUS of thread tid has regs ({user_regs_struct index:
    value}) replaced."""
    with open(core, "rb") as f:
        data = bytearray(f.read())
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        ptype, _flags, off, _vaddr, _paddr, filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos = off
        while pos + 12 <= off + filesz:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            # elf_prstatus: pr_pid at 32, pr_reg (user_regs_struct) at 112
            if ntype == 1 and struct.unpack_from("<i", data, desc + 32)[0] == tid:
                for index, value in regs.items():
                    struct.pack_into("<Q", data, desc + 112 + 8 * index, value)
                with open(path, "wb") as f:
                    f.write(data)
                return path
            pos = desc + (descsz + 3) // 4 * 4
    raise fixtures.FixtureError(f"{core}: no NT_PRSTATUS for thread {tid}")


def gdb_lines(args, *commands):
    p = subprocess.run(["gdb", "-batch", "-nx", *args] + [a for c in commands for a in ("-ex", c)],
                       capture_output=True, text=True, timeout=300)
    return p.stdout.splitlines()


def check_callbacks_gdb(report, case, exe, core, doc, facts, tmp):
    """gdb's own unwinding of the C frames under each callback, in a copy of the core whose
    callback thread starts at the frame above the thread's g0.sched.sp that returns into
    crosscall2 (see the module's doc)."""
    script = os.path.join(tmp, "locked_ms.gdb")
    with open(script, "w") as f:
        f.write(LOCKED_MS)
    locked = {}
    for line in gdb_lines([exe, core, "-x", script]):
        if line.startswith("LOCKED "):
            _, tid, goid, sp = line.split()
            locked[int(goid)] = (int(tid), int(sp, 16))
    gs = {g["id"]: g for g in doc["goroutines"]}
    for goid_key, _, _, _ in CALLBACKS:
        goid = facts[goid_key]
        if not report.check(goid in locked, f"callback-gdb:{case}:{goid}",
                            f"  gdb found no M locked to goroutine {goid}: {locked}"):
            continue
        tid, sp = locked[goid]
        start = None
        for line in gdb_lines([exe, core], f"x/32a {sp:#x}"):
            m = WORDS.match(line)
            if not m:
                continue
            for k, w in enumerate(WORD.finditer(m.group(2))):
                if w.group(2) == "crosscall2" and start is None:
                    start = (int(m.group(1), 16) + 8 * k, int(w.group(1), 16))
        if not report.check(start is not None, f"callback-gdb:{case}:{goid}",
                            f"  no return address into crosscall2 above {sp:#x}"):
            continue
        slot, pc = start
        bad = patched_regs(core, tid, {16: pc, 19: slot + 8}, os.path.join(tmp, "regs"))
        want = gdb_threads([exe, bad]).get(tid, [])
        os.unlink(bad)
        cbs = gs[goid].get("callback_native", []) if goid in gs else []
        got = physical(cbs[0]["native"]) if cbs else []
        n = len(got)
        same = n > 0 and len(want) > n and all(
            fn == wfn and (p is None or wp is None or p == wp)
            for (p, fn), (wp, wfn) in zip(got, want)) and \
            want[n][1] == cbs[0]["native"]["reached_go"]
        report.check(same, f"callback-gdb:{case}:{goid}",
                     f"  gdb from {pc:#x} sp {slot + 8:#x}: {want}\n  ifxray: {got}")


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
    check_callbacks(report, case, doc, facts, folded, native[len(plain):],
                    frames(["--native", "--no-group"], target))
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
        # No frame at a pc outside every module: such a "return address" is no code's (the self
        # loop's is a stack address), and nothing past it can be trusted.
        report.check(c is not None and len(c[0]["frames"]) <= 64 and c[0] != stack
                     and all(f["module"] for f in c[0]["frames"]), case, f"  C thread: {c}")
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
                            if variant != "stripped":
                                doc = json.loads(frames(["--native", "--format", "json"], core))
                                check_callbacks_gdb(report, f"core:{case}", exe, core, doc, facts,
                                                    tmp)
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
