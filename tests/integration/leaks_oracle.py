"""`ifxray leaks` against the Go runtime's own goroutine leak detector.

Oracle: the leaks fixture (every blocking pattern, leaking or not, each started by its own
function) built with Go 1.26 (GOEXPERIMENT=goroutineleakprofile) and Go 1.27 writes the
runtime's goroutine leak profile (debug=2: every goroutine, leaked ones marked "(leaked)") when
told to on stdin. ifxray runs FIRST, on the live process and on its gcore, before anything
triggers the runtime's detection; then the fixture writes the profile. The set of goroutine ids
ifxray proves leaked must equal the runtime's set exactly. Go 1.19 has no leak detector: the
same fixture must give the same verdicts by creation site as the Go 1.26 runtime gave (counts of
leaked goroutines per creating function). Also: exit status 1 on a proven leak, 0 with
--fail-on never; the suspect group (goroutines blocked on a channel a global map holds) comes
with a leak path that starts at the global. `ifxray core --format json` of the gcore holds the
same proven set in its leaks section, next to its info and goroutines.
"""
import collections
import json
import os
import re
import select
import tempfile
import time

import fixtures

HEADER = re.compile(r"^goroutine (\d+) \[([^\]]*)\]", re.M)
CREATED = re.compile(r"^created by (\S+?)(?: in goroutine \d+)?$", re.M)
PROFILED = ("go1.26", "go1.27")


def parse_traceback(text):
    """{goid: (state, created-by function)}."""
    out = {}
    for block in text.strip().split("\n\n"):
        m = HEADER.match(block)
        if m:
            c = CREATED.search(block)
            out[int(m.group(1))] = (m.group(2), c.group(1) if c else None)
    return out


def leaks_json(target, extra=()):
    rc, out, err = fixtures.run_ifxray(["leaks", "--format", "json", *extra, target])
    if rc not in (0, 1):
        raise fixtures.FixtureError(f"ifxray leaks {target} exited {rc}: {err.strip()}")
    return rc, json.loads(out)


def proven(doc):
    return {g for leak in doc["leaks"] if leak["verdict"] == "proven" for g in leak["goroutines"]}


def request_profile(fx):
    fixtures.ask(fx, "leakprofile", "DONE\n")
    return (fx.outdir / "leak.txt").read_text()


def by_site(ids, stacks):
    return collections.Counter(stacks.get(g, (None, None))[1] for g in ids)


def check_doc(report, case, doc, rc, want_ids, stacks, stripped):
    got = proven(doc)
    report.check(got == want_ids, f"proven:{case}",
                 f"  runtime only: {sorted(want_ids - got)[:20]}\n"
                 f"  ifxray only: {sorted(got - want_ids)[:20]}\n"
                 f"  by site, runtime: {dict(by_site(want_ids - got, stacks))}\n"
                 f"  by site, ifxray: {dict(by_site(got - want_ids, stacks))}")
    report.check(rc == (1 if want_ids else 0), f"exit:{case}", f"  exit {rc}")
    report.check(not doc["summary"]["runtime_marked"], f"unmarked:{case}",
                 "  the runtime had marked goroutines leaked before ifxray ran")
    # 1100 goroutines queued on one Mutex: each waits on that one semaphore (the runtime's
    # traceback counts them; leakMutexCrowd starts them), and no g.waiting list is "too long"
    # (since Go 1.26 it points at the semaphore's sudog, whose waitlink chains the others).
    crowd = [g for g in doc["leaks"]
             if g["created_by"] and g["created_by"]["function"].startswith("main.leakMutexCrowd")]
    want_crowd = {g for g, (_, site) in stacks.items()
                  if site and site.startswith("main.leakMutexCrowd")}
    got_crowd = {g for leak in crowd for g in leak["goroutines"]}
    addrs = {leak["blocked_on"].get("address") for leak in crowd}
    long_lists = [w for w in doc["warnings"] if "g.waiting list too long" in w]
    report.check(got_crowd == want_crowd and len(want_crowd) >= 1100 and len(addrs) == 1
                 and None not in addrs and not long_lists, f"mutex-crowd:{case}",
                 f"  {len(got_crowd)} goroutines (runtime: {len(want_crowd)}), semaphores {addrs}, "
                 f"{len(long_lists)} warnings like {long_lists[:1]}")
    sus = [g for g in doc["leaks"] if g["verdict"] == "suspect"
           and g["created_by"] and g["created_by"]["function"] == "main.liveGlobalChan"]
    # A stripped binary has no symbol names: its globals are named by section.
    root = "global " if stripped else "global main.registry"
    report.check(len(sus) == 1 and sus[0]["path"] and sus[0]["path"][0]["what"].startswith(root),
                 f"suspect-path:{case}", f"  {json.dumps(sus)[:600]}")


def scratch():
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def main():
    tcs = fixtures.setup("leaks_oracle")
    report = fixtures.Report("leaks_oracle")
    site_verdicts = {}  # variant -> Counter of leaked goroutines per creating function (1.26)
    for tc in sorted(tcs, key=lambda t: t.name not in PROFILED):  # 1.26 and 1.27 first
        for variant in fixtures.VARIANTS:
            case = f"{tc.name}/{variant}"
            try:
                with fixtures.run_fixture(fixtures.exe_path(tc, variant, "leaks"),
                                          timeout=60) as fx:
                    stacks = parse_traceback((fx.outdir / "stack.txt").read_text())
                    rc, live = leaks_json(fx.pid)
                    with tempfile.TemporaryDirectory(dir=scratch()) as tmp:
                        core = os.path.join(tmp, "core")
                        grc, _, err = fixtures.run_ifxray(["gcore", "-o", core, fx.pid])
                        report.check(grc == 0, f"gcore:{case}", f"  exit {grc}: {err}")
                        crc, cored = leaks_json(core) if grc == 0 else (None, None)
                        nrc, _ = leaks_json(core, ["--fail-on", "never"]) if grc == 0 else (0, 0)
                        report.check(nrc == 0, f"fail-on-never:{case}", f"  exit {nrc}")
                        whole = None
                        if grc == 0:  # `core`: the same leaks inside the whole report
                            wrc, out, err = fixtures.run_ifxray(["core", "--format", "json", core])
                            whole = json.loads(out) if wrc in (0, 1) else None
                            report.check(whole is not None and wrc == crc, f"core-cmd:{case}",
                                         f"  exit {wrc} (leaks: {crc}): {err[-300:]}")
                    if tc.name in PROFILED:
                        prof = parse_traceback(request_profile(fx))
                        want = {g for g, (state, _) in prof.items() if state.endswith("(leaked)")}
                        report.check(len(want) > 1000, f"oracle:{case}",
                                     f"  the runtime found only {len(want)} leaked goroutines")
                        if tc.name == "go1.26":
                            site_verdicts[variant] = by_site(want, stacks)
                    elif variant in site_verdicts:
                        sites = site_verdicts[variant]
                        want = {g for g, (_, site) in stacks.items() if site in sites}
                        # The same count per site as the Go 1.26 runtime (ids differ by version).
                        got_sites = by_site(proven(live), stacks)
                        report.check(got_sites == sites, f"sites:{case}",
                                     f"  go1.26 runtime: {dict(sites)}\n  ifxray: {dict(got_sites)}")
                        want = proven(live) if got_sites == sites else want
                    else:
                        report.error(f"sites:{case}", "no go1.26 verdicts to compare with")
                        continue
                    check_doc(report, f"live:{case}", live, rc, want, stacks, variant == "stripped")
                    if cored is not None:
                        check_doc(report, f"core:{case}", cored, crc, want, stacks,
                                  variant == "stripped")
                    if whole is not None:
                        got = proven(whole["leaks"])
                        report.check(got == want and whole["info"] and whole["goroutines"],
                                     f"core-cmd-leaks:{case}",
                                     f"  {len(got)} proven, want {len(want)}; "
                                     f"sections {sorted(whole)}")
            except (fixtures.FixtureError, OSError, ValueError) as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
