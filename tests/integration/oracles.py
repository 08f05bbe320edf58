"""Independent oracles for `ifxray info`: go version -m, go tool nm/addr2line/
buildid, and binutils readelf. Nothing here reads Go tables itself except the
pclntab header words, which are taken from bytes readelf locates."""
import hashlib
import os
import re
import struct

from fixtures import FixtureError, exe_path, run


# ---- go version -m -------------------------------------------------------

def go_unquote(s):
    """Undo strconv.Quote as used for build setting keys and values."""
    if not s.startswith('"'):
        return s
    out, i, body = [], 0, s[1:-1]
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
              "v": "\v", "\\": "\\", '"': '"', "'": "'"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(body[i + 2:i + 2 + n], 16)))
            i += 2 + n
        else:  # octal \NNN
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
    return "".join(out)


def _split_setting(s):
    """`key=value` with either side possibly Go-quoted."""
    if s.startswith('"'):
        m = re.match(r'("(?:[^"\\]|\\.)*")=(.*)$', s)
        key, value = go_unquote(m.group(1)), m.group(2)
    else:
        key, _, value = s.partition("=")
    return key, go_unquote(value)


def _module(parts):
    return {"path": parts[1], "version": parts[2] if len(parts) > 2 else "",
            "sum": parts[3] if len(parts) > 3 else ""}


def parse_version_m(text):
    """`go version -m EXE` output -> the contract's build-info fields."""
    lines = text.split("\n")
    m = re.match(r"^(.*): (\S+)$", lines[0])
    if not m:
        raise FixtureError(f"go version -m: unexpected first line {lines[0]!r}")
    info = {"go_version": m.group(2), "main_path": "", "main_module": None,
            "deps": [], "settings": []}
    for line in lines[1:]:
        parts = line.lstrip("\t").split("\t")
        word = parts[0]
        if word == "":
            continue
        if word == "path":
            info["main_path"] = parts[1]
        elif word == "mod":
            info["main_module"] = _module(parts)
        elif word == "dep":
            info["deps"].append({**_module(parts), "replace": None})
        elif word == "=>":
            info["deps"][-1]["replace"] = _module(parts)
        elif word == "build":
            key, value = _split_setting("\t".join(parts[1:]))
            info["settings"].append({"key": key, "value": value})
        else:
            raise FixtureError(f"go version -m: unexpected line {line!r}")
    return info


def from_version_m_json(doc):
    """`go version -m -json` (go1.23+) -> the same shape, to cross-check the parser."""
    def mod(m):
        return None if m is None else {"path": m.get("Path", ""), "version": m.get("Version", ""),
                                       "sum": m.get("Sum", "")}
    return {"go_version": doc.get("GoVersion", ""), "main_path": doc.get("Path", ""),
            "main_module": mod(doc.get("Main")) if doc.get("Main", {}).get("Path") else None,
            "deps": [{**mod(d), "replace": mod(d.get("Replace"))} for d in doc.get("Deps") or []],
            "settings": [{"key": s["Key"], "value": s.get("Value", "")}
                         for s in doc.get("Settings") or []]}


# ---- readelf ---------------------------------------------------------------

def readelf(*args):
    return run(["readelf", *map(str, args)], timeout=300).stdout


def elf_type(exe):
    m = re.search(r"^\s*Type:\s+(\S+)", readelf("-h", exe), re.M)
    return m.group(1)  # EXEC or DYN


def sections(exe):
    """{name: (addr, offset, size)} from readelf -SW."""
    out = {}
    pat = re.compile(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s")
    for line in readelf("-SW", exe).splitlines():
        m = pat.match(line)
        if m:
            out[m.group(1)] = tuple(int(x, 16) for x in m.group(2, 3, 4))
    return out


def load_segments(exe):
    """[(offset, vaddr, filesz, memsz)] of PT_LOAD from readelf -lW."""
    pat = re.compile(r"^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+"
                     r"0x([0-9a-f]+)\s+0x([0-9a-f]+)")
    return [tuple(int(x, 16) for x in m.groups())
            for m in map(pat.match, readelf("-lW", exe).splitlines()) if m]


def gnu_build_id(exe):
    m = re.search(r"Build ID:\s*([0-9a-f]+)", readelf("-n", exe))
    return m.group(1) if m else ""


def section_bytes(exe, name, secs=None):
    addr, off, size = (secs or sections(exe))[name]
    with open(exe, "rb") as f:
        f.seek(off)
        return f.read(size)


def pclntab_header(exe):
    """(magic, nfunc, nfiles) from the first words of the pclntab section."""
    secs = sections(exe)
    name = next((n for n in (".gopclntab", ".data.rel.ro.gopclntab") if n in secs), None)
    if name is None:
        raise FixtureError(f"{exe}: no pclntab section in readelf -S")
    data = section_bytes(exe, name, secs)
    magic, = struct.unpack_from("<I", data, 0)
    nfunc, nfiles = struct.unpack_from("<QQ", data, 8)
    return magic, nfunc, nfiles


def cfa_rows(exe):
    """[(fde_start, fde_end, loc, cfa_offset)] from readelf's interpreted
    .debug_frame, CFA = rsp + cfa_offset; a repeated loc keeps its last row."""
    rows, fde = {}, None
    fde_pat = re.compile(r"FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)")
    row_pat = re.compile(r"^([0-9a-f]{8,16}) rsp\+(\d+)\s")
    for line in readelf("--debug-dump=frames-interp", exe).splitlines():
        m = fde_pat.search(line)
        if m:
            fde = (int(m.group(1), 16), int(m.group(2), 16))
            continue
        m = row_pat.match(line)
        if m and fde:
            loc = int(m.group(1), 16)
            if fde[0] <= loc < fde[1]:
                rows[loc] = (fde[0], fde[1], loc, int(m.group(2)))
        elif " CIE " in line:
            fde = None
    return sorted(rows.values(), key=lambda r: r[2])


def dwarf_subprograms(exe):
    """{DW_AT_low_pc: DW_AT_decl_line or None} of the top-level
    DW_TAG_subprogram DIEs: the Go functions (C code linked in for cgo has
    none; Go 1.19's linker writes no decl_line for functions)."""
    out, die = {}, None
    attr = re.compile(r"^\s+<[0-9a-f]+>\s+(DW_AT_\w+)\s*:\s*(.*)$")

    def flush():
        if die and "DW_AT_low_pc" in die:
            line = die.get("DW_AT_decl_line")
            out[int(die["DW_AT_low_pc"], 16)] = int(line) if line else None

    for line in readelf("--debug-dump=info", exe).splitlines():
        if line.startswith(" <"):  # a new DIE: keep only depth-1 subprograms
            flush()
            die = {} if line.startswith(" <1>") and "(DW_TAG_subprogram)" in line else None
            continue
        m = attr.match(line) if die is not None else None
        if m:
            die[m.group(1)] = m.group(2).split()[-1]
    flush()
    return out


# ---- go tool ---------------------------------------------------------------

def nm(tc, exe):
    """[(addr, size, kind, name)] from `go tool nm -size -sort address`."""
    out = []
    for line in tc.tool("nm", "-size", "-sort", "address", exe).splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            out.append((int(parts[0], 16), int(parts[1]), parts[2], parts[3]))
    return out


def addr2line(tc, exe, addrs):
    """{addr: (function, file, line)} from `go tool addr2line`; '?' when unknown."""
    addrs = list(addrs)
    out = tc.tool("addr2line", exe, input="".join(f"{a:#x}\n" for a in addrs)).splitlines()
    if len(out) != 2 * len(addrs):
        raise FixtureError(f"addr2line {exe}: {len(out)} lines for {len(addrs)} addresses")
    res = {}
    for i, a in enumerate(addrs):
        file, _, line = out[2 * i + 1].rpartition(":")
        res[a] = (out[2 * i], file, int(line))
    return res


def go_build_id(tc, exe):
    return tc.tool("buildid", exe).strip()


def pclntab_name(symbol):
    """The name the pclntab (and addr2line) uses for an ELF text symbol: no
    ABI suffix; Go <= 1.20 linkers also wrote generic shapes as [...]."""
    base = symbol[:-5] if symbol.endswith(".abi0") else symbol
    return base, func_name_for_print(base)


def text_functions(syms, a2l_tc, exe):
    """The nm text symbols that addr2line (of a2l_tc) also sees as function
    entries: [(addr, size, symbol, pclntab name)] by address, one per address."""
    names = {}
    for addr, size, kind, name in syms:
        if kind in "Tt":
            names.setdefault(addr, []).append((size, name))
    where = addr2line(a2l_tc, exe, sorted(names))
    funcs = []
    for addr in sorted(names):
        fn = where[addr][0]
        # ELF symbols spell the pclntab's middle dot as '.'.
        match = [s for s in names[addr] if fn.replace("\u00b7", ".") in pclntab_name(s[1])]
        if match:
            funcs.append((addr, match[0][0], match[0][1], fn))
    return funcs


class Binary:
    """One built fixture with what the oracles need: twin is the build whose
    symbols and DWARF describe exe (exe itself, or plain for stripped), funcs
    the twin's function entries, a2l the toolchain whose addr2line reads exe."""

    def __init__(self, tc, variant, exe, twin, toolchains):
        self.tc, self.variant, self.exe, self.twin = tc, variant, str(exe), str(twin)
        self.name = f"{tc.name}/{variant}/{os.path.basename(exe)}"
        self.syms = nm(tc, twin)
        self._go_funcs = None
        # addr2line of tc itself, unless it cannot read this binary (go1.19's
        # misses the pclntab of its own PIE builds): then the next that can.
        for cand in [tc] + [t for t in toolchains if t is not tc]:
            self.a2l, self.funcs = cand, text_functions(self.syms, cand, self.twin)
            if self.funcs:
                break
        else:
            raise FixtureError(f"no toolchain's addr2line reads {twin}")

    def go_functions(self):
        """{entry: decl_line or None} of the functions with Go DWARF. Only for
        these is addr2line's file:line an oracle: for the others (cgo's C
        code) it decodes a pcfile/pcln offset of 0, which the runtime reads
        as "no table", into garbage."""
        if self._go_funcs is None:
            self._go_funcs = dwarf_subprograms(self.twin)
        return self._go_funcs

    def addr2line(self, addrs):
        """addr2line on exe itself; for a stripped exe, first check that the
        twin says the same at these addresses (identical text layout)."""
        got = addr2line(self.a2l, self.exe, addrs)
        if self.twin != self.exe:
            twin = addr2line(self.a2l, self.twin, addrs)
            bad = [a for a in addrs if got[a] != twin[a]]
            if bad:
                raise FixtureError(f"{self.exe} and {self.twin} differ at {len(bad)} addresses, "
                                   f"e.g. {bad[0]:#x}: {got[bad[0]]} vs {twin[bad[0]]}")
        return got


def binary(fixture, tc, variant, toolchains):
    """The Binary of one fixture build."""
    twin = exe_path(tc, "plain" if variant == "stripped" else variant, fixture)
    return Binary(tc, variant, os.path.realpath(exe_path(tc, variant, fixture)),
                  os.path.realpath(twin), toolchains)


# ---- misc ------------------------------------------------------------------

def func_name_for_print(name):
    """runtime.funcNameForPrint: the shape list of a generic name becomes [...]."""
    i = name.find("[")
    j = name.rfind("]")
    if i < 0 or j <= i:
        return name
    return name[:i] + "[...]" + name[j + 1:]


def sample(items, n, key=str):
    """A deterministic sample of n items (all when there are fewer)."""
    if len(items) <= n:
        return list(items)
    return sorted(items, key=lambda x: hashlib.sha1(key(x).encode()).digest())[:n]


def run_matrix(name, check_binary):
    """Run check_binary(report, Binary) over every pure-Go fixture x toolchain x variant, then
    finish."""
    import fixtures as F  # pylint: disable=import-outside-toplevel
    rep = F.Report(name)
    tcs = F.setup(rep.name)
    for fx in F.go_fixture_names():
        for tc in tcs:
            for variant in F.VARIANTS:
                try:
                    check_binary(rep, binary(fx, tc, variant, tcs))
                except F.FixtureError as e:
                    rep.error(f"{tc.name}/{variant}/{fx}", e)
    rep.finish()
