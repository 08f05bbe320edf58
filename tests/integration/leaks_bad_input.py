"""`ifxray leaks` on corrupt heap metadata: unknown with a reason, never a false "proven".

Oracle: a gcore of the leaks fixture, intact, gives the proven set that leaks_oracle checks
against the runtime's own leak profile; the goroutine of main.pathMapWorker is live (a global
map holds the *Worker whose channel it waits on). In copies of the core, the mspan of that
*Worker (found with `info --heap --heap-object`, field offsets from `info --layout`) is damaged:
npages absurd, allocBits pointing at nothing, the span's start moved onto another span, and its
allocation bits and freeindex zeroed (the Worker then looks free: only the span's allocCount
betrays it). Required for each: exit 0 or 1 under a 1 GiB address-space limit and the timeout;
nothing proven that the intact core does not prove; the pathMapWorker goroutine not proven; and
what cannot be decided any more said so: "unknown" verdicts with a reason naming the metadata.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile

import fixtures
from core_patch import MEMORY_LIMIT, file_offset, load_segments

CASES = [("go1.26", "plain"), ("go1.19", "plain"), ("go1.27", "stripped")]


def poke(core, addr, data):
    at = file_offset(load_segments(core), addr, len(data))
    with open(core, "r+b") as f:
        f.seek(at)
        f.write(data)


def peek(core, addr, size):
    at = file_offset(load_segments(core), addr, size)
    with open(core, "rb") as f:
        f.seek(at)
        return f.read(size)


def leaks(core, exe, limit=False):
    cmd = [*(MEMORY_LIMIT if limit else []), fixtures.ifxray_path(), "leaks", "--format", "json",
           "--exe", exe, core]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if p.returncode not in (0, 1):
        raise fixtures.FixtureError(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)


def verdicts(doc):
    return {g: (x["verdict"], x["reason"]) for x in doc["leaks"] for g in x["goroutines"]}


def layout(exe, plain):
    for e in (exe, plain):
        rc, out, err = fixtures.run_ifxray(["info", "--layout", "--format", "json", e])
        if rc != 0:
            raise fixtures.FixtureError(err)
        lay = json.loads(out)["layout"]
        if lay["fields"].get("runtime.mspan.nelems") is not None:
            return {k: v for k, v in lay["fields"].items() if v is not None}
    raise fixtures.FixtureError("no mspan layout")


def damage(report, case, exe, fld, tmp, intact):
    off = lambda name: fld[f"runtime.mspan.{name}"]["offset"]  # noqa: E731
    proven = {g for g, (v, _) in verdicts(leaks(intact, exe)).items() if v == "proven"}
    rc, out, err = fixtures.run_ifxray(["leaks", "--format", "json", "--min-group", "1",
                                        "--fail-on", "never", "--exe", exe, intact])
    sus = [x for x in json.loads(out)["leaks"]
           if (x["created_by"] or {}).get("function") == "main.pathMapWorker"]
    if not report.check(len(sus) == 1 and len(sus[0]["path"]) >= 3, f"intact:{case}",
                        f"  {json.dumps(sus)[:500]}"):
        return
    victim = sus[0]["goroutines"][0]
    worker = fixtures.hexint(sus[0]["path"][-2]["address"])  # the *Worker object
    rc, out, err = fixtures.run_ifxray(["info", "--heap", "--heap-object", hex(worker),
                                        "--format", "json", "--exe", exe, intact])
    span = fixtures.hexint(json.loads(out)["heap_model"]["objects_queried"][0]["mspan"])
    other = fixtures.hexint(sus[0]["path"][-1]["address"])  # the channel: another span
    alloc_bits, = struct.unpack("<Q", peek(intact, span + off("allocBits"), 8))
    ne, fi = fld["runtime.mspan.nelems"], fld["runtime.mspan.freeindex"]
    nelems = int.from_bytes(peek(intact, span + ne["offset"], ne["size"]), "little")
    # (case, pokes, what the report must say): a span skipped leaves what it held unknown; a span
    # whose allocation state is unknown counts every slot allocated (an over-approximation,
    # named in the warnings), which keeps the victim live.
    damages = [
        ("span-npages", [(span + off("npages"), struct.pack("<Q", 1 << 50))], "unknown"),
        ("alloc-bits", [(span + off("allocBits"), struct.pack("<Q", 0xdead0000))],
         "allocBits unreadable"),
        ("span-start", [(span + off("startAddr"), struct.pack("<Q", other & ~0x1fff))],
         "unknown"),
        ("zeroed-bits", [(alloc_bits, b"\0" * ((nelems + 7) // 8)),
                         (span + fi["offset"], b"\0" * fi["size"])], "disagree with their allocCount"),
    ]
    for name, pokes, expect in damages:
        c = f"{case}:{name}"
        core = os.path.join(tmp, name)
        shutil.copy(intact, core)
        for addr, data in pokes:
            poke(core, addr, data)
        try:
            doc = leaks(core, exe, limit=True)
            got = verdicts(doc)
        except (fixtures.FixtureError, subprocess.TimeoutExpired) as e:
            report.error(f"survives:{c}", e)
            continue
        finally:
            os.unlink(core)
        false = {g for g, (v, _) in got.items() if v == "proven"} - proven
        report.check(not false, f"no-false-proven:{c}",
                     f"  proven only when damaged: {sorted(false)[:20]}")
        report.check(got.get(victim, ("live", ""))[0] != "proven", f"victim:{c}",
                     f"  {got.get(victim)}")
        if expect == "unknown":
            unknown = sorted({r for v, r in got.values() if v == "unknown"})
            report.check(unknown and all(unknown), f"unknown:{c}",
                         f"  {len(unknown)} unknown reasons: {unknown[:3]}")
        else:
            report.check(any(expect in w for w in doc["warnings"]), f"named:{c}",
                         f"  no warning with {expect!r}: {doc['warnings'][:5]}")


def main():
    tcs = {tc.name: tc for tc in fixtures.setup("leaks_bad_input")}
    report = fixtures.Report("leaks_bad_input")
    for tcname, variant in CASES:
        case = f"{tcname}/{variant}"
        exe = str(fixtures.exe_path(tcs[tcname], variant, "leaks"))
        try:
            fld = layout(exe, fixtures.exe_path(tcs[tcname], "plain", "leaks"))
            with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir(
                    "/dev/shm") else None) as tmp:
                intact = os.path.join(tmp, "intact")
                with fixtures.run_fixture(exe, timeout=60) as fx:
                    rc, _, err = fixtures.run_ifxray(["gcore", "-o", intact, fx.pid])
                if report.check(rc == 0, f"gcore:{case}", err):
                    damage(report, case, exe, fld, tmp, intact)
        except (fixtures.FixtureError, ValueError, OSError, KeyError, IndexError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
