"""`ifxray info --func` versus go tool nm, addr2line and DWARF CFI, for every
main.* function and a deterministic sample of the others, on every
fixture x toolchain x variant.

  entry       nm address of the symbol
  end         entry of the next function (nm's size excludes the alignment
              padding, so address + size <= end; checked as an oracle sanity test)
  file        addr2line's file at the entry (functions with Go DWARF only)
  frame_size  largest CFA offset - 8 among the function's .debug_frame rows
  start_line  DW_AT_decl_line of the function's DWARF subprogram (Go 1.20+
              pclntabs carry the same startLine; Go 1.19 DWARF has none)
"""
import collections

import fixtures as F
import oracles as O

SAMPLE = 500  # functions outside package main, per binary


def check_binary(rep, b):
    funcs = b.funcs
    count = collections.Counter(f[3] for f in funcs)
    nexts = {f[0]: n[0] for f, n in zip(funcs, funcs[1:])}
    for addr, size, sym, _ in funcs[:-1]:
        if addr + size > nexts[addr]:
            raise F.FixtureError(f"nm: {sym} at {addr:#x} size {size} overlaps the next function")
    # Unique names only ([...] shapes make some Go 1.19 names ambiguous); not the last function.
    usable = [f for f in funcs[:-1] if count[f[3]] == 1]
    mains = [f for f in usable if f[3].startswith("main.")]
    picked = mains + O.sample([f for f in usable if not f[3].startswith("main.")], SAMPLE,
                              key=lambda f: f[3])
    frame = collections.defaultdict(int)
    for start, _, _, cfa in O.cfa_rows(b.twin):
        frame[start] = max(frame[start], cfa - 8)
    decl = b.go_functions()
    where = b.addr2line([f[0] for f in picked])
    missing = "no.such.function"
    _, _, got = F.ifxray_info(b.exe, funcs=[f[3] for f in picked] + [missing])
    by_name = {r.get("name"): r for r in got}
    want = {"name": missing, "error": f"no function named {missing}"}
    have = {k: by_name.get(missing, {}).get(k) for k in want}
    rep.check(want == have, f"{b.name}: {missing}",
              f"  ifxray info --format json --func {missing} {b.exe}\n" + F.diff_fields(want, have, want))
    for addr, _, sym, name in picked:
        r = by_name.get(name, {})
        want = {"name": name, "entry": addr, "end": nexts[addr], "file": where[addr][1],
                "frame_size": frame.get(addr), "error": None}
        have = {"name": r.get("name"), "entry": F.hexint(r.get("entry")), "end": F.hexint(r.get("end")),
                "file": r.get("file"), "frame_size": r.get("frame_size"),
                "start_line": r.get("start_line"), "error": r.get("error")}
        want["start_line"] = decl.get(addr)
        if addr not in decl:  # no Go DWARF (cgo's C code): addr2line's file is no oracle
            want["file"] = None
        for key in ("frame_size", "start_line", "file"):
            if want[key] is None:  # no oracle for this function
                del want[key], have[key]
        rep.check(want == have, f"{b.name}: {name}",
                  f"  ifxray info --format json --func '{name}' {b.exe}\n"
                  f"  (oracle: nm/readelf of {b.twin} [{sym}], addr2line of {b.a2l.name})\n"
                  + F.diff_fields(want, have, want))


def main():
    O.run_matrix("info_func", check_binary)


if __name__ == "__main__":
    main()
