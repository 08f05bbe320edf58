"""`ifxray info --format json` build info and ELF facts versus go version -m,
go tool buildid/nm/addr2line and readelf, for every fixture x toolchain x variant."""
import difflib
import json
import os

import fixtures as F
import oracles as O

PCLNTAB_FAMILY = {0xfffffff0: "1.18", 0xfffffff1: "1.20"}


def dump(x):
    return json.dumps(x, indent=1, sort_keys=True).splitlines()


def show_diff(want, got):
    lines = difflib.unified_diff(dump(want), dump(got), "expected (oracle)", "ifxray", lineterm="", n=2)
    return "".join(f"  {l}\n" for l in lines)


def project(got, want):
    """got reduced to the keys want has (the contract allows added keys)."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {k: project(got.get(k), want[k]) for k in want}
    if isinstance(want, list) and isinstance(got, list):
        return [project(g, w) for g, w in zip(got, want)] + got[len(want):]
    return got


def build_info_oracle(tc, exe, json_tc):
    """go version -m of the building toolchain, cross-checked with the JSON of
    go1.26's `go version -m -json` so that a parser slip cannot pass."""
    text = O.parse_version_m(tc.version_m(exe))
    out = F.run([str(json_tc.go), "version", "-m", "-json", str(exe)], env=json_tc.env(), cwd="/")
    other = O.from_version_m_json(json.loads(out.stdout))
    if text != other:
        raise F.FixtureError("oracle disagreement: go version -m text vs -json\n" + show_diff(other, text))
    return text


def expected(tc, variant, exe, twin, json_tc, toolchains):
    """Everything the oracles say about exe; twin is a non-stripped build
    with the same text layout (exe itself unless stripped)."""
    want = build_info_oracle(tc, exe, json_tc)
    settings = {s["key"]: s["value"] for s in want["settings"]}
    want["goos"], want["goarch"] = settings.get("GOOS"), settings.get("GOARCH")
    secs = O.sections(exe)
    want["pie"] = O.elf_type(exe) == "DYN"
    want["dwarf"] = ".debug_info" in secs or ".zdebug_info" in secs
    want["symbols"] = ".symtab" in secs
    if (want["pie"], want["dwarf"], want["symbols"]) != (variant == "pie", variant != "stripped",
                                                          variant != "stripped"):
        raise F.FixtureError(f"readelf disagrees with the variant {variant}: {secs.keys()}")
    want["build_id"] = O.gnu_build_id(exe)
    want["go_build_id"] = O.go_build_id(tc, exe)
    # text: from the start of .text (= nm runtime.text) to the end of the
    # last function (pclntab's final ftab entry: its nm address + size).
    b = O.Binary(tc, variant, exe, twin, toolchains)
    funcs = b.funcs
    start = secs[".text"][0]
    last = funcs[-1]
    runtime_text = [s[0] for s in b.syms if s[3] == "runtime.text"]
    if runtime_text != [start]:
        raise F.FixtureError(f"oracle disagreement: .text at {start:#x}, runtime.text {runtime_text}")
    want["text"] = {"start": hex(start), "end": hex(last[0] + last[1])}
    magic, nfunc, nfiles = O.pclntab_header(exe)
    want["pclntab_version"] = PCLNTAB_FAMILY.get(magic, f"unknown magic {magic:#x}")
    if len(funcs) != nfunc:
        raise F.FixtureError(f"oracle disagreement: {len(funcs)} function symbols, pclntab nfunc {nfunc}")
    want["functions"], want["files"] = nfunc, nfiles
    want["path"] = str(exe)
    return want


def main():
    rep = F.Report("info_buildinfo")
    tcs = F.setup(rep.name)
    json_tc = next(t for t in tcs if t.name == "go1.26")
    for fx in F.go_fixture_names():
        for tc in tcs:
            for variant in F.VARIANTS:
                exe = os.path.realpath(F.exe_path(tc, variant, fx))
                twin = os.path.realpath(F.exe_path(tc, "plain" if variant == "stripped" else variant, fx))
                case = f"{tc.name}/{variant}/{fx}"
                try:
                    want = expected(tc, variant, exe, twin, json_tc, tcs)
                    got, _, _ = F.ifxray_info(exe)
                except F.FixtureError as e:
                    rep.error(case, e)
                    continue
                text = got.get("text")
                if isinstance(text, dict):  # compare addresses, not spellings
                    got["text"] = {k: hex(F.hexint(v)) if F.hexint(v) is not None else v
                                   for k, v in text.items()}
                rc, out, err = F.run_ifxray(["info", exe])
                rep.check(rc == 0 and want["go_version"] in out and want["main_path"] in out,
                          f"text format: {case}", f"  ifxray info {exe}\n  want exit 0 and "
                          f"{want['go_version']}, {want['main_path']} in stdout; got exit {rc}, "
                          f"stdout {out[:300]!r}, stderr {err[:300]!r}")
                for key in want:
                    value = project(got.get(key), want[key])
                    rep.check(value == want[key], f"{key}: {case}",
                              f"  ifxray info --format json {exe}\n" + show_diff(want[key], value))
    rep.finish()


if __name__ == "__main__":
    main()
