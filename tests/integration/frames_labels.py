"""`ifxray frames`: pprof labels and wait durations, against the runtime (the labels fixture).

Oracles, for every toolchain x variant, on the live process, on ifxray's gcore of it, on a
kernel crash core of another run (GOTRACEBACK=crash, SIGQUIT) and on gdb's gcore for the plain
builds of go1.19 and go1.26:
  labels    every goroutine's labels in `--format json` equal what runtime/pprof.ForLabels gave
            the goroutine itself (labels.json: pprof.Do, SetGoroutineLabels, and a goroutine
            inheriting its creator's labels); every other goroutine has none; `--format text`
            prints them.
  pprof     `go tool pprof -raw` of `--format pprof` has the same multiset of (stack, labels) ->
            goroutine count as the runtime's own goroutine profile (goroutine.pb.gz; the stack
            holding main.main excluded on both sides, as in frames_pprof), and every function
            the two share has the same start line (Function.start_line; 0 on go1.19 on both
            sides, which has none).
  wait      with the GC off, the fixture's single runtime.GC() stamps every parked goroutine's
            waitsince between gc_before_ns and gc_after_ns (CLOCK_MONOTONIC, the runtime's
            nanotime clock). Live and on ifxray's cores (which record the clock at the stop) the
            wait must lie in [t0 - gc_after, t1 - gc_before], t0/t1 being CLOCK_MONOTONIC before
            and after the ifxray run (or gcore) that stopped the process, and is not estimated.
            On kernel and gdb cores there is no clock: the wait is marked estimated (json
            wait_estimated, "at least N minutes" in text) and may only be shorter than the truth,
            never longer (<= t1 - gc_before, t1 after the crash or gcore), and no shorter than
            the runtime state ifxray estimates "now" from allows: the fixture's second GC ended
            after gc2_before_ns (memstats.last_gc_nanotime), so >= gc2_before - gc_after.
  wrappers  the frames `--format json` flags as wrappers (the compiler's go-statement wrappers
            here: main.main.funcN on go1.19, main.main.gowrapN since) are not shown, and the
            runtime's own traceback (stack.txt) has no such frame for that goroutine.
  filters   (live and crash core) without --system, the goroutines are exactly those of
            runtime.Stack(all) (stack.txt), which leaves system goroutines out; --system adds only
            goroutines started by runtime functions. --goroutine ID (twice) gives exactly those
            two. --min-wait half the shortest wait the bounds above allow keeps all 8 waiters
            and only goroutines with a known wait; --min-wait longer than the longest possible
            wait keeps none; a bad duration is a usage error (exit 2).
  minutes   (go1.26 plain crash core) in a copy of the core whose sched.lastpoll (its address
            from gdb, by the binary's DWARF) is set to gc_after + 150 s, "now" is estimated from
            it: every waiter has waited [150 s, 150 s + gc_after - gc_before], so the runtime's
            rule (whole minutes since waitsince) gives 2: the text says "at least 2 minutes",
            the go format "2 minutes", json wait_estimated.
  crash     (crash core) the traceback the runtime printed to stderr as it crashed (every
            goroutine, runtime frames included, each physical frame with its sp and pc): for
            every goroutine not running then, ifxray's frames (json, hidden ones included) have
            the same functions, file:line, sp, pc and frame size (fp - sp - 8) in the same order,
            and the same wait reason.
"""
import collections
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import core_files
import fixtures
import pprof_raw
from core_patch import load_segments
from frames_bad_input import patched

FIXTURE = "labels"
WAITERS = ("main.waitLabelled", "main.waitPlain", "main.main.func1.1")
GDB_CASES = {("go1.19", "plain"), ("go1.26", "plain")}
CRASH_HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]*)\]:$")
CRASH_AT = re.compile(r"^\t(.*):(\d+)(?: \+0x[0-9a-f]+)?(?: fp=(0x[0-9a-f]+) sp=(0x[0-9a-f]+) "
                      r"pc=(0x[0-9a-f]+))?$")


def mono():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def parse_raw(text):
    """`pprof -raw` -> (Counter{(function names innermost first, labels): count},
    {function: start line})."""
    out, starts = collections.Counter(), {}
    for count, stack, labels in pprof_raw.parse(text):
        out[(pprof_raw.functions(stack), labels)] += count
        for loc in stack:
            for fn, _, _, start in loc:
                starts[fn] = start
    return out, starts


def without_main(counter):
    return collections.Counter({k: n for k, n in counter.items() if "main.main" not in k[0]})


def ifxray_json(target):
    rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", "--system", str(target)])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray frames {target} exited {rc}: {err.strip()}")
    return json.loads(out)


def check_labels(report, case, doc, want):
    got = {str(g["id"]): g["labels"] for g in doc["goroutines"] if g["labels"]}
    detail = "".join(f"  goroutine {g}: runtime {want.get(g)}, ifxray {got.get(g)}\n"
                     for g in sorted(want.keys() | got.keys()) if want.get(g) != got.get(g))
    report.check(not detail and len(want) >= 6, f"labels:{case}", detail)
    errors = [g["labels_error"] for g in doc["goroutines"] if g["labels_error"]]
    report.check(not errors, f"labels-errors:{case}", f"  {errors[:3]}")


def check_waits(report, case, doc, facts, lo_now, hi_now, estimated):
    """Every waiter's wait_ns within [lo_now - gc_after, hi_now - gc_before]."""
    lo = lo_now - facts["gc_after_ns"] if lo_now is not None else 0
    hi = hi_now - facts["gc_before_ns"]
    waiters = [g for g in doc["goroutines"]
               if any(f["function"] in WAITERS for f in g["frames"])]
    bad = [f"  goroutine {g['id']}: wait_ns {g['wait_ns']} (estimated {g['wait_estimated']}), "
           f"want in [{lo}, {hi}], estimated {estimated}\n"
           for g in waiters
           if g["wait_ns"] is None or not lo <= g["wait_ns"] <= hi
           or g["wait_estimated"] != estimated]
    report.check(len(waiters) == 8 and not bad, f"wait:{case}",
                 f"  {len(waiters)} waiters (want 8)\n" + "".join(bad[:5]))


def ids(target, *args):
    rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", *args, str(target)])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray frames {' '.join(args)} exited {rc}: {err.strip()}")
    return {g["id"]: g for g in json.loads(out)["goroutines"]}


def crash_traceback(text):
    """{goid: (state, [(function, file, line, sp, pc, frame size)])} of a GOTRACEBACK=crash
    traceback; inlined frames have None for the last three. The frame size is fp - sp - 8: the
    runtime's fp is past the return address (amd64)."""
    out = {}
    for block in text.split("\n\n"):
        lines = block.strip("\n").splitlines()
        m = CRASH_HEADER.match(lines[0]) if lines else None
        if not m or m.group(1) == "0":  # goroutine 0: an M's system stack
            continue
        frames = []
        for fn_line, at_line in zip(lines[1::2], lines[2::2]):
            a = CRASH_AT.match(at_line)
            if fn_line.startswith("created by ") or not a:
                break
            size = int(a.group(3), 16) - int(a.group(4), 16) - 8 if a.group(3) else None
            frames.append((fn_line.rsplit("(", 1)[0], a.group(1), int(a.group(2)), a.group(4),
                           a.group(5), size))
        out[int(m.group(1))] = (m.group(2), frames)
    return out


def check_crash_frames(report, case, doc, crash):
    ours = {g["id"]: g for g in doc["goroutines"]}
    compared = 0
    for goid, (state, want) in sorted(crash.items()):
        if state.startswith("running"):
            continue
        compared += 1
        g = ours.get(goid)
        got = [(f["function"], f["file"], f["line"], None if f["inlined"] else f["sp"],
                None if f["inlined"] else f["pc"], None if f["inlined"] else f["frame_size"])
               for f in g["frames"]] if g else None
        reason = state.split(",")[0]
        report.check(g is not None and got == want and g["state"] == reason, f"crash-frames:{case}:{goid}",
                     f"  runtime [{state}]:\n    " + "\n    ".join(map(str, want)) +
                     f"\n  ifxray [{g['state'] if g else None}]:\n    " +
                     "\n    ".join(map(str, got or [])))
    report.check(compared >= 10, f"crash-frames-coverage:{case}",
                 f"  only {compared} goroutines in the crash traceback")


def crash_core(exe, cores):
    """Runs the fixture under GOTRACEBACK=crash and crashes it with SIGQUIT: (core, labels.json,
    facts.json, runtime's raw goroutine profile, its stack.txt, the crash traceback, t1:
    CLOCK_MONOTONIC once the process is gone)."""
    with fixtures.run_fixture(exe, env={"GOTRACEBACK": "crash"}) as fx:
        saved = {name: (fx.outdir / name).read_text()
                 for name in ("labels.json", "facts.json", "stack.txt")}
        saved["goroutine.pb.gz"] = (fx.outdir / "goroutine.pb.gz").read_bytes()
        with core_files.core_pattern(cores):
            os.kill(fx.pid, signal.SIGSTOP)
            core_files.wait_group_stopped(fx.pid)
            os.kill(fx.pid, signal.SIGQUIT)  # pending until SIGCONT: no thread runs in between
            os.kill(fx.pid, signal.SIGCONT)
            try:
                fx.proc.wait(timeout=60)
            except subprocess.TimeoutExpired as e:
                raise fixtures.FixtureError(f"{exe} did not die of SIGQUIT") from e
            t1 = mono()
            core = os.path.join(cores, f"core.{fx.pid}")
            core_files.wait_for_file(Path(core))
        return core, saved, fx.stderr(), t1


def check_minutes(report, case, exe, core, facts, tmp):
    gdb = subprocess.run(["gdb", "-batch", "-nx", str(exe), "-ex", "p/x &'runtime.sched'.lastpoll"],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"= (?:\(.*?\) )?(0x[0-9a-f]+)", gdb.stdout)
    if not report.check(m is not None, f"minutes:{case}", f"  gdb: {gdb.stdout} {gdb.stderr}"):
        return
    now = facts["gc_after_ns"] + 150 * 10**9
    bad = patched(core, load_segments(core), [(int(m.group(1), 16), struct.pack("<q", now))],
                  os.path.join(tmp, "minutes"))
    lo, hi = now - facts["gc_after_ns"], now - facts["gc_before_ns"]
    minutes = {lo // (60 * 10**9), hi // (60 * 10**9)}
    doc = ifxray_json(bad)
    waiters = [g for g in doc["goroutines"] if any(f["function"] in WAITERS for f in g["frames"])]
    _, text, _ = fixtures.run_ifxray(["frames", "--no-group", bad])
    _, go, _ = fixtures.run_ifxray(["frames", "--format", "go", bad])
    bad_ones = [f"  goroutine {g['id']}: wait_ns {g['wait_ns']} estimated {g['wait_estimated']}\n"
                for g in waiters if not (g["wait_ns"] is not None and lo <= g["wait_ns"] <= hi
                                         and g["wait_estimated"])]
    n = min(minutes)
    for g in waiters:
        if f"[chan receive, at least {n} minutes]: {g['id']}\n" not in text:
            bad_ones.append(f"  goroutine {g['id']}: no 'at least {n} minutes' in text\n")
        if f"goroutine {g['id']} [chan receive, {n} minutes]:" not in go:
            bad_ones.append(f"  goroutine {g['id']}: no '{n} minutes' in go format\n")
    report.check(len(waiters) == 8 and len(minutes) == 1 and not bad_ones, f"minutes:{case}",
                 f"  {len(waiters)} waiters, minutes {minutes}\n" + "".join(bad_ones[:6]))
    os.unlink(bad)


def check_crash(report, case, tc, exe, cores, tmp):
    core, saved, stderr, t1 = crash_core(exe, cores)
    try:
        want = json.loads(saved["labels.json"])
        facts = json.loads(saved["facts.json"])
        prof = os.path.join(tmp, "runtime.pb.gz")
        with open(prof, "wb") as f:
            f.write(saved["goroutine.pb.gz"])
        runtime_raw, runtime_starts = parse_raw(tc.tool("pprof", "-raw", prof))
        outdir = Path(tmp)
        (outdir / "stack.txt").write_text(saved["stack.txt"])
        doc = ifxray_json(core)
        case = f"crash-core:{case}"
        check_labels(report, case, doc, want)
        check_waits(report, case, doc, facts, facts["gc2_before_ns"], t1, True)
        check_pprof(report, case, tc, core, runtime_raw, runtime_starts, tmp)
        check_text(report, case, core)
        check_filters(report, case, core, outdir, want, facts,
                      facts["gc2_before_ns"] - facts["gc_after_ns"], t1 - facts["gc_before_ns"])
        check_crash_frames(report, case, doc, crash_traceback(stderr))
        if case.endswith("go1.26/plain"):
            check_minutes(report, case, exe, core, facts, tmp)
    finally:
        os.unlink(core)


def check_filters(report, case, target, outdir, want, facts, shortest, longest):
    """shortest/longest: bounds of every waiter's wait as ifxray may measure it."""
    stack = (outdir / "stack.txt").read_text()
    runtime_ids = {int(m) for m in re.findall(r"^goroutine (\d+) \[", stack, re.M)}
    user = ids(target)
    report.check(set(user) == runtime_ids, f"filter-nosystem:{case}",
                 f"  runtime.Stack: {sorted(runtime_ids)}\n  ifxray: {sorted(user)}")
    every = ids(target, "--system")
    extra = {i: g["start_function"] for i, g in every.items() if i not in user}
    report.check(set(user) <= set(every) and extra
                 and all(f.startswith("runtime.") for f in extra.values()),
                 f"filter-system:{case}", f"  added by --system: {extra}")
    two = sorted(int(i) for i in want)[:2]
    got = ids(target, "--goroutine", str(two[0]), "--goroutine", str(two[1]))
    report.check(sorted(got) == two, f"filter-goroutine:{case}", f"  want {two}, got {sorted(got)}")
    half = f"{shortest / 2 / 1e6:.3f}ms"
    kept = ids(target, "--system", "--min-wait", half)
    waiters = {i for i, g in every.items() if any(f["function"] in WAITERS for f in g["frames"])}
    report.check(waiters <= set(kept) and all(g["wait_ns"] is not None for g in kept.values()),
                 f"filter-min-wait:{case}",
                 f"  --min-wait {half}: kept {sorted(kept)}, waiters {sorted(waiters)}")
    none = ids(target, "--system", "--min-wait", f"{longest / 1e9 + 60:.0f}s")
    report.check(not none, f"filter-min-wait-none:{case}", f"  kept {sorted(none)}")
    rc, _, err = fixtures.run_ifxray(["frames", "--min-wait", "5 minutes", str(target)])
    report.check(rc == 2 and "--min-wait" in err, f"filter-min-wait-bad:{case}",
                 f"  exit {rc}: {err}")


def check_wrappers(report, case, doc, outdir):
    blocks = {int(b.split()[1]): b for b in (outdir / "stack.txt").read_text().split("\n\n")
              if b.startswith("goroutine ")}
    seen, bad = 0, []
    for g in doc["goroutines"]:
        block = blocks.get(g["id"])
        for f in g["frames"]:
            if not f["wrapper"] or block is None:  # system goroutines are not in runtime.Stack
                continue
            seen += 1
            if f["shown"] or f"\n{f['function']}(" in block:
                bad.append(f"  goroutine {g['id']}: {f['function']} shown={f['shown']}, "
                           f"in runtime.Stack: {f['function'] + '(' in block}\n")
    report.check(seen >= 4 and not bad, f"wrappers:{case}", f"  {seen} wrapper frames\n" + "".join(bad))


def check_pprof(report, case, tc, target, runtime_raw, runtime_starts, tmp):
    prof = os.path.join(tmp, "ifxray.pb.gz")
    with open(prof, "wb") as f:
        p = subprocess.run([fixtures.ifxray_path(), "frames", "--format", "pprof", str(target)],
                           stdout=f, stderr=subprocess.PIPE, timeout=300)
    if not report.check(p.returncode == 0, f"pprof-run:{case}", f"  {p.stderr[-500:]}"):
        return
    got, starts = parse_raw(tc.tool("pprof", "-raw", prof))
    want, got = without_main(runtime_raw), without_main(got)
    detail = "".join(f"  missing {n} x {s} {lb}\n" for (s, lb), n in (want - got).items())
    detail += "".join(f"  extra   {n} x {s} {lb}\n" for (s, lb), n in (got - want).items())
    report.check(not detail and sum(want.values()) >= 8, f"pprof-labels:{case}", detail)
    shared = runtime_starts.keys() & starts.keys()
    diff = [f"  {fn}: runtime s={runtime_starts[fn]}, ifxray s={starts[fn]}\n"
            for fn in sorted(shared) if runtime_starts[fn] != starts[fn]]
    report.check(len(shared) >= 8 and not diff, f"start-line:{case}",
                 f"  {len(shared)} shared functions\n" + "".join(diff[:5]))


def check_text(report, case, target):
    rc, out, err = fixtures.run_ifxray(["frames", "--no-group", str(target)])
    report.check(rc == 0 and "labels: shard=0 worker=a" in out, f"text:{case}",
                 f"  exit {rc}; no 'labels: shard=0 worker=a' line\n{err[-300:]}")


def main():
    tcs = fixtures.setup("frames_labels")
    report = fixtures.Report("frames_labels")
    # ctest's timeout sends SIGTERM: unwind so that core_pattern is restored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        core_files.allow_cores()
    except fixtures.FixtureError as e:
        report.error("setup", e)
    cores = core_files.core_dir()
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, FIXTURE)) as fx, \
                        tempfile.TemporaryDirectory() as tmp:
                    want = json.loads((fx.outdir / "labels.json").read_text())
                    facts = json.loads((fx.outdir / "facts.json").read_text())
                    runtime_raw, runtime_starts = parse_raw(
                        tc.tool("pprof", "-raw", str(fx.outdir / "goroutine.pb.gz")))
                    t0 = mono()
                    doc = ifxray_json(fx.pid)
                    t1 = mono()
                    check_labels(report, f"live:{case}", doc, want)
                    check_wrappers(report, f"live:{case}", doc, fx.outdir)
                    check_waits(report, f"live:{case}", doc, facts, t0, t1, False)
                    check_pprof(report, f"live:{case}", tc, fx.pid, runtime_raw, runtime_starts,
                                tmp)
                    check_text(report, f"live:{case}", fx.pid)
                    check_filters(report, f"live:{case}", fx.pid, fx.outdir, want, facts,
                                  t0 - facts["gc_after_ns"], mono() - facts["gc_before_ns"])
                    core = os.path.join(tmp, "core")
                    t0 = mono()
                    rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                    t1 = mono()
                    if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                        doc = ifxray_json(core)
                        check_labels(report, f"core:{case}", doc, want)
                        check_waits(report, f"core:{case}", doc, facts, t0, t1, False)
                        check_pprof(report, f"core:{case}", tc, core, runtime_raw,
                                    runtime_starts, tmp)
                        os.unlink(core)
                    if (tc.name, variant) in GDB_CASES:
                        gdb = subprocess.run(["gdb", "-p", str(fx.pid), "-batch", "-ex",
                                              f"gcore {core}"], capture_output=True, text=True,
                                             timeout=300)
                        t1 = mono()
                        if report.check(os.path.exists(core), f"gdb-gcore:{case}",
                                        f"  gdb: {gdb.stderr[-500:]}"):
                            doc = ifxray_json(core)
                            check_labels(report, f"gdb-core:{case}", doc, want)
                            check_waits(report, f"gdb-core:{case}", doc, facts,
                                        facts["gc2_before_ns"], t1, True)
            except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
                report.error(f"run:{case}", e)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    check_crash(report, case, tc, fixtures.exe_path(tc, variant, FIXTURE), cores,
                                tmp)
            except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
                report.error(f"crash:{case}", e)
    shutil.rmtree(cores, ignore_errors=True)
    report.finish()


if __name__ == "__main__":
    main()
