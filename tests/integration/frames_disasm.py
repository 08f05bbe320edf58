"""`ifxray frames --disasm` against `go tool objdump` of the same executable.

For the zoo fixture of every toolchain (plain builds, where objdump has symbols), every
goroutine's instruction window must be a run of consecutive instructions of objdump's listing of
that function (same addresses, so the same instruction boundaries), each with objdump's
file (base name, as objdump prints it) and line, and exactly one instruction, the one holding the goroutine's pc, marked current.
"""
import json
import os
import re

import fixtures

LINE = re.compile(r"^\s+(\S+):(\d+)\s+0x([0-9a-f]+)\s")


def objdump(tc, exe, func):
    out = tc.tool("objdump", "-s", "^" + re.escape(func) + "$", exe)
    return [(int(m.group(3), 16), m.group(1), int(m.group(2)))
            for m in map(LINE.match, out.splitlines()) if m]


def main():
    tcs = fixtures.setup("frames_disasm")
    report = fixtures.Report("frames_disasm")
    for tc in tcs:
        exe = fixtures.exe_path(tc, "plain", "zoo")
        case = tc.name
        try:
            with fixtures.run_fixture(exe) as fx:
                rc, out, err = fixtures.run_ifxray(["frames", "--format", "json", "--disasm=4",
                                                    fx.pid])
                if not report.check(rc == 0, f"run:{case}", f"  exit {rc}: {err}"):
                    continue
                cache = {}
                for g in json.loads(out)["goroutines"]:
                    if not g["frames"]:
                        continue
                    top = g["frames"][0]
                    func = next((f["function"] for f in g["frames"] if not f["inlined"]), None)
                    if func not in cache:
                        cache[func] = objdump(tc, exe, func)
                    want = cache[func]
                    # objdump prints base names of files
                    got = [(int(i["address"], 16), os.path.basename(i["file"]), i["line"])
                           for i in g["disasm"]]
                    addrs = [a for a, _, _ in want]
                    start = addrs.index(got[0][0]) if got and got[0][0] in addrs else -1
                    ok = start >= 0 and want[start:start + len(got)] == got
                    report.check(ok and len(got) >= 5, f"window:{case}:{g['id']}",
                                 f"  {func}: ifxray {got}\n  objdump {want[max(start, 0):max(start, 0) + len(got)]}")
                    current = [int(i["address"], 16) for i in g["disasm"] if i["current"]]
                    pc = int(top["pc"], 16)
                    nxt = [a for a in addrs if a > (current[0] if current else 0)]
                    report.check(len(current) == 1 and current[0] <= pc < (nxt[0] if nxt else pc + 1),
                                 f"current:{case}:{g['id']}", f"  pc {pc:#x}, current {current}")
        except (fixtures.FixtureError, ValueError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
