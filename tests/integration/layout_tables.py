"""The built-in runtime knowledge used for stripped binaries, against the unstripped build.

Oracles: the DWARF that each toolchain wrote into the plain and PIE builds of the same
fixture, and the plain build's symbol table (readelf). For every toolchain, `ifxray info
--layout` on the stripped build (no DWARF: the built-in table of that Go version) must give
exactly the fields and sizes that DWARF gives, the table must be the exact version's, not a
guess, and every runtime global found from code references must sit at the same offset of the
same section as the symbol of that name in the plain build (the linker may shift sections
between the two builds, never their contents).
"""
import json

import fixtures
import oracles


def section_offset(secs, addr):
    """(section name, offset in it) of a writable-data address."""
    for name, (start, _off, size) in secs.items():
        if name in (".data", ".bss", ".noptrdata", ".noptrbss", ".go.module") and \
                start <= addr < start + size:
            return name, addr - start
    return None, addr


def check_globals(report, case, plain_exe, plain, stripped_exe, stripped):
    plain_secs, stripped_secs = oracles.sections(plain_exe), oracles.sections(stripped_exe)
    want, got = plain["globals"], stripped["globals"]
    report.check(plain["globals_source"] == "symbols" and
                 stripped["globals_source"] == "code references", f"globals-source:{case}",
                 f"  plain {plain['globals_source']!r}, stripped {stripped['globals_source']!r}")
    for name, addr in want.items():
        w = section_offset(plain_secs, int(addr, 16)) if addr else None
        g = section_offset(stripped_secs, int(got[name], 16)) if got.get(name) else None
        # A global this version does not have (no symbol) must be absent in both.
        absent = w is None and g is None
        report.check(absent or (w is not None and w[0] is not None and w == g), f"global:{case}:{name}",
                     f"  plain symbol at {w}, stripped code reference at {g}")


def layout(exe):
    rc, out, err = fixtures.run_ifxray(["info", "--layout", "--format", "json", exe])
    if rc != 0:
        raise fixtures.FixtureError(f"ifxray info --layout {exe} exited {rc}: {err.strip()}")
    return json.loads(out)


def main():
    tcs = fixtures.setup("layout_tables")
    report = fixtures.Report("layout_tables")
    for tc in tcs:
        for fixture in fixtures.fixture_names():
            case = f"{tc.name}/{fixture}"
            try:
                stripped = layout(fixtures.exe_path(tc, "stripped", fixture))
                table = stripped["layout"]
                report.check(table["source"].startswith("table ") and "guess" not in table["source"],
                             f"table-source:{case}", f"  source: {table['source']!r}")
                minor = lambda v: ".".join(v.split(".")[:2])
                report.check(minor(stripped["go_version"]) == minor(table["source"][len("table "):]),
                             f"table-version:{case}",
                             f"  binary {stripped['go_version']}, table {table['source']}")
                plain_exe = fixtures.exe_path(tc, "plain", fixture)
                check_globals(report, case, plain_exe, layout(plain_exe)["layout"],
                              fixtures.exe_path(tc, "stripped", fixture), table)
                for variant in ("plain", "pie"):
                    dwarf = layout(fixtures.exe_path(tc, variant, fixture))["layout"]
                    report.check(dwarf["source"] == "DWARF", f"dwarf-source:{case}/{variant}",
                                 f"  source: {dwarf['source']!r}")
                    for group in ("fields", "sizes"):
                        want, got = dwarf[group], table[group]
                        # A type the program does not use (sync.Cond's runtime.notifyList) may
                        # be missing from its DWARF; the fixtures that use it check the table.
                        diffs = [f"  {k}: DWARF {want[k]}, table {got.get(k)}" for k in want
                                 if want[k] != got.get(k) and want[k] is not None]
                        diffs += [f"  {k}: only in the table" for k in got if k not in want]
                        report.check(not diffs and any(v is not None for v in want.values()),
                                     f"{group}:{case}/{variant}", "\n".join(diffs))
            except fixtures.FixtureError as e:
                report.error(f"run:{case}", e)
    report.finish()


main()
