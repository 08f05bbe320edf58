"""`ifxray frames` copies parked goroutines' stacks before it stops a live process, and trusts a
copy only when the goroutine provably did not run in between (core/runtime/stack_precopy.h: the
runtime resets g.waitsince whenever it schedules a goroutine, and only the GC sets it again).

The manyg fixture (2,000 parked goroutines) with MANYG_CHURN=64: 64 goroutines that wake every
20 ms and park again at the same sp through one of two look-alike functions (now and then after a
deep recursion, so the GC shrinks their stacks), and a GC every few ms that stamps waitsince.
IFXRAY_TEST_PRECOPY_DELAY_MS=300 holds ifxray between its pre-copy and the stop, so every
churner runs again in between; IFXRAY_TEST_PRECOPY_CHECK=1 makes the stop copy every stack the
pre-copy vouched for once more and count those whose bytes differ: the target's memory at the
stop is the oracle. For each toolchain:
- no kept stack differs from the stop's copy, in every run;
- the settled goroutines' stacks were kept from the pre-copy (they are all stamped by then; at
  least 90%: one the GC is scanning at the stop has the scan bit and is copied in the stop);
- the check was exercised: churners copied before the stop were refused at the stop (at least
  5 in one of up to 10 runs). Without the waitsince comparison this test fails: kept churner
  stacks then differ from the stop's copy (checked by hand when the pre-copy was written);
- the go-format text of a normal run (stacks adopted from the pre-copy) holds the very blocks of
  the runtime's own runtime.Stack(all) for every settled goroutine (goroutine 1 made the dump).
"""
import os
import re

import fixtures

N = 2000
CHURN = 64
HEADER = re.compile(r"goroutine (\d+) \[([^\]]*)\]:")
CHECK = re.compile(r"pre-copy check: (\d+) of (\d+) kept stacks differ from the stop's copy "
                   r"\((\d+) unreadable\)")


def blocks(text):
    out = {}
    for block in text.strip().split("\n\n"):
        m = HEADER.match(block)
        if m:
            out[int(m.group(1))] = block
    return out


def run_checked(pid):
    os.environ["IFXRAY_TEST_PRECOPY_CHECK"] = "1"
    os.environ["IFXRAY_TEST_PRECOPY_DELAY_MS"] = "300"
    try:
        return fixtures.run_ifxray(["frames", "--stats", "--format", "go", pid])
    finally:
        del os.environ["IFXRAY_TEST_PRECOPY_CHECK"]
        del os.environ["IFXRAY_TEST_PRECOPY_DELAY_MS"]


def check_toolchain(report, tc):
    exe = fixtures.exe_path(tc, "plain", "manyg")
    env = {"MANYG_N": str(N), "MANYG_CHURN": str(CHURN)}
    with fixtures.run_fixture(exe, timeout=120, env=env) as fx:
        runtime = blocks((fx.outdir / "stack.txt").read_text())
        runtime.pop(1, None)
        refused_best, runs = 0, []
        for _ in range(10):
            rc, _, err = run_checked(fx.pid)
            m = CHECK.search(err)
            st = fixtures.stats(err)
            if rc != 0 or not m or "precopy_stacks" not in st:
                report.check(False, f"checked-run:{tc.name}", f"  exit {rc}: {err[-2000:]}")
                return
            differ, kept, unreadable = map(int, m.groups())
            refused = int(st["precopy_stacks"] - st["precopy_kept"])
            runs.append((differ, kept, unreadable, refused))
            refused_best = max(refused_best, refused)
            if refused_best >= 5 and len(runs) >= 3:
                break
        detail = "  runs (differ, kept, unreadable, refused): " + repr(runs)
        report.check(all(d == 0 and u == 0 for d, _, u, _ in runs), f"unchanged:{tc.name}", detail)
        # A goroutine the GC is scanning at the stop (scan bit) is copied in the stop: a few.
        report.check(all(k >= N * 0.9 for _, k, _, _ in runs), f"settled-kept:{tc.name}", detail)
        report.check(refused_best >= 5, f"refusals-exercised:{tc.name}", detail)
        rc, out, err = fixtures.run_ifxray(["frames", "--stats", "--format", "go", fx.pid])
        st = fixtures.stats(err)
        # The GC loop may be scanning a goroutine at the stop: the runtime prints "(scan)" then.
        ours = blocks(out.replace(" (scan)]", "]"))
        wrong = [g for g, b in runtime.items() if ours.get(g) != b]
        report.check(rc == 0 and st.get("precopy_kept", 0) >= N * 0.9 and not wrong,
                     f"runtime-text:{tc.name}",
                     f"  exit {rc}, stats {st}, {len(wrong)} of {len(runtime)} differ" +
                     (f"; first {wrong[0]}:\n--- runtime\n{runtime[wrong[0]]}\n--- ifxray\n"
                      f"{ours.get(wrong[0])}" if wrong else ""))


def main():
    tcs = fixtures.setup("frames_precopy")
    report = fixtures.Report("frames_precopy")
    for tc in tcs:
        try:
            check_toolchain(report, tc)
        except (fixtures.FixtureError, OSError, ValueError) as e:
            report.error(f"run:{tc.name}", e)
    report.finish()


main()
