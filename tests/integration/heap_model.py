"""The heap model (`ifxray info --heap`) against what the heap fixture's own program sees.

Oracles, written by the fixture itself (GC off after one runtime.GC()):
- each object's address (%p) and size (unsafe.Sizeof): ifxray finds an allocated object that
  contains [addr, addr+size);
- each object's non-nil pointer fields (offset, value): ifxray's pointer words inside the Go value
  are exactly these; scalar fields that hold heap addresses must not be reported, nor anything
  in a pointer-free object (the 1.22+ allocation header lies before the value and is not one);
- the global holding each object (main.gX): a data/bss root of that name (stripped binaries:
  a data/bss root) whose value is the object;
- a goroutine parked in main.parked with a local pointer to an object: a precise stack root of
  that goroutine id, in frame main.parked, reaching it;
- objects allocated after the last GC and dropped (garbage): still allocated;
- runtime.MemStats.HeapAlloc read last before READY: ifxray's allocated bytes, within the little
  the fixture allocates after ReadMemStats; HeapObjects: at least ifxray's count minus that
  (HeapObjects also counts every tiny-allocator value, ifxray each 16-byte block once).
Every toolchain x variant, on the live process and on ifxray's gcore of it. No problems, no
conservative objects or goroutines expected in this quiet process.
"""
import json
import os
import tempfile

import fixtures

SLACK_BYTES = 64 << 10  # the fixture's own allocations after ReadMemStats (stdout, a write)
SLACK_OBJECTS = 64


def heap_info(target, addrs):
    args = ["info", "--heap", "--format", "json"]
    for a in addrs:
        args += ["--heap-object", a]
    rc, out, err = fixtures.run_ifxray([*args, target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray info --heap {target} exited {rc}: {err.strip()}")
    return json.loads(out)["heap_model"]


def check_object(report, case, stripped, o, q):
    addr = int(o["addr"], 16)
    name = o["name"]
    base = fixtures.hexint(q.get("base"))
    if not report.check(q["found"] and base is not None and base <= addr and
                        addr + o["size"] <= base + q["size"], f"bounds:{case}:{name}",
                        f"  want an object holding {o['addr']}+{o['size']}, got {q}"):
        return
    want = {(e["offset"], int(e["value"], 16)) for e in o["pointers"] or []}
    got = {(base + p["offset"] - addr, fixtures.hexint(p["value"])) for p in q["pointers"]}
    inside = {(off, v) for off, v in got if 0 <= off < o["size"]}
    report.check(inside == want, f"pointers:{case}:{name}",
                 f"  missing {sorted(want - inside)[:5]}\n  extra {sorted(inside - want)[:5]}")
    report.check(inside == got, f"no-pointer-outside-value:{case}:{name}",
                 f"  pointer words outside the Go value: {sorted(got - inside)[:5]}")
    if not o["pointers"]:
        report.check(not q["pointers"], f"pointer-free:{case}:{name}", f"  {q['pointers'][:5]}")
    roots = [r for r in q["roots"] if r["kind"] in ("data", "bss")
             and fixtures.hexint(r["value"]) == addr]
    want_where = "global " + o["global"]
    ok = any(r["where"] == want_where or (stripped and r["where"].startswith("global "))
             for r in roots)
    report.check(ok, f"global-root:{case}:{name}",
                 f"  want root {want_where} -> {o['addr']}, got {[r['where'] for r in q['roots']]}")


def check(report, case, stripped, facts, mem, model):
    queries = {int(q["address"], 16): q for q in model["objects_queried"]}
    for o in facts["objects"]:
        check_object(report, case, stripped, o, queries[int(o["addr"], 16)])
    st = queries[int(facts["stack_object"], 16)]
    ok = st["found"] and any(r["kind"] == "stack" and r["goid"] == facts["stack_goid"] and
                             f"frame {facts['stack_func']} " in r["where"] and
                             not r["conservative"] for r in st["roots"])
    report.check(ok, f"stack-root:{case}",
                 f"  want a precise root of goroutine {facts['stack_goid']} in "
                 f"{facts['stack_func']}, got {st}")
    for g in facts["garbage"]:
        report.check(queries[int(g, 16)]["found"], f"garbage-allocated:{case}", f"  {g}")
    diff = model["object_bytes"] - mem["heap_alloc"]
    report.check(0 <= diff <= SLACK_BYTES, f"heap-alloc:{case}",
                 f"  ifxray {model['object_bytes']} bytes, MemStats.HeapAlloc "
                 f"{mem['heap_alloc']} (diff {diff})")
    report.check(model["objects"] - SLACK_OBJECTS <= mem["heap_objects"], f"heap-objects:{case}",
                 f"  ifxray {model['objects']} objects, MemStats.HeapObjects "
                 f"{mem['heap_objects']}")
    report.check(not model["problems"] and model["conservative_objects"] == 0 and
                 model["conservative_goroutines"] == 0, f"clean:{case}",
                 f"  conservative objects {model['conservative_objects']}, goroutines "
                 f"{model['conservative_goroutines']}, problems {model['problems'][:5]}")


def main():
    tcs = fixtures.setup("heap_model")
    report = fixtures.Report("heap_model")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            exe = fixtures.exe_path(tc, variant, "heap")
            try:
                with fixtures.run_fixture(exe) as fx:
                    facts = json.loads((fx.outdir / "heap.json").read_text())
                    mem = json.loads((fx.outdir / "memstats.json").read_text())
                    addrs = ([o["addr"] for o in facts["objects"]] + [facts["stack_object"]] +
                             facts["garbage"])
                    check(report, f"live:{case}", variant == "stripped", facts, mem,
                          heap_info(fx.pid, addrs))
                    with tempfile.TemporaryDirectory() as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, gerr = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {gerr}"):
                            continue
                        check(report, f"core:{case}", variant == "stripped", facts, mem,
                              heap_info(core, addrs))
            except (fixtures.FixtureError, ValueError, OSError, KeyError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
