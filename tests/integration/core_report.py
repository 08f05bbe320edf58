"""`ifxray core FILE`: its sections against the commands run separately on the same core, and its
pitfalls against the fixture.

Oracle: on a gcore of the typednil fixture (typed-nil interfaces it planted and wrote to
planted.json with fmt's %T) and of the leaks fixture, the text of `ifxray core` is made of four
sections, each byte for byte what `info`, `leaks`, `pitfalls` and `frames` print for that core
(the proof's timing in the engine line aside). The json form's pitfalls section holds every
typed nil the fixture planted with the %T it wrote, and nothing else in package main; its leaks
section the same proven set as `leaks --format json`.
"""
import json
import os
import re
import tempfile

import fixtures

SECTIONS = ("core", "leaks", "pitfalls", "goroutines")
COMMANDS = {"core": ["info"], "leaks": ["leaks"], "pitfalls": ["pitfalls"],
            "goroutines": ["frames"]}
TIMING = re.compile(r"(engine: heap proof over \d+ objects \(\d+ bytes\)) in \d+ ms")


def split_sections(text):
    parts = re.split(r"^== (\w+) ==\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2])), parts[0]


def normalise(text):
    return TIMING.sub(r"\1", text.rstrip("\n"))


def check_sections(report, case, core):
    rc, out, err = fixtures.run_ifxray(["core", "--fail-on", "never", core])
    if not report.check(rc == 0, f"core-exit:{case}", f"  exit {rc}: {err[-400:]}"):
        return
    secs, before = split_sections(out)
    report.check(before == "" and list(secs) == list(SECTIONS), f"sections:{case}",
                 f"  {list(secs)} (text before: {before[:80]!r})")
    for name in SECTIONS:
        args = COMMANDS[name] + (["--fail-on", "never"] if name == "leaks" else [])
        crc, alone, cerr = fixtures.run_ifxray([*args, core])
        got = normalise(secs.get(name, ""))
        want = normalise(alone)
        report.check(crc in (0, 1) and got == want and want, f"section-{name}:{case}",
                     f"  ifxray {' '.join(args)} exit {crc}: {cerr[-200:]}\n"
                     f"  first difference at line "
                     f"{next((i for i, (a, b) in enumerate(zip(got.splitlines(), want.splitlines())) if a != b), '?')}"
                     f"\n  core: {got[:300]!r}\n  alone: {want[:300]!r}")


def check_json(report, case, core, planted):
    rc, out, err = fixtures.run_ifxray(["core", "--format", "json", "--fail-on", "never", core])
    if not report.check(rc == 0, f"json-exit:{case}", f"  exit {rc}: {err[-400:]}"):
        return
    doc = json.loads(out)
    lrc, lout, _ = fixtures.run_ifxray(["leaks", "--format", "json", "--fail-on", "never", core])
    proven = lambda d: sorted(g for x in d["leaks"] if x["verdict"] == "proven"  # noqa: E731
                              for g in x["goroutines"])
    report.check(lrc == 0 and proven(doc["leaks"]) == proven(json.loads(lout)),
                 f"json-leaks:{case}", "  proven sets differ")
    if planted is None:
        return
    got = {p["location"]: p for p in doc["pitfalls"]["pitfalls"]}
    want = {p["location"]: p for p in planted if p["typed_nil"]}
    for loc, p in want.items():
        g = got.get(loc)
        report.check(g is not None and g["dynamic_type"] == p["type"], f"pitfall:{case}:{loc}",
                     f"  want {p['type']}, got {g}")
    for loc in got:
        in_main = loc.startswith("global main.") or " frame main." in loc
        report.check(not in_main or loc in want, f"unplanted:{case}:{loc}", f"  {got[loc]}")
    report.check(len(want) > 5, f"planted:{case}", f"  only {len(want)} typed nils planted")


def main():
    tcs = fixtures.setup("core_report")
    report = fixtures.Report("core_report")
    for tc in tcs:
        for fixture in ("typednil", "leaks"):
            case = f"{tc.name}/plain/{fixture}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, "plain", fixture),
                                          timeout=60) as fx:
                    planted = None
                    if fixture == "typednil":
                        planted = json.loads((fx.outdir / "planted.json").read_text())["planted"]
                    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir(
                            "/dev/shm") else None) as tmp:
                        core = os.path.join(tmp, "core")
                        rc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        if not report.check(rc == 0, f"gcore:{case}", f"  exit {rc}: {err}"):
                            continue
                        check_sections(report, case, core)
                        check_json(report, case, core, planted)
            except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
