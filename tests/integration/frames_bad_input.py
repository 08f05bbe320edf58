"""`ifxray frames` on corrupt target memory: partial results with reasons, never a crash.

The zoo fixture is copied into a core with `ifxray gcore`; then bytes of the runtime's own
structures in that core are overwritten (the addresses come from `ifxray info --layout`, the
file offsets from the core's program headers): allgs claiming 2^40 goroutines, allgs pointing
at nothing, one goroutine's saved stack pointer pointing outside its stack, a return address on
a stack pointing at garbage, and a g struct zeroed. Required for every case: exit 0 within the
timeout and a 1 GiB address-space limit, the untouched goroutines still printed exactly as in
the intact core, and the damage reported (a warning on stderr, or the goroutine's own reason).
"""
import json
import os
import re
import struct
import subprocess
import tempfile

import fixtures
from core_patch import MEMORY_LIMIT, file_offset, load_segments


def read_u64(core, segs, addr):
    with open(core, "rb") as f:
        f.seek(file_offset(segs, addr))
        return struct.unpack("<Q", f.read(8))[0]


def patched(core, segs, writes, path):
    with open(core, "rb") as f:
        data = bytearray(f.read())
    for addr, value in writes:
        data[file_offset(segs, addr):file_offset(segs, addr) + len(value)] = value
    with open(path, "wb") as f:
        f.write(data)
    return path


def frames(core, fmt="json"):
    cmd = MEMORY_LIMIT + [fixtures.ifxray_path(), "frames", "--format", fmt, core]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "", "timed out"
    return p.returncode, p.stdout, p.stderr


def goroutines(doc):
    return {g["id"]: g for g in doc["goroutines"]}


def main():
    tcs = fixtures.setup("frames_bad_input")
    report = fixtures.Report("frames_bad_input")
    tc = next(t for t in tcs if t.name == "go1.26")
    exe = fixtures.exe_path(tc, "plain", "zoo")
    rc, out, err = fixtures.run_ifxray(["info", "--layout", "--format", "json", exe])
    lay = json.loads(out)["layout"]
    allgs = int(lay["globals"]["runtime.allgs"], 16)
    sched_sp = lay["fields"]["runtime.g.sched.sp"]["offset"]
    with tempfile.TemporaryDirectory() as tmp, fixtures.run_fixture(exe) as fx:
        core = os.path.join(tmp, "core")
        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
        if not report.check(rc == 0, "gcore", f"  exit {rc}: {err}"):
            report.finish()
        segs = load_segments(core)
        rc, out, err = frames(core)
        intact = goroutines(json.loads(out))
        array = read_u64(core, segs, allgs)
        count = read_u64(core, segs, allgs + 8)
        gs = [read_u64(core, segs, array + 8 * i) for i in range(count)]
        # A parked user goroutine to damage; the others must come through unchanged.
        victim = next(g for g in intact.values()
                      if g["state"] == "chan receive" and len(g["frames"]) >= 2)
        victim_g = next(g for g in gs if read_u64(core, segs, g + lay["fields"]["runtime.g.goid"]["offset"]) == victim["id"])
        frame1 = victim["frames"][1]
        ret_slot = int(frame1["sp"], 16) - 8  # the return address into frame 1
        cases = {
            "allgs claims 2^40": [(allgs + 8, struct.pack("<Q", 1 << 40)),
                                  (allgs + 16, struct.pack("<Q", 1 << 40))],
            "allgs points at nothing": [(allgs, struct.pack("<Q", 0x10))],
            "stack pointer outside the stack": [(victim_g + sched_sp, struct.pack("<Q", 0x10))],
            "return address is garbage": [(ret_slot, struct.pack("<Q", 0xdeadbeef))],
            "g struct zeroed": [(victim_g, bytes(64))],
        }
        for name, writes in cases.items():
            path = patched(core, segs, writes, os.path.join(tmp, "bad"))
            rc, out, err = frames(path)
            if not report.check(rc == 0, f"exit:{name}", f"  exit {rc}\n  stderr: {err[-800:]}"):
                continue
            got = goroutines(json.loads(out))
            damaged = victim["id"]
            whole = name.startswith("allgs points")
            if whole:
                report.check(not got and "allgs" in err, f"reported:{name}",
                             f"  goroutines {sorted(got)}, stderr {err!r}")
                continue
            others = [i for i in intact if i != damaged]
            same = [i for i in others if got.get(i) == intact[i]]
            report.check(len(same) == len(others), f"others-intact:{name}",
                         f"  unchanged {len(same)} of {len(others)}: differing "
                         f"{sorted(set(others) - set(same))}")
            vg = got.get(damaged)
            reported = ("allgs" in err) or (vg is not None and vg["error"]) or \
                (vg is None and name == "g struct zeroed")
            report.check(bool(reported), f"reported:{name}",
                         f"  victim {vg}\n  stderr {err!r}")
            rc2, text, _ = frames(path, "go")
            report.check(rc2 == 0 and re.search(r"goroutine \d+ \[", text), f"go-format:{name}",
                         f"  exit {rc2}")
    report.finish()


if __name__ == "__main__":
    main()
