"""`ifxray info --pc` inline expansion versus the Go runtime itself.

The inline fixture records, per physical frame of several stacks, the
return address runtime.Callers gave and the logical frames CallersFrames
made of it (innermost first, with Func == nil marking inlined ones). For
each, ifxray is asked about return address - 1 (CallersFrames does the same)
and must give the same frames. PIE runs are mapped back to file addresses
with the load address from /proc/PID/maps."""
import json
import os

import fixtures as F
import oracles as O

INLINED_SITES = {"leafA", "point.move", "ident", "closure-inlined", "other"}


def load_slide(pid, exe):
    """Run-time address minus link-time address of exe's image in pid."""
    real = os.path.realpath(exe)
    starts = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].strip() == real and int(parts[2], 16) == 0:
                starts.append(int(parts[0].split("-")[0], 16))
    loads = O.load_segments(exe)
    first = next((vaddr for off, vaddr, _, _ in loads if off == 0), None)
    if not starts or first is None:
        raise F.FixtureError(f"no offset-0 mapping of {real} in /proc/{pid}/maps, or no PT_LOAD at 0")
    return min(starts) - (first & ~0xfff)


def runtime_records(exe):
    """(frames.json records, slide) from one run of the fixture."""
    with F.run_fixture(exe) as fx:
        slide = load_slide(fx.pid, exe)
        with open(fx.outdir / "frames.json") as f:
            return json.load(f), slide


def normalized(frames):
    """ifxray frames as the runtime prints them (generic shapes as [...])."""
    return [{"function": O.func_name_for_print(str(f.get("function"))), "file": f.get("file"),
             "line": f.get("line"), "inlined": f.get("inlined")} for f in frames]


def check_binary(rep, tc, variant, exe):
    records, slide = runtime_records(exe)
    if (slide != 0) != (variant == "pie"):
        raise F.FixtureError(f"load slide {slide:#x} is unexpected for variant {variant}")
    # Fixture health: these sites sit in inlined bodies (see -gcflags=-m).
    inlined = {r["site"] for r in records if r["frames"][0]["inlined"]}
    deep = [r for r in records if [f["inlined"] for f in r["frames"]] == [True, True, True, False]]
    if not INLINED_SITES <= inlined or not deep:
        raise F.FixtureError(f"fixture lost its inlining: inlined sites {sorted(inlined)}, "
                             f"{len(deep)} three-deep records; check with go build -gcflags=-m")
    pcs = [r["pc"] - slide - 1 for r in records]
    _, got, _ = F.ifxray_info(exe, pcs=pcs)
    by_pc = {F.hexint(r.get("pc")): r for r in got}
    for rec, pc in zip(records, pcs):
        r = by_pc.get(pc, {})
        want = {"frames": rec["frames"], "function": rec["frames"][-1]["function"],
                "entry": rec["entry"] - slide, "error": None}
        have = {"frames": normalized(r.get("frames") or []),
                "function": O.func_name_for_print(str(r.get("function"))),
                "entry": F.hexint(r.get("entry")), "error": r.get("error")}
        detail = (f"  ifxray info --format json --pc {pc:#x} {exe}\n"
                  f"  (runtime: site {rec['site']}, return pc {rec['pc']:#x}, slide {slide:#x})\n"
                  + F.diff_fields(want, have, ["function", "entry", "error"]))
        if want["frames"] != have["frames"]:
            detail += "  frames, runtime:\n" + "".join(f"    {f}\n" for f in want["frames"])
            detail += "  frames, ifxray:\n" + "".join(f"    {f}\n" for f in have["frames"])
        rep.check(want == have, f"{tc.name}/{variant}: pc {pc:#x}", detail)


def main():
    rep = F.Report("info_inline")
    tcs = F.setup(rep.name)
    for tc in tcs:
        for variant in F.VARIANTS:
            exe = os.path.realpath(F.exe_path(tc, variant, "inline"))
            try:
                check_binary(rep, tc, variant, exe)
            except F.FixtureError as e:
                rep.error(f"{tc.name}/{variant}", e)
    rep.finish()


if __name__ == "__main__":
    main()
