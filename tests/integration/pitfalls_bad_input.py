"""`ifxray pitfalls` and `frames --locals` on corrupt target memory: partial results, no crash.

The typednil fixture is copied into a core with `ifxray gcore`; then package-level variables in
that core are overwritten (addresses from `go tool nm` of the plain build, file offsets from the
core's program headers): the itab word of main.gErr points outside the type sections, the slice
main.gSlice claims 2^40 elements, the pointer main.gCfg points at unmapped memory, and the map
main.gMap's header claims a directory (swiss) or bucket count (classic) of 2^40. main.gCycle is
a cyclic struct graph in every run. Required, under a 1 GiB address-space limit and a timeout:
exit 1 (the undamaged planted typed nils are still found, exactly as planted.json lists them),
the damaged interfaces not reported, a warning naming main.gErr's and main.gCfg's unreadable
interfaces; `frames --locals` exits 0 and still prints the planted locals.
"""
import json
import os
import struct
import subprocess
import tempfile

import fixtures
from core_patch import MEMORY_LIMIT, file_offset, load_segments
import oracles


def run(args):
    try:
        p = subprocess.run(MEMORY_LIMIT + [fixtures.ifxray_path(), *args], capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "", "timed out"
    return p.returncode, p.stdout, p.stderr


def main():
    tcs = fixtures.setup("pitfalls_bad_input")
    report = fixtures.Report("pitfalls_bad_input")
    for tc in tcs:
        exe = fixtures.exe_path(tc, "plain", "typednil")
        case = tc.name
        try:
            syms = {name: addr for addr, _size, _kind, name in oracles.nm(tc, exe)}
            with fixtures.run_fixture(exe) as fx, tempfile.TemporaryDirectory() as d:
                planted = json.loads((fx.outdir / "planted.json").read_text())["planted"]
                core = os.path.join(d, "core")
                rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                    continue
                segs = load_segments(core)
                data = bytearray(open(core, "rb").read())

                def put(addr, value):
                    o = file_offset(segs, addr, len(value))
                    data[o:o + len(value)] = value

                def word(addr):
                    return struct.unpack_from("<Q", data, file_offset(segs, addr))[0]

                put(syms["main.gErr"], struct.pack("<Q", 0x1234))
                put(syms["main.gSlice"] + 8, struct.pack("<QQ", 1 << 40, 1 << 40))
                put(syms["main.gCfg"], struct.pack("<Q", 0xdead0000))
                hmap = word(syms["main.gMap"])
                # swiss: dirLen at 24 (internal/runtime/maps.Map); classic: B at 9 (runtime.hmap)
                if tc.name == "go1.19":
                    put(hmap + 9, bytes([63]))
                else:
                    put(hmap + 16, struct.pack("<QQ", 0x10000, 1 << 40))
                bad = os.path.join(d, "bad.core")
                with open(bad, "wb") as f:
                    f.write(data)
                damaged = {"global main.gErr", "global main.gCfg.Logger", 'global main.gMap["bad"]'}
                rc, out, err = run(["pitfalls", "--format", "json", "--exe", exe, bad])
                if not report.check(rc == 1, f"exit:{case}", f"  exit {rc}: {err[-2000:]}"):
                    continue
                doc = json.loads(out)
                got = {p["location"]: p["dynamic_type"] for p in doc["pitfalls"]}
                for p in planted:
                    if not p["typed_nil"]:
                        continue
                    if p["location"] in damaged:
                        report.check(p["location"] not in got, f"damaged:{case}:{p['location']}",
                                     f"  reported: {got.get(p['location'])}")
                    else:
                        report.check(got.get(p["location"]) == p["type"],
                                     f"kept:{case}:{p['location']}", f"  got {got.get(p['location'])}")
                warnings = "\n".join(doc["warnings"])
                for name in ("main.gErr", "main.gCfg"):
                    report.check(f"global {name}" in warnings, f"warning:{case}:{name}",
                                 f"  warnings: {warnings}")
                rc, out, err = run(["frames", "--locals", "--format", "json", "--exe", exe, bad])
                ok = rc == 0 and any(v["name"] == "captured" and "value" in v
                                     for g in json.loads(out or "{}").get("goroutines", [])
                                     for f in g["frames"] for v in f.get("locals", []))
                report.check(ok, f"locals:{case}", f"  exit {rc}: {err[-2000:]}")
        except (fixtures.FixtureError, ValueError, KeyError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
