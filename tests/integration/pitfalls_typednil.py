"""`ifxray pitfalls` and `frames --locals` against what the typednil fixture's own runtime says.

Oracle: the fixture writes planted.json, every interface it planted (globals, struct fields, slice
elements, map values, a nil map inside interface{}, a parked goroutine's local and argument, a
closure's captured variable) with where it lives, fmt's %T and %v of it and whether reflect calls
it a typed nil. For every toolchain, plain and PIE, live and on an `ifxray gcore` core: every
planted typed nil is reported at its location with the %T dynamic type, nothing else in package
main is reported, the exit status is 1; `frames --locals` prints the planted frame variables with
dynamic type == %T and scalar/string value == %v; on plain cores, when the stop caught the
never-parking goroutine in its loop, its local n, held only in a register, is read from the
thread's registers and agrees with the count the fixture keeps in memory. Stripped builds (no
variables without DWARF): a warning says so and names what was not searched; from Go 1.22,
where the runtime records the type of heap objects over 512 bytes and of large ones, every
planted typed nil inside such an object or queued in a channel a goroutine waits on
(planted.json's heap_location, with the object's or channel's %p and %T; for a map's bucket
array, the map's %T and the key) is reported there with its %T, and nothing else is reported at all; on go1.19, which records no type for heap objects,
only the channel's, and the warning says why.
"""
import json
import os
import re
import struct
import tempfile

import fixtures
import oracles
from core_patch import file_offset, load_segments


def go_quote(s):
    return json.dumps(s, ensure_ascii=False)


def check_pitfalls(report, case, rc, out, planted):
    if not report.check(rc == 1, f"exit:{case}", f"  exit {rc}"):
        return
    got = {p["location"]: p for p in json.loads(out)["pitfalls"]}
    want = {p["location"]: p for p in planted if p["typed_nil"]}
    for loc, p in want.items():
        g = got.get(loc)
        report.check(g is not None and g["dynamic_type"] == p["type"] and g["kind"] == "typed-nil",
                     f"planted:{case}:{loc}", f"  want {p['type']}, got {g}")
    for loc in got:
        in_main = loc.startswith("global main.") or " frame main." in loc
        report.check(not in_main or loc in want, f"unplanted:{case}:{loc}", f"  {got[loc]}")


def check_stripped(report, case, tc, rc, out, err, planted):
    doc = json.loads(out)
    warnings = "\n".join(doc["warnings"])
    report.check("DWARF" in warnings and "not searched" in warnings, f"stripped-warning:{case}",
                 f"  warnings: {warnings}")
    got = {p["location"]: p for p in doc["pitfalls"]}
    want = {p["heap_location"]: p for p in planted if p["typed_nil"] and p.get("heap_location")}
    if not report.check(len(want) >= 5 and any(k.startswith("channel ") for k in want),
                        f"stripped-plants:{case}", f"  planted: {want}"):
        return
    if tc.name == "go1.19":
        # No heap object records its type; channels that goroutines wait on do.
        report.check("records no type" in warnings, f"stripped-1.19:{case}", f"  {warnings}")
        want = {k: p for k, p in want.items() if k.startswith("channel ")}
    report.check(rc == 1, f"stripped-exit:{case}", f"  exit {rc}: {err[-1000:]}")
    # A map's bucket array is located by the runtime's own address ("*" in planted.json).
    def match(loc):
        for w in want:
            if w == loc or ("*" in w and re.fullmatch(
                    re.escape(w).replace(r"\*", "0x[0-9a-f]+"), loc)):
                return w
        return None
    matched = {}
    for loc, g in got.items():
        w = match(loc)
        report.check(w is not None and w not in matched, f"stripped-unplanted:{case}:{loc}",
                     f"  {g}")
        if w is not None:
            matched[w] = g
    for loc, p in want.items():
        g = matched.get(loc)
        report.check(g is not None and g["dynamic_type"] == p["type"],
                     f"stripped-planted:{case}:{loc}", f"  want {p['type']}, got {g}")


def check_registers(report, case, tc, exe, core, planted, applicable):
    """The spin goroutine's local n lives only in a register inside its loop. When the core
    caught it running there, `frames --locals` reads n from the thread's registers (NT_PRSTATUS)
    and n>>20 agrees with main.spinTicks in the core's memory (the fixture's own count)."""
    gid = next(p["goroutine"] for p in planted if p.get("function") == "main.spin")
    rc, out, err = fixtures.run_ifxray(["frames", "--locals", "--format", "json", "--exe", exe,
                                        core])
    if not report.check(rc == 0, f"register-exit:{case}", f"  exit {rc}: {err[-500:]}"):
        return
    g = next((g for g in json.loads(out)["goroutines"] if g["id"] == gid), None)
    if g is None or g["status"] != "running" or g["frames"][0]["function"] != "main.spin":
        return  # stopped outside its loop (preempted): n is not in a register there
    applicable.append(case)
    n = next((v for v in g["frames"][0].get("locals", []) if v["name"] == "n"), None)
    addr = {name: a for a, _size, _kind, name in oracles.nm(tc, exe)}["main.spinTicks"]
    with open(core, "rb") as f:
        f.seek(file_offset(load_segments(core), addr))
        ticks = struct.unpack("<q", f.read(8))[0]
    ok = n is not None and "value" in n and (int(n["value"]) >> 20) in (ticks, ticks + 1)
    report.check(ok, f"register:{case}", f"  n {n}, spinTicks {ticks}")


def check_locals(report, case, rc, out, planted):
    if not report.check(rc == 0, f"locals-exit:{case}", f"  exit {rc}"):
        return
    gs = {g["id"]: g for g in json.loads(out)["goroutines"]}
    for p in planted:
        if not p.get("scope"):
            continue
        where = f"locals:{case}:{p['location']}"
        g = gs.get(p["goroutine"])
        frame = next((f for f in (g or {}).get("frames", []) if f["function"] == p["function"]),
                     None)
        var = next((v for v in (frame or {}).get("locals", []) if v["name"] == p["name"] and
                    v["arg"] == (p["scope"] == "arg")), None)
        if p["type"] == "<nil>" and (var is None or "unavailable" in var):
            continue  # a true nil the compiler dropped
        if not report.check(var is not None and "value" in var, where, f"  got {var}"):
            continue
        if var["type"] in ("error", "interface {}"):
            if p["type"] == "<nil>":
                report.check(var["value"] == f"{var['type']} nil", where, f"  got {var}")
            else:
                report.check(var["dynamic_type"] == p["type"], where, f"  want {p['type']}, got {var}")
        elif p["type"] == "string":
            report.check(var["value"] == go_quote(p["value"]), where, f"  want {p['value']!r}, got {var}")
        else:
            report.check(var["value"] == p["value"], where, f"  want {p['value']}, got {var}")


def main():
    tcs = fixtures.setup("pitfalls_typednil")
    report = fixtures.Report("pitfalls_typednil")
    applicable = []  # cores that caught spin in its loop
    for tc in tcs:
        for variant in ("plain", "pie", "stripped"):
            exe = fixtures.exe_path(tc, variant, "typednil")
            case = f"{tc.name}:{variant}"
            try:
                with fixtures.run_fixture(exe) as fx:
                    planted = json.loads((fx.outdir / "planted.json").read_text())["planted"]
                    rc, out, err = fixtures.run_ifxray(["pitfalls", "--format", "json", fx.pid])
                    if variant == "stripped":
                        check_stripped(report, f"live:{case}", tc, rc, out, err, planted)
                        with tempfile.TemporaryDirectory() as d:
                            core = os.path.join(d, "core")
                            rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                            if report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                                rc, out, err = fixtures.run_ifxray(
                                    ["pitfalls", "--format", "json", "--exe", exe, core])
                                check_stripped(report, f"core:{case}", tc, rc, out, err, planted)
                        continue
                    check_pitfalls(report, f"live:{case}", rc, out, planted)
                    # The value budget runs out in the first variables: one warning says so,
                    # not one per variable left (100k goroutines once printed 177k of them).
                    rc, out, err = fixtures.run_ifxray(["pitfalls", "--max-values", "5", fx.pid])
                    n = (out + err).count("(--max-values)")
                    report.check(rc in (0, 1) and n == 1, f"max-values:{case}",
                                 f"  exit {rc}, {n} budget warnings: {(out + err)[:500]}")
                    rc, out, err = fixtures.run_ifxray(["frames", "--locals", "--format", "json",
                                                        fx.pid])
                    check_locals(report, f"live:{case}", rc, out, planted)
                    with tempfile.TemporaryDirectory() as d:
                        core = os.path.join(d, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            continue
                        rc, out, err = fixtures.run_ifxray(["pitfalls", "--format", "json",
                                                            "--exe", exe, core])
                        check_pitfalls(report, f"core:{case}", rc, out, planted)
                        rc, out, err = fixtures.run_ifxray(["frames", "--locals", "--format",
                                                            "json", "--exe", exe, core])
                        check_locals(report, f"core:{case}", rc, out, planted)
                        if variant == "plain":
                            check_registers(report, f"core:{case}", tc, exe, core, planted,
                                            applicable)
            except (fixtures.FixtureError, ValueError, KeyError) as e:
                report.error(f"run:{case}", e)
    # A stop lands in spin's loop nearly always; if no core did, the register check never ran.
    report.check(len(applicable) > 0, "register-applicable", "  no core caught spin running")
    report.finish()


main()
