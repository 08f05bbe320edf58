"""`ifxray info --pc` versus go tool nm + addr2line: for every main.* function
and a deterministic sample of the others, at the entry and in the middle of
the function, on every fixture x toolchain x variant.

addr2line knows no inlining: it prints the physical function and the
innermost file:line. So the physical function is compared with ifxray's
"function" and last frame, and file:line with ifxray's first frame; file:line
only for functions with Go DWARF (see oracles.Binary.go_functions)."""
import fixtures as F
import oracles as O

SAMPLE = 2000  # functions outside package main, per binary


def queries(b):
    """[(pc, entry)] to ask about: entries and mid-function pcs."""
    mains = [f for f in b.funcs if f[3].startswith("main.")]
    others = O.sample([f for f in b.funcs if not f[3].startswith("main.")], SAMPLE, key=lambda f: f[3])
    out = []
    for addr, size, _, _ in mains + others:
        out.append((addr, addr))
        if size > 1:
            out.append((addr + size // 2, addr))
    return out


def check_outside(rep, b, by_pc):
    """A pc in no function (0x1, below every mapping) is reported as such."""
    want = {"pc": "0x1", "error": "no function contains pc 0x1", "frames": []}
    have = {k: by_pc.get(1, {}).get(k) for k in want}
    rep.check(want == have, f"{b.name}: pc 0x1", f"  ifxray info --format json --pc 0x1 {b.exe}\n"
              + F.diff_fields(want, have, want))


def check_binary(rep, b):
    qs = queries(b)
    want = b.addr2line([pc for pc, _ in qs])
    _, got, _ = F.ifxray_info(b.exe, pcs=[pc for pc, _ in qs] + [1])
    by_pc = {F.hexint(r.get("pc")): r for r in got}
    check_outside(rep, b, by_pc)
    go_funcs = b.go_functions()
    for pc, entry in qs:
        fn, file, line = want[pc]
        r = by_pc.get(pc, {})
        frames = r.get("frames") or [{}]
        exp = {"function": fn, "entry": entry, "last frame": (fn, False),
               "first frame": (file, line), "error": None}
        act = {"function": r.get("function"), "entry": F.hexint(r.get("entry")),
               "last frame": (frames[-1].get("function"), frames[-1].get("inlined")),
               "first frame": (frames[0].get("file"), frames[0].get("line")), "error": r.get("error")}
        if entry not in go_funcs:  # no Go DWARF (cgo's C code): addr2line's file:line is no oracle
            del exp["first frame"], act["first frame"]
        rep.check(exp == act, f"{b.name}: pc {pc:#x}",
                  f"  ifxray info --format json --pc {pc:#x} {b.exe}\n"
                  f"  (oracle: go tool addr2line of {b.a2l.name}, nm of {b.twin})\n"
                  + F.diff_fields(exp, act, exp))


def main():
    O.run_matrix("info_symbolize", check_binary)


if __name__ == "__main__":
    main()
