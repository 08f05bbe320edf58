"""`ifxray info --pc` sp_delta versus the DWARF call frame information the Go
linker emitted from the same pcsp tables: at every row of readelf's
interpreted .debug_frame, CFA = rsp+N means sp_delta == N - 8.

Rows of main.* functions and a deterministic sample of the others, on every
fixture x toolchain x variant. A stripped build has no DWARF; its
rows come from the plain build of the same toolchain once addr2line confirms
both map the sampled pcs to the same function and line."""
import fixtures as F
import oracles as O

SAMPLE = 3000  # rows outside package main, per binary


def check_binary(rep, b):
    rows = O.cfa_rows(b.twin)
    if not rows:
        raise F.FixtureError(f"readelf found no .debug_frame rows in {b.twin}")
    names = {addr: name for addr, _, _, name in b.funcs}
    mains = [r for r in rows if names.get(r[0], "").startswith("main.")]
    others = O.sample([r for r in rows if not names.get(r[0], "").startswith("main.")],
                      SAMPLE, key=lambda r: hex(r[2]))
    picked = sorted(mains + others, key=lambda r: r[2])
    where = b.addr2line([r[2] for r in picked])  # for stripped: checks the layout
    _, got, _ = F.ifxray_info(b.exe, pcs=[r[2] for r in picked])
    by_pc = {F.hexint(r.get("pc")): r for r in got}
    for start, end, loc, cfa in picked:
        r = by_pc.get(loc, {})
        want = {"sp_delta": cfa - 8, "entry": start, "error": None}
        have = {"sp_delta": r.get("sp_delta"), "entry": F.hexint(r.get("entry")), "error": r.get("error")}
        rep.check(want == have, f"{b.name}: pc {loc:#x}",
                  f"  ifxray info --format json --pc {loc:#x} {b.exe}\n"
                  f"  (readelf --debug-dump=frames-interp {b.twin}: FDE {start:#x}..{end:#x}, "
                  f"CFA rsp+{cfa}; {where[loc][0]})\n" + F.diff_fields(want, have, want))


def main():
    O.run_matrix("info_spdelta", check_binary)


if __name__ == "__main__":
    main()
