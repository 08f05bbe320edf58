"""`ifxray frames --format pprof` and `--format folded` against the runtime's goroutine profile.

Oracle: at READY the zoo fixture writes runtime/pprof's own goroutine profile
(pprof.Lookup("goroutine").WriteTo(w, 0), goroutine.pb.gz) right after runtime.Stack. For every
toolchain x variant, on the live process and on ifxray's gcore of it, ifxray's profile is read by
the same toolchain's `go tool pprof` and must give:

  -raw     the same multiset of (stack, goroutine count) as the runtime's profile, a stack being
           its locations innermost first, each location its lines (function, file, line)
           innermost first, so inlined calls must share their caller's location as the
           runtime's do;
  -traces  the same multiset of (function names with pprof's "(inline)" marks, count);
  -top     no error, and the same total number of goroutines as the runtime's profile.

`--format folded` must give, per stack, the same counts as the runtime's profile with the
function names of its lines. Folded stacks are not cut at the runtime's profile depth (32
frames before Go 1.23, 128 since): the oracle compares their innermost DEPTH frames (the zoo's
300-deep recursion is the stack that is cut; it has no inlined call at the cut, where the
runtime would keep the inlining caller's lines).

Excluded, on both sides, are exactly two goroutines: the one whose stack holds main.main and the
one whose stack holds main.spin. In the runtime's profile the first is the main goroutine writing
the profile (running; its stack is inside runtime/pprof); when ifxray reads the process it has
moved on to waiting for stdin. The second loops forever without parking, so its pc differs from
one read to the next. Every other
goroutine of the zoo is parked before the profile is written and stays so: nothing else is
excluded, and a missing, extra or different stack fails.
"""
import collections
import os
import re
import subprocess
import tempfile

import fixtures
import pprof_raw

TOTAL = re.compile(r"Showing nodes accounting for (\d+), [\d.]+% of (\d+) total")
EXCLUDED = ("main.main", "main.spin")


def depth(tc):
    """The runtime's goroutine profile depth limit for this toolchain."""
    minor = int(re.match(r"go1\.(\d+)", tc.version).group(1))
    return 128 if minor >= 23 else 32


def parse_raw(text):
    """`pprof -raw` -> Counter{stack: count}; a stack is a tuple of locations innermost
    first, a location a tuple of (function, file, line) innermost first."""
    out = collections.Counter()
    for count, stack, _ in pprof_raw.parse(text):
        out[tuple(tuple(ln[:3] for ln in loc) for loc in stack)] += count
    return out


def parse_traces(text):
    """`pprof -traces` -> Counter{tuple of frame names innermost first: count}."""
    out = collections.Counter()
    for block in text.split("-----------+")[1:]:
        lines = [ln for ln in block.splitlines()[1:] if ln.strip()]
        if not lines:
            continue
        m = re.match(r"^\s*(\d+)\s+(.*)$", lines[0])
        if not m:
            continue
        out[(m.group(2).strip(),) + tuple(ln.strip() for ln in lines[1:])] += int(m.group(1))
    return out


def parse_folded(text):
    """Folded lines -> Counter{tuple of names innermost first: count}."""
    out = collections.Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        out[tuple(reversed(stack.split(";")))] += int(count)
    return out


def names(stack):
    return tuple(fn for loc in stack for fn, _, _ in loc)


def without_main(counter, key_names):
    """(counter without the stacks holding an EXCLUDED function, how many goroutines that
    removed)."""
    kept, removed = collections.Counter(), 0
    for stack, count in counter.items():
        if any(fn in key_names(stack) for fn in EXCLUDED):
            removed += count
        else:
            kept[stack] += count
    return kept, removed


def show(stack):
    if not stack:
        return "(empty stack)"
    return " <- ".join(stack) if isinstance(stack[0], str) else " <- ".join(
        "+".join(f"{fn} {os.path.basename(f)}:{ln}" for fn, f, ln in loc) for loc in stack)


def compare(report, case, want, got, key_names):
    want, want_out = without_main(want, key_names)
    got, got_out = without_main(got, key_names)
    # The busy goroutine has no frames, so no sample, when its thread was caught in the runtime's
    # signal handler (see frames_go.py).
    report.check(want_out == len(EXCLUDED) and got_out in (len(EXCLUDED), len(EXCLUDED) - 1),
                 f"excluded:{case}",
                 f"  goroutines with {EXCLUDED}: runtime {want_out}, ifxray {got_out}; "
                 f"want {len(EXCLUDED)}")
    missing, extra = want - got, got - want
    detail = "".join(f"  missing {n} x {show(s)}\n" for s, n in missing.items())
    detail += "".join(f"  extra   {n} x {show(s)}\n" for s, n in extra.items())
    report.check(not missing and not extra, f"stacks:{case}", detail)
    report.check(sum(want.values()) >= 10, f"coverage:{case}",
                 f"  only {sum(want.values())} goroutines compared")


def ifxray_to_file(args, path):
    with open(path, "wb") as f:
        p = subprocess.run([fixtures.ifxray_path(), *map(str, args)], stdout=f,
                           stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        raise fixtures.FixtureError(f"ifxray {' '.join(map(str, args))} exited {p.returncode}: "
                                    f"{p.stderr.decode(errors='replace').strip()}")


def check_target(report, case, tc, target, runtime_raw, runtime_traces, runtime_total, tmp):
    prof = os.path.join(tmp, "ifxray.pb.gz")
    ifxray_to_file(["frames", "--format", "pprof", target], prof)
    with open(prof, "rb") as f:
        report.check(f.read(2) == b"\x1f\x8b", f"gzip:{case}", "  not a gzip stream")
    compare(report, f"raw:{case}", runtime_raw, parse_raw(tc.tool("pprof", "-raw", prof)),
            names)
    compare(report, f"traces:{case}", runtime_traces,
            parse_traces(tc.tool("pprof", "-traces", prof)),
            lambda s: [n.removesuffix(" (inline)") for n in s])
    m = TOTAL.search(tc.tool("pprof", "-top", prof))
    report.check(m is not None and int(m.group(2)) in (runtime_total, runtime_total - 1),
                 f"top:{case}",
                 f"  pprof -top total: {m.group(2) if m else '(none)'}, runtime {runtime_total}")
    folded_path = os.path.join(tmp, "folded")
    ifxray_to_file(["frames", "--format", "folded", target], folded_path)
    with open(folded_path) as f:
        folded = parse_folded(f.read())
    cut = collections.Counter()
    for stack, count in folded.items():
        cut[stack[:depth(tc)]] += count
    compare(report, f"folded:{case}", collections.Counter(
        {names(s): n for s, n in runtime_raw.items()}), cut, lambda s: s)


def main():
    tcs = fixtures.setup("frames_pprof")
    report = fixtures.Report("frames_pprof")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, "zoo")) as fx, \
                        tempfile.TemporaryDirectory() as tmp:
                    rt = fx.outdir / "goroutine.pb.gz"
                    runtime_raw = parse_raw(tc.tool("pprof", "-raw", rt))
                    runtime_traces = parse_traces(tc.tool("pprof", "-traces", rt))
                    runtime_total = sum(runtime_raw.values())
                    deepest = max((len(names(s)) for s in runtime_raw), default=0)
                    report.check(deepest == depth(tc), f"depth:{case}",
                                 f"  runtime's deepest stack: {deepest}, want {depth(tc)}")
                    check_target(report, f"live:{case}", tc, fx.pid, runtime_raw,
                                 runtime_traces, runtime_total, tmp)
                    core = os.path.join(tmp, "core")
                    rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                    if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                        check_target(report, f"core:{case}", tc, core, runtime_raw,
                                     runtime_traces, runtime_total, tmp)
            except (fixtures.FixtureError, OSError, subprocess.TimeoutExpired) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
