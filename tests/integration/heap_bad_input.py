"""The heap model on corrupt heap metadata: problems listed, affected spans skipped, never a
crash, hang or unbounded allocation.

The heap fixture is copied into a core with `ifxray gcore`; then the runtime's heap metadata in
that core is overwritten (addresses from `ifxray info --layout` and from `info --heap` on the
intact core, which names each object's mspan; file offsets from the core's program headers):
mheap_.allspans claiming 2^40 spans, one span's npages absurd, its allocBits pointing
at nothing, the allocation header of the >512-byte object pointing at garbage, one span's
start moved onto another span, and (Go 1.24+) a GC mask built on first use caught while the
runtime builds it (the word holds &runtime.inProgress: the object must be scanned
conservatively, not with the bytes there read as its mask). Required for each case: exit 0 within the timeout and a 1 GiB
address-space limit, the damage named in the heap problems, and the objects in untouched spans
still found with exactly the pointer words of the intact core.
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


def peek_u64(elf, addr):
    """The word at addr of a core's memory, or of an executable's file-backed segments."""
    at = file_offset(load_segments(elf), addr, 8)
    with open(elf, "rb") as f:
        f.seek(at)
        return struct.unpack("<Q", f.read(8))[0]


def heap_model(core, exe, addrs, limit=False):
    args = ["info", "--heap", "--format", "json", "--exe", exe]
    for a in addrs:
        args += ["--heap-object", a]
    cmd = [*(MEMORY_LIMIT if limit else []), fixtures.ifxray_path(), *args, core]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise fixtures.FixtureError(f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)["heap_model"]


def layout_of(exe, plain_exe):
    rc, out, err = fixtures.run_ifxray(["info", "--layout", "--format", "json", exe])
    if rc != 0:
        raise fixtures.FixtureError(err)
    lay = json.loads(out)["layout"]
    if lay["fields"].get("runtime.mspan.nelems") is None:  # stripped: the plain build's DWARF
        rc, out, err = fixtures.run_ifxray(["info", "--layout", "--format", "json", plain_exe])
        lay = json.loads(out)["layout"]
    return lay


def main():
    tcs = {tc.name: tc for tc in fixtures.setup("heap_bad_input")}
    report = fixtures.Report("heap_bad_input")
    for tcname, variant in CASES:
        case = f"{tcname}/{variant}"
        tc = tcs[tcname]
        exe = str(fixtures.exe_path(tc, variant, "heap"))
        try:
            lay = layout_of(exe, fixtures.exe_path(tc, "plain", "heap"))
            fld = {k: v for k, v in lay["fields"].items() if v is not None}
            mheap = fixtures.hexint(lay["globals"]["runtime.mheap_"])
            with fixtures.run_fixture(exe) as fx, tempfile.TemporaryDirectory() as tmp:
                facts = json.loads((fx.outdir / "heap.json").read_text())
                objs = {o["name"]: o for o in facts["objects"]}
                addrs = [o["addr"] for o in facts["objects"]]
                intact = os.path.join(tmp, "intact")
                rc, _, err = fixtures.run_ifxray(["gcore", "-o", intact, fx.pid])
                if not report.check(rc == 0, f"gcore:{case}", err):
                    continue
                base = heap_model(intact, exe, addrs)
                q = {x["address"]: x for x in base["objects_queried"]}
                node_q, big_q = q[objs["Node"]["addr"]], q[objs["Big"]["addr"]]
                big_span = fixtures.hexint(big_q["mspan"])

                def field(name):
                    return fld[name]["offset"]

                damages = [
                    ("allspans-len", "more than the bound",
                     [(mheap + field("runtime.mheap.allspans.len"), struct.pack("<Q", 1 << 40))]),
                    ("span-npages", "skipped",
                     [(big_span + field("runtime.mspan.npages"), struct.pack("<Q", 1 << 50))]),
                    ("alloc-bits", "allocBits unreadable",
                     [(big_span + field("runtime.mspan.allocBits"), struct.pack("<Q", 0xdead0000))]),
                    ("span-overlap", "overlaps",
                     [(big_span + field("runtime.mspan.startAddr"),
                       struct.pack("<Q", fixtures.hexint(node_q["base"]) & ~0x1fff))]),
                ]
                if tcname != "go1.19":
                    hdr = fixtures.hexint(big_q["base"])
                    damages.append(("alloc-header", "", [(hdr, struct.pack("<Q", 0xdead0000))]))
                if tcname != "go1.19" and variant == "plain":
                    # Giant's GC mask is built on first use; while the runtime builds it, the
                    # word its type's GCData points at holds &runtime.inProgress. Caught there,
                    # the mask is unknown (the object is scanned conservatively), never the
                    # bytes around runtime.inProgress read as a mask.
                    giant_span = fixtures.hexint(q[objs["Giant"]["addr"]]["mspan"])
                    typ = peek_u64(intact, giant_span + field("runtime.mspan.largeType"))
                    slot = peek_u64(exe, typ + field("internal/abi.Type.GCData"))  # .rodata
                    busy = fixtures.symbol(exe, "runtime.inProgress")
                    damages.append(("mask-in-progress", "", [(slot, struct.pack("<Q", busy))]))
                for name, want, pokes in damages:
                    core = os.path.join(tmp, name)
                    shutil.copy(intact, core)
                    for addr, data in pokes:
                        poke(core, addr, data)
                    try:
                        got = heap_model(core, exe, addrs, limit=True)
                    except (fixtures.FixtureError, subprocess.TimeoutExpired) as e:
                        report.error(f"survives:{case}:{name}", e)
                        continue
                    report.check(True, f"survives:{case}:{name}")
                    if want:
                        report.check(any(want in p for p in got["problems"]),
                                     f"named:{case}:{name}",
                                     f"  want a problem with {want!r}, got {got['problems'][:5]}")
                    gq = {x["address"]: x for x in got["objects_queried"]}
                    if name == "allspans-len":
                        continue  # every span is still read, up to the bound
                    # Objects of untouched spans keep exactly their pointer words.
                    for oname in ("Node", "Small"):
                        a = objs[oname]["addr"]
                        if name == "span-overlap" and oname == "Node":
                            continue
                        report.check(gq[a] == q[a], f"untouched:{case}:{name}:{oname}",
                                     f"  intact {q[a]}\n  damaged {gq[a]}")
                    if name == "alloc-header":
                        big = gq[objs["Big"]["addr"]]
                        report.check(got["conservative_objects"] >= 1 and big["found"],
                                     f"conservative:{case}:{name}",
                                     f"  {got['conservative_objects']} conservative objects")
                    if name == "mask-in-progress":
                        a = objs["Giant"]["addr"]
                        report.check(got["conservative_objects"] > base["conservative_objects"]
                                     and gq[a] == q[a], f"conservative:{case}:{name}",
                                     f"  {got['conservative_objects']} conservative objects "
                                     f"(intact {base['conservative_objects']})\n"
                                     f"  intact {q[a]}\n  damaged {gq[a]}")
        except (fixtures.FixtureError, ValueError, OSError, KeyError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
