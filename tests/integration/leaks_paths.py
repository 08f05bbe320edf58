"""Leak paths, channel element types and the dot form of `ifxray leaks`, against what the leaks
fixture itself knows.

Oracle: the leaks fixture plants suspects whose referrer it built itself (a global map of
*Worker, a global *Pool's slice, a global interface, an unsafe.Pointer to an object above 512
bytes, an array whose pointer mask is a GC program before Go 1.24, a local of a sleeping
goroutine) and writes, for each, the chain as the program sees it: the root variable, then for
each hop the pointer's %T and the field (by reflect) or index that leads on, then the %T of the
channel (paths.json). ifxray's json "path" must name the same chain: exactly with DWARF (plain,
PIE); in a stripped binary the root is named by section or frame and an untyped hop by address
and offset, but what the runtime's type descriptors give (Go 1.22+ allocation headers, the
channel's element type) must still be there. On Go 1.19 the object above 512 bytes has no
allocation header: that hop is by address. Also: every channel a goroutine blocks on has its %T
and reflect element type in chans.json; each channel group's blocked_on.elem_type must be the
element type of one of the channels its creating function made. And the dot form of the same
core draws, for every group of the json, its node, the object it waits on and its path chain
with the same names.
"""
import json
import os
import re
import tempfile

import fixtures

FALLBACK = re.compile(r"object 0x[0-9a-f]+ \(\d+ bytes\)( \+0x[0-9a-f]+)?$")
ARGS = ["--min-group", "1", "--fail-on", "never"]


def leaks(target, fmt="json"):
    rc, out, err = fixtures.run_ifxray(["leaks", "--format", fmt, *ARGS, target])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray leaks --format {fmt} {target} exited {rc}: "
                                    f"{err.strip()[-400:]}")
    return json.loads(out) if fmt == "json" else out


def go_minor(tc):
    return int(tc.name.split(".")[1])


def suspect_of(doc, creator):
    return [g for g in doc["leaks"] if g["verdict"] == "suspect" and g["created_by"]
            and g["created_by"]["function"] == creator]


def check_paths(report, case, doc, cases, tc, stripped):
    for pc in cases:
        want = list(pc["path"])
        header = pc["alloc_header"] and go_minor(tc) >= 22
        groups = suspect_of(doc, pc["creator"])
        if not report.check(len(groups) == 1 and groups[0]["path"],
                            f"path-found:{case}:{pc['creator']}",
                            f"  {len(groups)} suspect groups: {json.dumps(groups)[:500]}"):
            continue
        got = [s["what"] for s in groups[0]["path"]]
        detail = f"  want {want}\n  got  {got}"
        if pc["alloc_header"] and not header:  # Go 1.19: no allocation header, no type
            want[1:-1] = [FALLBACK]
        if not stripped:
            ok = len(got) == len(want) and all(
                w.match(g) if hasattr(w, "match") else w == g for w, g in zip(want, got))
            report.check(ok, f"path:{case}:{pc['creator']}", detail)
            continue
        # Stripped: roots by section ("global bss+0x..") or frame, untyped hops by address; what
        # the runtime's own type descriptors give must still be there.
        root_ok = (got[0].startswith("global ") if want[0].startswith("global ")
                   else got[0].startswith(want[0].split(" local ")[0]))
        middle = got[1:-1]
        mid_ok = all(FALLBACK.match(g) or g in want for g in middle)
        if header:  # the allocation header types the object even without DWARF
            mid_ok = mid_ok and want[1] in middle
        report.check(root_ok and mid_ok and got[-1] == want[-1],
                     f"path-stripped:{case}:{pc['creator']}", detail)


def check_chans(report, case, doc, chans):
    seen = set()
    for g in doc["leaks"]:
        creator = (g["created_by"] or {}).get("function")
        if g["blocked_on"]["kind"] != "channel" or creator not in chans:
            continue
        seen.add(creator)
        elems = {t[len("elem "):] for t in chans[creator] if t.startswith("elem ")}
        types = {t for t in chans[creator] if not t.startswith("elem ")}
        elem = g["blocked_on"]["elem_type"]
        ok = elem in elems
        if ok and g["path"]:  # the path's last step names the channel by its static type
            ok = g["path"][-1]["what"] in types | {"chan " + elem}
        report.check(ok, f"elem-type:{case}:{creator}",
                     f"  elem_type {elem!r}, fixture: {sorted(chans[creator])}; "
                     f"path end {g['path'][-1:]}")
    report.check(seen == set(chans), f"elem-groups:{case}",
                 f"  no channel group for {sorted(set(chans) - seen)}")


NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)( \[style=dashed\])?;", re.M)


def unquote(s):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def check_dot(report, case, doc, dot):
    nodes = {}
    for m in NODE.finditer(dot):
        nodes[m.group(1)] = unquote(m.group(2)).split("\n")
    edges = {(m.group(1), m.group(2)): bool(m.group(3)) for m in EDGE.finditer(dot)}
    report.check(dot.startswith("digraph leaks {") and dot.rstrip().endswith("}"),
                 f"dot-syntax:{case}", dot[:200])
    for i, g in enumerate(doc["leaks"]):
        label = nodes.get(f"g{i}", [""])
        want = f"{g['verdict']} x{len(g['goroutines'])} [{g['wait_reason']}]"
        addr = g["blocked_on"]["address"]
        obj = f"o{int(addr, 16):x}" if addr else f"f{i}"
        ok = label[0] == want and (f"g{i}", obj) in edges and obj in nodes
        whats = [s["what"] for s in g["path"]]
        chain = [f"p{i}_{j}" for j in range(len(whats) - 1)]
        if whats:
            ok = ok and [nodes.get(c, ["?"])[0] for c in chain] == whats[:-1]
            ok = ok and all((a, b) in edges for a, b in zip(chain, chain[1:]))
            ok = ok and edges.get((chain[-1], obj)) is True if chain else ok
            ok = ok and nodes[obj][-1] == whats[-1]
        report.check(ok, f"dot:{case}:{i}",
                     f"  group {want} path {whats}\n  node {label} obj {nodes.get(obj)}")
    report.check(f"g{len(doc['leaks'])}" not in nodes, f"dot-extra:{case}", "  extra groups")


def main():
    tcs = fixtures.setup("leaks_paths")
    report = fixtures.Report("leaks_paths")
    for tc in tcs:
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            stripped = variant == "stripped"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, "leaks"),
                                          timeout=60) as fx:
                    cases = json.loads((fx.outdir / "paths.json").read_text())
                    chans = json.loads((fx.outdir / "chans.json").read_text())
                    report.check(len(cases) == 6, f"planted:{case}", f"  {cases}")
                    live = leaks(fx.pid)
                    check_paths(report, f"live:{case}", live, cases, tc, stripped)
                    check_chans(report, f"live:{case}", live, chans)
                    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir(
                            "/dev/shm") else None) as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            continue
                        cored = leaks(core)
                        check_paths(report, f"core:{case}", cored, cases, tc, stripped)
                        check_chans(report, f"core:{case}", cored, chans)
                        check_dot(report, f"core:{case}", cored, leaks(core, "dot"))
            except (fixtures.FixtureError, OSError, ValueError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
