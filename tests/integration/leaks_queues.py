"""`ifxray leaks`: the other goroutines queued on a leak group's channel, against runtime.Stack.

The manyg fixture (N=3000) parks half its goroutines receiving on one global channel
(main.waitRecv), in dozens of groups (one per stack shape). Its runtime.Stack(all) says which
goroutines those are: R. With --min-group 1 every group is reported (they are suspects: a global
holds the channel); for each group of receivers, blocked_on must list as other_receivers only
goroutines of R outside the group, in no repeat, as many as R has outside the group up to 1000,
with other_receivers_total exactly that count, and no other_senders (nobody sends). The JSON
stays small: before the lists were capped, 50k receivers in 84 groups gave a 100 MB report.
"""
import json
import re

import fixtures

N = 3000
LISTED = 1000


def receivers(stack):
    out = set()
    for block in stack.strip().split("\n\n"):
        m = re.match(r"goroutine (\d+) \[chan receive", block)
        if m and "main.waitRecv(" in block:
            out.add(int(m.group(1)))
    return out


def main():
    tcs = fixtures.setup("leaks_queues")
    report = fixtures.Report("leaks_queues")
    for tc in tcs:
        case = tc.name
        try:
            exe = fixtures.exe_path(tc, "plain", "manyg")
            with fixtures.run_fixture(exe, timeout=120, env={"MANYG_N": str(N)}) as fx:
                want = receivers((fx.outdir / "stack.txt").read_text())
                rc, out, err = fixtures.run_ifxray(
                    ["leaks", "--format", "json", "--min-group", "1", fx.pid])
            if not report.check(rc in (0, 1) and len(want) == N // 2, f"run:{case}",
                                f"  exit {rc}, {len(want)} receivers: {err[-1500:]}"):
                continue
            groups = [g for g in json.loads(out)["leaks"] if set(g["goroutines"]) <= want]
            bad = []
            for g in groups:
                b = g["blocked_on"]
                mine = set(g["goroutines"])
                others = b.get("other_receivers", [])
                total = len(want - mine)
                if (not set(others) <= want - mine or len(set(others)) != len(others)
                        or len(others) != min(total, LISTED)
                        or b.get("other_receivers_total") != total
                        or b.get("other_senders") or b.get("other_senders_total")):
                    bad.append(f"  group of {len(mine)}: {len(others)} listed, total "
                               f"{b.get('other_receivers_total')} (want {total})")
            covered = sum(len(g["goroutines"]) for g in groups)
            report.check(not bad and covered == len(want), f"queues:{case}",
                         f"  {len(groups)} groups cover {covered} of {len(want)} receivers\n" +
                         "\n".join(bad[:8]))
        except (fixtures.FixtureError, OSError, ValueError, KeyError) as e:
            report.error(f"run:{case}", e)
    report.finish()


main()
