"""Load speed of `ifxray info` on a Go executable with 50,000 functions, against go's own tools.

Builds (once, cached) the program from gen_many_funcs.py with go1.26, plain and stripped, then
measures the median wall time of
  ifxray --version                                  (process start, for reference)
  ifxray info --format json EXE                     (plain and stripped)
  ifxray info --format json --pc P1 ... --pc P1000 EXE  (plain and stripped)
  go version -m EXE
  go tool addr2line EXE < the same 1,000 pcs   (and the tool binary directly: go tool -n)
and prints functions/s and the ratios. It checks that every run succeeds and that ifxray's
file:line for the 1,000 pcs equals addr2line's; it never fails on time.

Full bench (about 1-3 minutes the first time, for the build):
    cmake --build build
    IFXRAY=build/ifxray python3 tests/bench/run_info_bench.py
  options: --functions 50000 --runs 15 --pcs 1000 --dir build/bench (or $IFXRAY_BENCH_DIR)
ctest runs `run_info_bench.py --smoke` (2,000 functions, 3 runs) as bench_smoke, only to prove
that the bench works: `ctest --test-dir build -L bench`.
"""
import argparse
import hashlib
import json
import os
import random
import resource
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import gen_many_funcs  # noqa: E402

GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false", "GOWORK": "off",
          "GOPROXY": "off", "CGO_ENABLED": "0"}


class BenchError(Exception):
    pass


def env():
    e = dict(os.environ)
    e.pop("GOROOT", None)
    e.update(GO_ENV)
    return e


def run(cmd, input=None, cwd=None, timeout=1800):
    p = subprocess.run(cmd, input=input, capture_output=True, text=True, cwd=cwd, env=env(),
                       timeout=timeout)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))[:300]} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p.stdout


def go_version():
    out = run(["go", "version"]).strip()
    m = re.match(r"go version (go1\.26\S*) ", out)
    if not m:
        raise BenchError(f"`go version` says {out!r}; the bench builds with go1.26 (on PATH)")
    return m.group(1)


def build(root, functions, version):
    """The plain and stripped executables, built once per generator/size/toolchain."""
    tag = gen_many_funcs.source_hash(functions, 2500, 500)
    d = root / f"manyfuncs-{functions}-{tag}"
    plain, stripped = d / "manyfuncs", d / "manyfuncs-stripped"
    stamp = d / "stamp"
    if stamp.is_file() and stamp.read_text() == version and plain.is_file() and stripped.is_file():
        return plain, stripped, False
    src = d / "src"
    gen_many_funcs.generate(src, functions, 2500, 500)
    t0 = time.monotonic()
    run(["go", "build", "-o", str(plain), "."], cwd=src)
    run(["go", "build", "-ldflags=-s -w", "-o", str(stripped), "."], cwd=src)
    print(f"built {functions} functions with {version} in {time.monotonic() - t0:.0f}s: {d}",
          flush=True)
    stamp.write_text(version)
    return plain, stripped, True


def medians_ms(cmds, runs):
    """Median wall and CPU (user+sys, children included) ms of cmds {name: (argv, stdin or
    None)}, run round-robin (one warm-up round first) so that a busy machine slows them all
    alike; and the stdout of each command's first run."""
    times = {name: [] for name in cmds}
    cpu = {name: [] for name in cmds}
    first = {}
    for r in range(runs + 1):
        for name, (cmd, stdin) in cmds.items():
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env())
            dt = (time.perf_counter() - t0) * 1000
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                raise BenchError(f"{' '.join(map(str, cmd))[:300]} exited {p.returncode}: "
                                 f"{p.stderr.strip()[-1000:]}")
            if r == 0:
                first[name] = p.stdout
            else:
                times[name].append(dt)
                cpu[name].append((u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime) * 1000)
    return ({name: statistics.median(v) for name, v in times.items()},
            {name: statistics.median(v) for name, v in cpu.items()}, first)


def sample_pcs(exe, n, seed=1):
    """n pcs inside generated functions (entry or an instruction-ish offset), from go tool nm."""
    funcs = []
    for line in run(["go", "tool", "nm", "-size", str(exe)]).splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "Tt" and re.search(r"/p\d+\.F\d+$", f[3]):
            funcs.append((int(f[0], 16), int(f[1]), f[3]))
    if len(funcs) < n:
        raise BenchError(f"only {len(funcs)} generated functions in go tool nm")
    rng = random.Random(seed)
    return sorted(entry + (0 if rng.random() < 0.3 else rng.randrange(size))
                  for entry, size, _ in rng.sample(funcs, n))


def addr2line(tool, exe, pcs):
    out = run([*tool, str(exe)], input="".join(f"{pc:#x}\n" for pc in pcs)).splitlines()
    if len(out) != 2 * len(pcs):
        raise BenchError(f"addr2line printed {len(out)} lines for {len(pcs)} pcs")
    return [(out[2 * i], out[2 * i + 1]) for i in range(len(pcs))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--pcs", type=int, default=1000)
    ap.add_argument("--smoke", action="store_true", help="2,000 functions, 3 runs, 100 pcs")
    ap.add_argument("--dir", default=os.environ.get("IFXRAY_BENCH_DIR", str(REPO / "build" / "bench")))
    ap.add_argument("--ifxray", default=os.environ.get("IFXRAY", str(REPO / "build" / "ifxray")))
    a = ap.parse_args()
    if a.smoke:
        a.functions, a.runs, a.pcs = 2000, 3, 100
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed, failed = passed + bool(ok), failed + (not ok)
        if not ok:
            print(f"FAIL {what}", flush=True)
        return ok

    try:
        ifx = str(Path(a.ifxray).resolve())
        if not os.access(ifx, os.X_OK):
            raise BenchError(f"ifxray {ifx} is not an executable (set IFXRAY or --ifxray)")
        version = go_version()
        root = Path(a.dir)
        root.mkdir(parents=True, exist_ok=True)
        plain, stripped, _ = build(root, a.functions, version)
        pcs = sample_pcs(plain, a.pcs)
        tool = run(["go", "tool", "-n", "addr2line"]).strip()  # the built tool's own path

        pc_args = [x for pc in pcs for x in ("--pc", hex(pc))]
        stdin = "".join(f"{pc:#x}\n" for pc in pcs)
        t, c, out = medians_ms({
            "start": ([ifx, "--version"], None),
            "info": ([ifx, "info", "--format", "json", str(plain)], None),
            "info_stripped": ([ifx, "info", "--format", "json", str(stripped)], None),
            "info_pcs": ([ifx, "info", "--format", "json", *pc_args, str(plain)], None),
            "info_pcs_stripped": ([ifx, "info", "--format", "json", *pc_args, str(stripped)], None),
            "version_m": (["go", "version", "-m", str(plain)], None),
            "go_tool_addr2line": (["go", "tool", "addr2line", str(plain)], stdin),
            "addr2line": ([tool, str(plain)], stdin),
        }, a.runs)
        doc = json.loads(out["info"])
        got = json.loads(out["info_pcs"])["pcs"]
        got_stripped = json.loads(out["info_pcs_stripped"])["pcs"]

        # The answers, not only the speed: every pc resolves, to addr2line's file:line.
        nfunc = doc["functions"]
        check(nfunc >= a.functions, f"pclntab has {nfunc} functions, want >= {a.functions}")
        want = addr2line(["go", "tool", "addr2line"], plain, pcs)
        check(len(got) == len(pcs), f"{len(got)} pc results for {len(pcs)} pcs")
        # -s -w keeps the text layout: the stripped build must answer the same.
        check([g.get("frames") for g in got_stripped] == [g.get("frames") for g in got],
              "the stripped build resolves the pcs differently from the plain one")
        bad = []
        for pc, (fn, fl), g in zip(pcs, want, got):
            fr = g.get("frames") or [{}]
            mine = (fr[0].get("function"), f"{fr[0].get('file')}:{fr[0].get('line')}")
            if g.get("error") or mine != (fn, fl):
                bad.append(f"  {pc:#x}: addr2line {fn} {fl}, ifxray {g.get('error') or mine}")
        check(not bad, f"{len(bad)} of {len(pcs)} pcs differ from addr2line:\n" + "\n".join(bad[:10]))
    except (BenchError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        check(False, f"bench: {e}")
        print(f"run_info_bench: {passed} passed, {failed} failed")
        return 1

    size = plain.stat().st_size / 1e6
    print(f"\n{nfunc} functions in pclntab ({a.functions} generated), {version}, "
          f"exe {size:.1f} MB (stripped {stripped.stat().st_size / 1e6:.1f} MB); "
          f"median of {a.runs} runs{' (smoke: no meaning)' if a.smoke else ''}")
    rows = [
        ("ifxray --version (process start)", "start"),
        ("ifxray info --format json EXE", "info"),
        ("ifxray info --format json STRIPPED", "info_stripped"),
        (f"ifxray info --format json --pc x{len(pcs)} EXE", "info_pcs"),
        (f"ifxray info --format json --pc x{len(pcs)} STRIPPED", "info_pcs_stripped"),
        ("go version -m EXE", "version_m"),
        (f"go tool addr2line EXE < {len(pcs)} pcs", "go_tool_addr2line"),
        (f"addr2line binary (go tool -n) < {len(pcs)} pcs", "addr2line"),
    ]
    print(f"  {'':<48} {'wall':>8} {'CPU':>8}")
    for name, key in rows:
        print(f"  {name:<48} {t[key]:6.1f}ms {c[key]:6.1f}ms")
    print(f"  load speed (whole process, wall): {nfunc / t['info'] * 1000:,.0f} functions/s plain, "
          f"{nfunc / t['info_stripped'] * 1000:,.0f} functions/s stripped; by CPU time: "
          f"{nfunc / max(c['info'], 0.01) * 1000:,.0f} and "
          f"{nfunc / max(c['info_stripped'], 0.01) * 1000:,.0f}")
    add = t["info_pcs_stripped"] - t["info_stripped"]
    print(f"  {len(pcs)} pc lookups add {add:.1f} ms to the stripped load "
          f"({add * 1000 / len(pcs):.1f} us per pc, argument parsing included)")
    print(f"  ratios: info / go version -m = {t['info'] / t['version_m']:.2f}; "
          f"info --pc x{len(pcs)} / go tool addr2line = {t['info_pcs'] / t['go_tool_addr2line']:.2f}; "
          f"/ addr2line binary = {t['info_pcs'] / t['addr2line']:.2f}")
    print(f"run_info_bench: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
