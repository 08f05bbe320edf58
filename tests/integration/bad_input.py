"""Bad input for `ifxray info`: not ELF, ELF but not Go, truncated and corrupted Go executables.

Every fixture x toolchain x variant of the fixture matrix is cut and corrupted, aimed with the
ELF, pclntab and build-info layouts (parsed here with struct and cross-checked with readelf),
and then mutated at random (seeded, deterministic). Each case runs

    ifxray info --format json --pc <main.main entry> --pc <pc in an inlined call> ... \
        --func main.main FILE

with a 10 s timeout and RLIMIT_AS of 512 MiB. It must never die by a signal or time out; it
exits 0 (stdout is UTF-8 JSON with one "pcs" entry per --pc and one "funcs" entry) or 3 (stderr
is exactly one line "ifxray: <problem>", not an internal error or out of memory). Named cases
(missing, directory, empty, text, not Go, truncated, bad ELF identity) must exit 3 and say what
is wrong; usage errors exit 2. Sections renamed away must still be found by symbol or by
magic (exit 0, same answers as the intact file).

Debug sections are mutated in an objcopy-decompressed copy (plain and pie), run with --layout,
so that the damage reaches libdw rather than zlib.

Usage: bad_input.py [--mutants N] [--dwarf-mutants N] [--seed S] [--only SUBSTR] [--jobs J]
                    [--verbose] [--show N]
  --only go1.26/pie/inline runs one binary; failures print a reproducer (the mutated file is
  kept under $IFXRAY_CRASHERS or /tmp/ifxray-crashers, with a python one-liner that rebuilds it).
Environment: IFXRAY, IFXRAY_FIXTURE_CACHE (see fixtures.py).
"""
import argparse
import concurrent.futures
import hashlib
import itertools
import json
import os
import random
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures as F
import oracles as O

TIMEOUT = 10
# ifxray needs under 40 MiB of address space for these binaries; an allocation that reaches
# this limit is a huge one (bad_alloc -> "out of memory", which judge() fails).
MEM_LIMIT = 512 << 20
CRASHERS = Path(os.environ.get("IFXRAY_CRASHERS", "/tmp/ifxray-crashers"))
SCRATCH = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
# Every targeted case runs on this fixture; the others get the groups that differ per fixture.
FULL_FIXTURE = "inline"
ALL_FIXTURES_GROUPS = {"truncated", "buildinfo", "fallback", "rela"}
# Groups whose damage can put garbage into names and paths: their exit-0 output is also
# rendered as text, which must stay valid and escaped.
TEXT_GROUPS = {"func", "functab", "inltree", "pclntab", "buildinfo", "fallback"}
TRUNC_WORDS = ("truncated", "end of the file")  # a cut file must be called truncated


# ---- running ifxray --------------------------------------------------------------------------

def limited(cmd):
    """cmd under RLIMIT_AS, through util-linux prlimit: a preexec_fn would make every start a
    full fork of this (large) process, and the command line stays a complete reproducer."""
    return ["prlimit", f"--as={MEM_LIMIT}", "--", *cmd]


class Outcome:
    def __init__(self, cmd, code, signo, timed_out, out, err):
        self.cmd, self.code, self.signo, self.timed_out = cmd, code, signo, timed_out
        self.out, self.err = out, err

    def show(self):
        what = ("timed out" if self.timed_out else f"killed by signal {self.signo}"
                if self.signo else f"exit {self.code}")
        return (f"  command: {shlex.join(self.cmd)}\n  result: {what}\n"
                f"  stderr: {self.err[:600]!r}\n"
                f"  stdout: {self.out[:300]!r}\n")


def run_ifxray(args):
    """Run ifxray under the time and memory limits; stdout/stderr as bytes."""
    cmd = limited([F.ifxray_path(), *map(str, args)])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        fd = os.pidfd_open(p.pid)
        try:
            timed_out = not select.select([fd], [], [], TIMEOUT)[0]
            if timed_out:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            _, status = os.waitpid(p.pid, 0)
        finally:
            os.close(fd)
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        signo = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        return Outcome(cmd, p.returncode if not signo else None, signo, timed_out, out.read(),
                       err.read())


def info_args(path, pcs, extra=()):
    args = ["info", "--format", "json", *extra]
    for pc in pcs:
        args += ["--pc", hex(pc)]
    return args + ["--func", "main.main", path]


def judge(o, npcs, expect="any", words=None):
    """'' when the outcome obeys the rules, else why not. expect: any (0 or 3), 3, or 0."""
    if o.timed_out:
        return f"timed out after {TIMEOUT}s"
    if o.signo:
        return f"killed by signal {signal.Signals(o.signo).name}"
    if o.code not in (0, 3) or (expect != "any" and o.code != int(expect)):
        return f"exit {o.code}, want {'0 or 3' if expect == 'any' else expect}"
    if o.code == 3:
        err = o.err.decode("utf-8", "replace")
        if not err.startswith("ifxray: ") or not err.endswith("\n") or err.count("\n") != 1:
            return "exit 3 but stderr is not exactly one line 'ifxray: ...'"
        msg = err[len("ifxray: "):-1].strip()
        if not msg:
            return "exit 3 with an empty message"
        if msg.startswith("internal error") or msg == "out of memory":
            return f"exit 3 through an unexpected exception: {msg!r}"
        if words and not any(w in msg for w in words):
            return f"message {msg!r} does not mention any of {list(words)}"
        return ""
    try:
        doc = json.loads(o.out.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError is a ValueError
        return f"exit 0 but stdout is not UTF-8 JSON: {e}"
    if not isinstance(doc, dict) or len(doc.get("pcs", [])) != npcs or len(doc.get("funcs", [])) != 1:
        return f"exit 0 but the JSON lacks {npcs} pcs and 1 funcs entry"
    for p in doc["pcs"]:
        if not isinstance(p.get("frames"), list) or not ("error" in p or p["frames"]):
            return f"exit 0 but pc entry {p} has neither frames nor an error"
    return ""


# ---- aiming: ELF, pclntab and build info of one binary ---------------------------------------

def u(fmt, data, off):
    return struct.unpack_from("<" + fmt, data, off)[0]


def cstring(data, off):
    return data[off:data.index(b"\0", off)].decode("utf-8", "replace")


def uvarint(data, off):
    v = shift = 0
    while True:
        b = data[off]
        off += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if b < 0x80:
            return v, off


class Target:
    """One fixture binary and the file offsets of the structures worth corrupting."""

    def __init__(self, tc, variant, fixture, path, suffix="", made_by=""):
        self.tc, self.variant, self.fixture, self.path = tc, variant, fixture, Path(path)
        self.name = f"{tc.name}/{variant}/{fixture}{suffix}"
        self.made_by = made_by  # the command that derived path from a fixture, if any
        self.extra = []  # more ifxray info flags for every run on this binary
        self.data = self.path.read_bytes()
        self.regions = {}  # name -> (file offset, size)
        self._parse_elf()
        self._check_with_readelf()
        self._parse_pclntab()
        self._parse_buildinfo()

    def region(self, name, off, size):
        if size > 0 and 0 <= off and off + size <= len(self.data):
            self.regions[name] = (off, size)

    def _parse_elf(self):
        d = self.data
        self.phoff, self.shoff = u("Q", d, 32), u("Q", d, 40)
        self.phnum, self.shnum, self.shstrndx = u("H", d, 56), u("H", d, 60), u("H", d, 62)
        self.region("elf.header", 0, 64)
        self.region("elf.program_headers", self.phoff, self.phnum * 56)
        self.region("elf.section_headers", self.shoff, self.shnum * 64)
        self.segments = []
        for i in range(self.phnum):
            o = self.phoff + i * 56
            self.segments.append(dict(index=i, hdr=o, type=u("I", d, o), flags=u("I", d, o + 4),
                                      offset=u("Q", d, o + 8), vaddr=u("Q", d, o + 16),
                                      filesz=u("Q", d, o + 32)))
        raw = []
        for i in range(self.shnum):
            o = self.shoff + i * 64
            raw.append(dict(index=i, hdr=o, name_off=u("I", d, o), type=u("I", d, o + 4),
                            flags=u("Q", d, o + 8), addr=u("Q", d, o + 16),
                            offset=u("Q", d, o + 24), size=u("Q", d, o + 32),
                            link=u("I", d, o + 40)))
        strtab = raw[self.shstrndx]
        self.sections = {}
        for s in raw:
            s["name"] = cstring(d, strtab["offset"] + s["name_off"])
            self.sections[s["name"]] = s
            if s["type"] != 8:  # SHT_NOBITS
                self.region("section " + s["name"], s["offset"], s["size"])
        # The end of everything the headers say is in the file: a cut below it is a truncation.
        self.data_end = max([s["offset"] + s["size"] for s in raw if s["type"] != 8] +
                            [p["offset"] + p["filesz"] for p in self.segments] +
                            [self.shoff + self.shnum * 64, self.phoff + self.phnum * 56])
        self.symbols = {}
        if ".symtab" in self.sections:
            st = self.sections[".symtab"]
            names = raw[st["link"]]
            for o in range(st["offset"], st["offset"] + st["size"], 24):
                n = u("I", d, o)
                if n:
                    self.symbols.setdefault(cstring(d, names["offset"] + n),
                                            (u("Q", d, o + 8), o))

    def _check_with_readelf(self):
        want = {n: v for n, v in O.sections(self.path).items() if n != "NULL"}
        got = {n: (s["addr"], s["offset"], s["size"]) for n, s in self.sections.items() if n}
        if want != got:
            raise F.FixtureError(f"{self.name}: section table parsed here differs from readelf:\n"
                                 f"  readelf {want}\n  here    {got}")

    def file_offset(self, vaddr):
        for p in self.segments:
            if p["type"] == 1 and p["vaddr"] <= vaddr < p["vaddr"] + p["filesz"]:
                return p["offset"] + vaddr - p["vaddr"]
        return None

    def _parse_pclntab(self):
        names = [n for n in (".gopclntab", ".data.rel.ro.gopclntab") if n in self.sections]
        if not names:
            raise F.FixtureError(f"{self.name}: no pclntab section")
        self.pcln_name = names[0]
        d, s = self.data, self.sections[names[0]]
        self.pcln_sec = s
        base = self.pcln = s["offset"]
        self.pcln_addr = s["addr"]
        self.magic, self.min_lc = u("I", d, base), d[base + 6]
        self.nfunc = u("Q", d, base + 8)
        names, cu, files, pctab, table = (u("Q", d, base + 32 + 8 * i) for i in range(5))
        self.funcnametab_off = names
        self.pctab = base + pctab
        self.functab = base + table
        self.region("pclntab.header", base, 72)
        self.region("pclntab.funcnametab", base + names, cu - names)
        self.region("pclntab.cutab", base + cu, files - cu)
        self.region("pclntab.filetab", base + files, pctab - files)
        self.region("pclntab.pctab", base + pctab, table - pctab)
        self.region("pclntab.functab", self.functab, (self.nfunc + 1) * 8)
        self.region("pclntab.funcs", self.functab + (self.nfunc + 1) * 8,
                    s["size"] - table - (self.nfunc + 1) * 8)
        self.go120 = self.magic == 0xfffffff1
        fsize = 44 if self.go120 else 40
        self.main = None
        for i in range(self.nfunc):
            foff = u("I", d, self.functab + i * 8 + 4)
            fo = self.functab + foff
            if cstring(d, base + names + u("i", d, fo + 4)) == "main.main":
                npcdata, nfuncdata = u("I", d, fo + 28), d[fo + fsize - 1]
                self.main = dict(index=i, slot=self.functab + i * 8, func=fo, npcdata=npcdata,
                                 nfuncdata=nfuncdata, entryoff=u("I", d, fo),
                                 pcsp=u("I", d, fo + 16), pcfile=u("I", d, fo + 20),
                                 pcln=u("I", d, fo + 24),
                                 pcdata=[u("I", d, fo + fsize + 4 * k) for k in range(npcdata)],
                                 funcdata=[u("I", d, fo + fsize + 4 * (npcdata + k))
                                           for k in range(nfuncdata)])
                self.region("pclntab.main_func", fo, fsize + 4 * (npcdata + nfuncdata))
                break
        if self.main is None:
            raise F.FixtureError(f"{self.name}: main.main not in pclntab")
        m = self.main
        for name in ("pcsp", "pcfile", "pcln"):
            self.region(f"pctab.main.{name}", self.pctab + m[name], 24)
        if len(m["pcdata"]) > 2 and m["pcdata"][2]:
            self.region("pctab.main.inltree_index", self.pctab + m["pcdata"][2], 24)

    def pc_values(self, table_off, entry, size):
        """[(start, end, value)] of a pc-value table, decoded here."""
        d, o, pc, val, out, first = self.data, self.pctab + table_off, entry, -1, [], True
        while True:
            uv, o = uvarint(d, o)
            if uv == 0 and not first:
                return out
            first = False
            val += -(uv >> 1) - 1 if uv & 1 else uv >> 1
            step, o = uvarint(d, o)
            if step:
                out.append((pc, pc + step * self.min_lc, val))
            pc += step * self.min_lc
            if pc >= entry + size:
                return out

    def aim_main(self, entry, end):
        """With main.main's absolute entry known: a pc inside an inlined call and the inline
        tree's file offset."""
        self.main_entry, m = entry, self.main
        self.inline_pc = None
        self.inltree = None
        if len(m["pcdata"]) <= 2 or not m["pcdata"][2] or len(m["funcdata"]) <= 3:
            return
        ranges = self.pc_values(m["pcdata"][2], entry, end - entry)
        inlined = [r for r in ranges if r[2] >= 0]
        if not inlined:
            return
        self.inline_pc = inlined[len(inlined) // 2][0]
        gofunc = self.gofunc()
        esize = 16 if self.go120 else 20
        count = max(r[2] for r in inlined) + 1
        off = self.file_offset(gofunc + m["funcdata"][3])
        if off is not None:
            self.inltree = (off, esize, count)
            self.region("inltree.main", off, esize * count)

    def gofunc(self):
        """go:func.* (the inline trees' base): the symbol, else moduledata.gofunc."""
        for name in ("go:func.*", "go.func.*"):
            if name in self.symbols:
                sym = self.symbols[name][0]
                md = self.moduledata_gofunc()
                if md is not None and md != sym:
                    raise F.FixtureError(f"{self.name}: moduledata.gofunc {md:#x} != {name} {sym:#x}")
                return sym
        md = self.moduledata_gofunc()
        if md is None:
            raise F.FixtureError(f"{self.name}: cannot find moduledata")
        return md

    def moduledata_gofunc(self):
        d = self.data
        minor = int(re.match(r"go1\.(\d+)", self.tc.version).group(1))
        field = 304 if minor < 20 else 320 if minor < 27 else 344
        want = struct.pack("<QQ", self.pcln_addr, self.pcln_addr + self.funcnametab_off)
        for p in self.segments:
            if p["type"] != 1 or not p["flags"] & 2:
                continue
            seg = d[p["offset"]:p["offset"] + p["filesz"]]
            for m in re.finditer(re.escape(want), seg):
                if m.start() % 8 == 0:
                    return u("Q", seg, m.start() + field)
        return None  # PIE: the words are relocations; those builds keep the symbol

    def _parse_buildinfo(self):
        s = self.sections[".go.buildinfo"]
        self.bi = s["offset"]
        d = self.data
        if d[self.bi + 15] & 2 == 0:
            raise F.FixtureError(f"{self.name}: build info is not in the inline form")
        vlen, o = uvarint(d, self.bi + 32)
        self.bi_version_len = self.bi + 32
        self.bi_mod_len = o + vlen
        self.region("buildinfo.header", self.bi, 32)
        mlen, o2 = uvarint(d, self.bi_mod_len)
        self.region("buildinfo.strings", self.bi + 32, o2 + mlen - self.bi - 32)
        self.bi_mod_text = (o2, mlen)


# ---- mutations -------------------------------------------------------------------------------

class Mutation:
    """Patches (offset, new bytes) and an optional cut, described exactly."""

    def __init__(self, what, patches=(), cut=None):
        self.what, self.patches, self.cut = what, list(patches), cut

    def apply(self, data):
        b = bytearray(data)
        for off, new in self.patches:
            b[off:off + len(new)] = new
        if self.cut is not None:
            del b[self.cut:]
        return b

    def rebuild(self, src, dst):
        ops = "".join(f"d[{off:#x}:{off + len(new):#x}]=bytes.fromhex('{new.hex()}');"
                      for off, new in self.patches)
        if self.cut is not None:
            ops += f"d=d[:{self.cut:#x}];"
        return (f"python3 -c \"d=bytearray(open('{src}','rb').read());{ops}"
                f"open('{dst}','wb').write(d)\"")


def put(fmt, off, value):
    return (off, struct.pack("<" + fmt, value))


def varint(v):
    out = bytearray()
    while True:
        out.append((v & 0x7f) | (0x80 if v > 0x7f else 0))
        v >>= 7
        if not v:
            return bytes(out)


HUGE64 = 0xffff_ffff_ffff_fff0


def targeted(t):
    """[(case, Mutation, expect, words)] aimed at the structures of t."""
    cases = []
    size = len(t.data)

    def add(case, what, patches=(), cut=None, expect="any", words=None):
        cases.append((case, Mutation(what, patches, cut), expect, words))

    # Truncations: every cut below the end of the data the headers describe must exit 3.
    cuts = {"empty": 0, "1 byte": 1, "3 bytes": 3, "ELF magic only": 4, "inside e_ident": 16,
            "inside the ELF header": 40, "ELF header minus 1": 63, "ELF header only": 64,
            "inside the program headers": t.phoff + 30,
            "inside the section headers": t.shoff + 64 * (t.shnum // 2) + 7,
            "after the section headers": t.shoff + 64 * t.shnum,
            "inside .gopclntab header": t.pcln + 12, "after .gopclntab header": t.pcln + 72,
            "inside the function table": t.functab + 8 * (t.nfunc // 2) + 3,
            "inside main.main's _func": t.main["func"] + 9,
            "half of .gopclntab": t.pcln + t.pcln_sec["size"] // 2,
            "last byte of .gopclntab": t.pcln + t.pcln_sec["size"] - 1,
            "inside .go.buildinfo magic": t.bi + 7, "inside .go.buildinfo header": t.bi + 20,
            "inside the build info strings": t.bi_mod_text[0] + t.bi_mod_text[1] // 2,
            "half the file": size // 2, "the last byte of data": t.data_end - 1}
    for what, cut in cuts.items():
        if cut >= t.data_end:
            raise F.FixtureError(f"{t.name}: cut {what} at {cut:#x} is past the data ({t.data_end:#x})")
        words = ("empty file",) if cut == 0 else ("not an ELF file",) if cut < 4 else ("truncated",) if cut < 64 else TRUNC_WORDS
        add("truncated", f"cut {what} (keep {cut:#x} of {size:#x} bytes)", cut=cut, expect="3",
            words=words)

    # ELF identity and header fields.
    add("elf", "ELF magic 7f454c46 -> 7f454c47", [(3, b"G")], expect="3", words=("not an ELF file",))
    add("elf", "EI_CLASS 2 -> 1 (32-bit)", [(4, b"\x01")], expect="3", words=("64-bit",))
    add("elf", "EI_DATA 1 -> 2 (big-endian)", [(5, b"\x02")], expect="3", words=("endian",))
    add("elf", "e_type -> ET_REL", [put("H", 16, 1)], expect="3",
        words=("not an executable", "neither an executable"))
    # A core file without NT_FILE: info must ask for its executable (or refuse it).
    add("elf", "e_type -> ET_CORE", [put("H", 16, 4)], expect="3", words=("executable",))
    add("elf", "e_machine -> EM_386", [put("H", 18, 3)], expect="3", words=("machine",))
    for fmt, off, field in (("Q", 32, "e_phoff"), ("Q", 40, "e_shoff")):
        for v in (HUGE64, size, size - 8, 1):
            add("elf", f"{field} = {v:#x}", [put(fmt, off, v)])
    for fmt, off, field in (("H", 54, "e_phentsize"), ("H", 56, "e_phnum"), ("H", 58, "e_shentsize"),
                            ("H", 60, "e_shnum"), ("H", 62, "e_shstrndx")):
        for v in (0, 1, 0xffff, 0xfff0):
            add("elf", f"{field} = {v:#x}", [put(fmt, off, v)])
    add("elf", "e_shnum = 0 and section 0 sh_size (count) = 2^32-1",
        [put("H", 60, 0), put("Q", t.shoff + 32, 0xffffffff)])
    add("elf", "e_shstrndx = SHN_XINDEX and section 0 sh_link = 2^32-1",
        [put("H", 62, 0xffff), put("I", t.shoff + 40, 0xffffffff)])
    add("elf", "e_phnum = PN_XNUM and section 0 sh_info = 2^32-1",
        [put("H", 56, 0xffff), put("I", t.shoff + 44, 0xffffffff)])
    for p in t.segments:
        if p["type"] in (1, 4):  # PT_LOAD, PT_NOTE
            kind = "PT_LOAD" if p["type"] == 1 else "PT_NOTE"
            add("elf", f"program header {p['index']} ({kind}) p_offset = 2^64-16",
                [put("Q", p["hdr"] + 8, HUGE64)])
            add("elf", f"program header {p['index']} ({kind}) p_filesz = 2^64-16",
                [put("Q", p["hdr"] + 32, HUGE64)])
            add("elf", f"program header {p['index']} ({kind}) p_vaddr = 2^64-4096",
                [put("Q", p["hdr"] + 16, 0xffff_ffff_ffff_f000)])

    # Section headers.
    interesting = [t.pcln_name, ".go.buildinfo", ".symtab", ".strtab", ".shstrtab", ".rela",
                   ".note.go.buildid", ".note.gnu.build-id", ".debug_info", ".dynsym", ".text"]
    for name in interesting:
        s = t.sections.get(name)
        if not s:
            continue
        h = s["hdr"]
        add("section", f"{name} sh_offset = 2^64-16", [put("Q", h + 24, HUGE64)])
        add("section", f"{name} sh_offset = file size - 4", [put("Q", h + 24, size - 4)])
        add("section", f"{name} sh_size = 2^64-16", [put("Q", h + 32, HUGE64)])
        add("section", f"{name} sh_size = 0", [put("Q", h + 32, 0)])
        add("section", f"{name} sh_size = 3", [put("Q", h + 32, 3)])
        add("section", f"{name} sh_name = 2^32-1", [put("I", h, 0xffffffff)])
        add("section", f"{name} sh_type = SHT_NOBITS", [put("I", h + 4, 8)])
        add("section", f"{name} sh_link = 2^32-1", [put("I", h + 40, 0xffffffff)])
        add("section", f"{name} sh_addr = 2^64-16", [put("Q", h + 16, HUGE64)])
    shstr = t.sections[".shstrtab"]
    add("section", ".shstrtab without its last NUL",
        [(shstr["offset"] + shstr["size"] - 1, b"x")])
    add("section", "every section name points at the last byte of .shstrtab, made non-NUL",
        [(shstr["offset"] + shstr["size"] - 1, b"x")] +
        [put("I", s["hdr"], shstr["size"] - 1) for s in t.sections.values()])

    # Fallbacks: with a section's name gone, the table is found by symbol or by magic.
    for name in (t.pcln_name, ".go.buildinfo"):
        s = t.sections[name]
        at = shstr["offset"] + s["name_off"]
        add("fallback", f"rename section {name} to _{name[1:]}", [(at, b"_")], expect="0")
    if ".symtab" in t.sections:  # as if stripped: moduledata by relocation (PIE) or by scan
        add("fallback", "hide .symtab (sh_type = SHT_NULL) and rename .go.module",
            [put("I", t.sections[".symtab"]["hdr"] + 4, 0)] +
            [(shstr["offset"] + s["name_off"], b"_") for n, s in t.sections.items()
             if n == ".go.module"], expect="0")
    add("fallback", f"rename {t.pcln_name} and .go.module",
        [(shstr["offset"] + s["name_off"], b"_") for n, s in t.sections.items()
         if n in (t.pcln_name, ".go.module")], expect="0")

    # pclntab header.
    p = t.pcln
    add("pclntab", "magic -> 0xfffffffb (Go 1.2)", [put("I", p, 0xfffffffb)], expect="3",
        words=("1.18",))
    add("pclntab", "magic -> 0xfffffffa (Go 1.16)", [put("I", p, 0xfffffffa)], expect="3",
        words=("1.18",))
    add("pclntab", "magic -> 0x12345678", [put("I", p, 0x12345678)], expect="3", words=("magic",))
    add("pclntab", "pad bytes != 0", [(p + 4, b"\x01\x01")])
    for v, what in ((0, "0"), (3, "3"), (255, "255")):
        add("pclntab", f"minLC (pc quantum) = {what}", [(p + 6, bytes([v]))])
    add("pclntab", "ptrSize = 4", [(p + 7, b"\x04")])
    for v in (0, 1, 2, t.nfunc + 1, t.nfunc * 2, 0x7fffffff, 0xffffffff, 1 << 24, (1 << 24) + 1,
              HUGE64):
        add("pclntab", f"nfunc = {v:#x}", [put("Q", p + 8, v)])
    for v in (0, 0xffffffff, HUGE64):
        add("pclntab", f"nfiles = {v:#x}", [put("Q", p + 16, v)])
    add("pclntab", "textStart = 2^64-16", [put("Q", p + 24, HUGE64)])
    for i, name in enumerate(("funcnameOffset", "cuOffset", "filetabOffset", "pctabOffset",
                              "funcdataOffset")):
        old = u("Q", t.data, p + 32 + 8 * i)
        for v in (0, 71, old + 1, old - 8, t.pcln_sec["size"],
                  t.pcln_sec["size"] - 8, HUGE64):
            add("pclntab", f"{name} {old:#x} -> {v:#x}", [put("Q", p + 32 + 8 * i, v & (2**64 - 1))])

    # Function table and main.main's _func.
    m, ft, fo = t.main, t.functab, t.main["func"]
    last = ft + t.nfunc * 8
    add("functab", "sentinel entry (end of text) = 0", [put("I", last, 0)])
    add("functab", "sentinel entry (end of text) = 2^32-1", [put("I", last, 0xffffffff)])
    add("functab", "first entry = 2^32-1", [put("I", ft, 0xffffffff)])
    add("functab", "entries reversed around main.main",
        [put("I", m["slot"], 0xffffffff), put("I", m["slot"] + 8, 0)])
    for v in (0, 0xffffffff, 0x7ffffffc, m["entryoff"] + 1):
        add("functab", f"main.main entry offset = {v:#x}", [put("I", m["slot"], v)])
    for v in (0, 0xffffffff, 0x7ffffffc, t.pcln_sec["size"], fo - ft + 2):
        add("functab", f"main.main _func offset = {v:#x}", [put("I", m["slot"] + 4, v)])
    fields = (("entryOff", 0), ("nameOff", 4), ("args", 8), ("deferreturn", 12), ("pcsp", 16),
              ("pcfile", 20), ("pcln", 24), ("npcdata", 28), ("cuOffset", 32))
    fields += (("startLine", 36),) if t.go120 else ()
    for name, off in fields:
        for v in (0xffffffff, 0x7fffffff, 0x80000000, 1):
            add("func", f"main.main _func.{name} = {v:#x}", [put("I", fo + off, v)])
    name_at = t.pcln + t.funcnametab_off + u("i", t.data, fo + 4)
    for new, what in ((b"main.\xfa\x9d\xacn", "an invalid UTF-8 lead byte 0xfa"),
                      (b"main.\xc0\xafin", "an overlong '/' (c0 af)"),
                      (b"main.\xed\xa0\x80n", "a UTF-16 surrogate (ed a0 80)"),
                      (b"ma\x1b[2J\x07\x7fn", "terminal escapes")):
        add("func", f"main.main's name bytes -> {new!r} ({what})", [(name_at, new)])
    nfd = fo + (43 if t.go120 else 39)
    add("func", "main.main _func.nfuncdata = 255", [(nfd, b"\xff")])
    add("func", "main.main _func.flag = 255", [(nfd - 2, b"\xff")])
    base = fo + (44 if t.go120 else 40)
    for k in range(len(m["pcdata"])):
        add("func", f"main.main pcdata[{k}] = 2^32-1", [put("I", base + 4 * k, 0xffffffff)])
    for k in range(len(m["funcdata"])):
        add("func", f"main.main funcdata[{k}] = 2^32-2", [put("I", base + 4 * (len(m["pcdata"]) + k),
                                                                0xfffffffe)])

    # pc-value tables of main.main.
    tables = {"pcsp": m["pcsp"], "pcfile": m["pcfile"], "pcln": m["pcln"]}
    if len(m["pcdata"]) > 2 and m["pcdata"][2]:
        tables["inline index"] = m["pcdata"][2]
    for name, off in tables.items():
        at = t.pctab + off
        add("pctab", f"main.main {name} table: 12 bytes of 0xff (varint too long)",
            [(at, b"\xff" * 12)])
        add("pctab", f"main.main {name} table: first value delta = +2^31", [(at, varint(0xfffffffe))])
        add("pctab", f"main.main {name} table: first pc step = 2^32-1",
            [(at + len(varint(u("B", t.data, at))), b"\xff\xff\xff\xff\x0f")])
        add("pctab", f"main.main {name} table: zeroed (ends at once)", [(at, b"\0" * 8)])
        add("pctab", f"main.main {name} table: steps of 0 forever",
            [(at, b"\x02\x00" * 12)])

    # Inline tree of main.main.
    if t.inltree:
        off, esize, count = t.inltree
        name_at, parent_at = (4, 8) if t.go120 else (12, 16)
        ipc_off = t.inline_pc - t.main_entry
        for i in range(min(count, 4)):
            e = off + i * esize
            add("inltree", f"entry {i} nameOff = 2^31-1", [put("i", e + name_at, 0x7fffffff)])
            add("inltree", f"entry {i} nameOff = -2", [put("i", e + name_at, -2)])
            add("inltree", f"entry {i} parentPc = 2^31-1", [put("i", e + parent_at, 0x7fffffff)])
            add("inltree", f"entry {i} parentPc = -4", [put("i", e + parent_at, -4)])
            add("inltree", f"entry {i} parentPc = the inlined pc itself (a cycle)",
                [put("i", e + parent_at, ipc_off)])
        add("inltree", "all entries' parentPc point into inlined code (cycle through the tree)",
            [put("i", off + i * esize + parent_at, ipc_off) for i in range(count)])
        add("inltree", "main.main funcdata[3] (inline tree) = 2^31",
            [put("I", base + 4 * (len(m["pcdata"]) + 3), 0x80000000)])

    # Build info.
    b = t.bi
    add("buildinfo", "magic byte flipped", [(b + 1, b"G")], expect="3", words=("not a Go program",))
    add("buildinfo", "pointer size 0, flags 0 (pointer form)", [(b + 14, b"\x00\x00")])
    add("buildinfo", "flags: pointer form, pointers 2^64-16",
        [(b + 15, b"\x00"), put("Q", b + 16, HUGE64), put("Q", b + 24, HUGE64)])
    add("buildinfo", "flags: pointer form, pointers at the header",
        [(b + 15, b"\x00"), put("Q", b + 16, t.sections[".go.buildinfo"]["addr"]),
         put("Q", b + 24, t.sections[".go.buildinfo"]["addr"] + 8)])
    add("buildinfo", "flags: big-endian", [(b + 15, b"\x03")], expect="3", words=("big-endian",))
    for at, what in ((t.bi_version_len, "version"), (t.bi_mod_len, "module info")):
        add("buildinfo", f"{what} length = 2^63 (varint)", [(at, varint(1 << 63))])
        add("buildinfo", f"{what} length varint of 11 bytes", [(at, b"\xff" * 10 + b"\x01")])
        add("buildinfo", f"{what} length varint overflowing 64 bits", [(at, b"\xff" * 9 + b"\x7f")])
        add("buildinfo", f"{what} length = 2^24+1", [(at, varint((1 << 24) + 1))])
        add("buildinfo", f"{what} length = past the section", [(at, varint(0x3fff))])
    add("buildinfo", "version string does not start with go",
        [(t.bi_version_len + 1, b"xx")], expect="3", words=("version",))
    text_at, text_len = t.bi_mod_text
    text = t.data[text_at:text_at + text_len]
    for needle, repl, what in ((b"\tpath\t", b"\tpath\x00", "NUL in the path line"),
                               (b"\n", b"\t", "newlines become tabs"),
                               (b"build\t-compiler", b'build\t"\\xZZzz"', "setting key with bad \\x escape"),
                               (b"build\tGOOS=linux", b'build\tGOOS="\\x"', "setting value \"\\x\""),
                               (b"build\tGOOS=linux", b'build\tGOOS="\\"', "setting value \"\\\""),
                               (b"build\tGOOS=linux", b"build\tGOOS=\xfa\x9d\xac\xff\xfe",
                                "setting value with invalid UTF-8"),
                               (b"build\tGOOS=linux", b"build\tGOOS=\x1b]0;x\x07",
                                "setting value with terminal escapes")):
        i = text.find(needle)
        if i >= 0:
            add("buildinfo", f"module info: {what}", [(text_at + i, repl)])
    add("buildinfo", "module info: all 0xff", [(text_at, b"\xff" * text_len)])

    # Relocations (PIE): the words that point at pclntab and build info strings.
    rela = t.sections.get(".rela")
    hits = [o for o in range(rela["offset"], rela["offset"] + rela["size"], 24)
            if u("Q", t.data, o + 16) == t.pcln_addr] if rela else []
    if t.variant == "pie" and not hits:
        raise F.FixtureError(f"{t.name}: no relocation points at the pclntab")
    if hits:  # PIE (a cgo build has a few relocations too, none to pclntab)
        for o in hits[:2]:
            add("rela", f"relocation at {o:#x} to pclntab: addend = pclntab+8",
                [put("Q", o + 16, t.pcln_addr + 8)])
            add("rela", f"relocation at {o:#x} to pclntab: addend = 2^64-16", [put("Q", o + 16, HUGE64)])
            add("rela", f"relocation at {o:#x} to pclntab: r_offset = 2^64-8", [put("Q", o, 2**64 - 8)])
            add("rela", f"relocation at {o:#x} to pclntab: type = R_X86_64_NONE", [put("Q", o + 8, 0)])
        add("rela", "every relocation's addend = 0",
            [put("Q", o + 16, 0) for o in range(rela["offset"], rela["offset"] + rela["size"], 24)])
        add("rela", ".rela sh_size = not a multiple of 24", [put("Q", rela["hdr"] + 32, 25)])

    # Notes and compressed DWARF.
    for name in (".note.go.buildid", ".note.gnu.build-id"):
        s = t.sections.get(name)
        if s:
            add("note", f"{name} namesz = 2^32-1", [put("I", s["offset"], 0xffffffff)])
            add("note", f"{name} descsz = 2^32-8", [put("I", s["offset"] + 4, 0xfffffff8)])
    di = t.sections.get(".debug_info")
    if di and di["flags"] & 0x800:  # SHF_COMPRESSED: Elf64_Chdr first
        add("dwarf", ".debug_info ch_size = 2^62", [put("Q", di["offset"] + 8, 1 << 62)])
        add("dwarf", ".debug_info ch_type = 7", [put("I", di["offset"], 7)])
        add("dwarf", ".debug_info zlib stream corrupted", [(di["offset"] + 24, b"\xff" * 16)])
        add("dwarf", ".debug_info first unit length = 2^32-16 (in the compressed data: zeroed)",
            [(di["offset"] + 24, b"\0" * 64)])
    return cases


VALUES = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe,
          0xffffffff, 0x7fffffffffffffff, 0xffffffffffffffff, 1 << 24, 1 << 32]


def random_mutation(t, rng, prefix=""):
    """One seeded random mutation of t: 1-3 edits, most of them aimed at a table (at one whose
    name starts with prefix, when given)."""
    names = sorted(r for r in t.regions if r.startswith(prefix))
    patches, parts, cut = [], [], None
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        region = rng.choice(names) if prefix or rng.random() < 0.85 else "whole file"
        off, size = t.regions.get(region, (0, len(t.data)))
        op = "cut" if rng.random() < 0.03 else rng.choice(("bits", "bits", "word", "word", "word",
                                                             "bytes", "zero", "varint"))
        if op == "cut":
            cut = off + rng.randrange(size)
            parts.append(f"cut at {cut:#x} ({region}+{cut - off:#x})")
            continue
        if op == "bits":
            at = off + rng.randrange(size)
            bits = rng.sample(range(8), rng.randint(1, 3))
            new = bytes([t.data[at] ^ sum(1 << b for b in bits)])
        elif op == "word":
            width = rng.choice((1, 2, 4, 4, 8))
            at = off + rng.randrange(0, max(1, size - width + 1), 4 if width >= 4 and size >= 8 else 1)
            v = rng.choice(VALUES + [rng.getrandbits(64), len(t.data), size]) & ((1 << 8 * width) - 1)
            new = v.to_bytes(width, "little")
        elif op == "bytes":
            at = off + rng.randrange(size)
            new = rng.randbytes(rng.randint(1, 16))
        elif op == "zero":
            at = off + rng.randrange(size)
            new = bytes(rng.randint(1, 64))
        else:
            at = off + rng.randrange(size)
            new = b"\xff" * rng.randint(1, 12) + bytes([rng.randrange(128)])
        new = new[:len(t.data) - at]
        patches.append((at, new))
        parts.append(f"{op} at {at:#x} ({region}+{at - off:#x}) = {new.hex()} "
                     f"(was {t.data[at:at + len(new)].hex()})")
    return Mutation("; ".join(parts), patches, cut)


# ---- the test --------------------------------------------------------------------------------

class Runner:
    def __init__(self, report):
        self.report = report
        self.scratch = Path(tempfile.mkdtemp(prefix="ifxray-bad-", dir=SCRATCH))
        self.counter = itertools.count()

    def case(self, t, case, mutation, expect="any", words=None, text_too=False):
        """Run one mutant of t; returns (case, problem or '', outcome, mutation)."""
        path = self.scratch / f"{t.name.replace('/', '-')}-{os.getpid()}-{next(self.counter)}"
        path.write_bytes(mutation.apply(t.data))
        try:
            o = run_ifxray(info_args(path, t.pcs, t.extra))
            why = judge(o, len(t.pcs), expect, words)
            if not why and text_too and o.code == 0:
                o2 = run_ifxray(["info", "--format", "text", *info_args(path, t.pcs)[3:]])
                why = text_problem(o, o2)
                o = o2 if why else o
            if why:
                tag = hashlib.sha1(mutation.what.encode()).hexdigest()[:10]
                keep = CRASHERS / f"{t.name.replace('/', '-')}-{case.split(':')[0]}-{tag}"
                CRASHERS.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, keep)
                o.cmd = [str(keep) if c == str(path) else c for c in o.cmd]
                why += (f"\n  mutation: {mutation.what}\n  saved as: {keep}\n  rebuild: "
                        f"{t.made_by + ' && ' if t.made_by else ''}"
                        f"{mutation.rebuild(t.path, keep)}\n")
            return case, why, o
        finally:
            path.unlink(missing_ok=True)


def text_problem(json_outcome, o):
    """The text format must agree on the exit status and print only valid, escaped text."""
    if o.timed_out or o.signo or o.code != json_outcome.code:
        return f"--format text: exit {o.code} (signal {o.signo}), json exited {json_outcome.code}"
    try:
        s = o.out.decode("utf-8")
    except ValueError as e:
        return f"--format text: stdout is not UTF-8 ({e})"
    bad = [c for c in s if ord(c) < 32 and c not in "\n\t" or ord(c) == 0x7f]
    if bad:
        return f"--format text: raw control characters {bad[:5]!r} reach the terminal"
    return ""


def baseline(t):
    """Intact binary: exit 0, main.main where the symbol table says; aims the pcs."""
    o = run_ifxray(["info", "--format", "json", "--func", "main.main", t.path])
    if o.code != 0:
        raise F.FixtureError(f"{t.name}: intact binary fails:\n{o.show()}")
    doc = json.loads(o.out)
    fn = doc["funcs"][0]
    entry, end = int(fn["entry"], 16), int(fn["end"], 16)
    if "main.main" in t.symbols and t.symbols["main.main"][0] != entry:
        raise F.FixtureError(f"{t.name}: main.main at {entry:#x}, symtab says "
                             f"{t.symbols['main.main'][0]:#x}")
    t.aim_main(entry, end)
    text = doc["text"]
    t.pcs = [entry, entry + 1, int(text["end"], 16) - 1, 1, 2**64 - 1]
    if t.inline_pc is not None:
        t.pcs.insert(1, t.inline_pc)
    t.doc = doc
    return doc


def dwarf_target(t, scratch):
    """t with its debug sections decompressed, run with --layout."""
    path = scratch / (t.name.replace("/", "-") + "-dwarf")
    made_by = f"objcopy --decompress-debug-sections {t.path} {path}"
    F.run(["objcopy", "--decompress-debug-sections", str(t.path), str(path)])
    dt = Target(t.tc, t.variant, t.fixture, path, suffix="+dwarf", made_by=made_by)
    if any(s["flags"] & 0x800 for n, s in dt.sections.items() if n.startswith(".debug_")):
        raise F.FixtureError(f"{dt.name}: objcopy left compressed debug sections")
    baseline(dt)
    dt.extra = ["--layout"]
    o = run_ifxray(info_args(path, dt.pcs, dt.extra))
    why = judge(o, len(dt.pcs), "0")
    if why or json.loads(o.out).get("layout", {}).get("source") != "DWARF":
        raise F.FixtureError(f"{dt.name}: intact copy: {why or 'layout not from DWARF'}\n{o.show()}")
    return dt


def check_fallback(t, o):
    """A renamed section: the answers must equal the intact file's."""
    doc = json.loads(o.out)
    keys = ("go_version", "main_path", "deps", "settings", "functions", "files", "text")
    diff = [k for k in keys if doc.get(k) != t.want.get(k)]
    if doc["funcs"][0].get("entry") != t.want["funcs"][0].get("entry"):
        diff.append("funcs[0].entry")
    if [p.get("frames") for p in doc["pcs"]] != [p.get("frames") for p in t.want["pcs"]]:
        diff.append("pcs frames")
    return f"differs from the intact file in {diff}" if diff else ""


def named_cases(report, scratch, some_go_exe):
    text = scratch / "hello.txt"
    text.write_text("hello, not an ELF file\n")
    empty = scratch / "empty"
    empty.write_bytes(b"")
    script = scratch / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    elf_not_go = [p for p in ("/bin/true", "/usr/bin/env", "/lib/x86_64-linux-gnu/libc.so.6")
                  if os.path.exists(p)]
    cases = [("missing path", scratch / "does-not-exist", ["No such file"]),
             ("directory", scratch, ["not a regular file"]),
             ("empty file", empty, ["empty file"]),
             ("text file", text, ["not an ELF file"]),
             ("shell script", script, ["not an ELF file"]),
             ("/dev/null", "/dev/null", ["not a regular file"])]
    cases += [(f"ELF but not Go: {p}", p, ["not a Go program"]) for p in elf_not_go]
    for name, path, words in cases:
        o = run_ifxray(info_args(path, [0x401000]))
        why = judge(o, 1, "3", words)
        if not why and str(path) not in o.err.decode("utf-8", "replace"):
            why = "the message does not name the file"
        report.check(not why, f"named: {name}", f"  {why}\n{o.show()}")

    usage = [("unknown flag", ["info", "--bogus", some_go_exe]),
             ("missing target", ["info"]),
             ("missing subcommand", []),
             ("unknown subcommand", ["nosuch", some_go_exe]),
             ("bad --pc zz", ["info", "--pc", "zz", some_go_exe]),
             ("bad --pc 0x", ["info", "--pc", "0x", some_go_exe]),
             ("bad --pc -1", ["info", "--pc", "-1", some_go_exe]),
             ("bad --pc 2^64", ["info", "--pc", "0x10000000000000000", some_go_exe]),
             ("--pc without a value", ["info", some_go_exe, "--pc"]),
             ("bad --format", ["info", "--format", "xml", some_go_exe]),
             ("two targets", ["info", some_go_exe, some_go_exe]),
             ("bad --pc before a missing target", ["info", "--pc", "zz", scratch / "nope"])]
    for name, args in usage:
        o = run_ifxray(args)
        ok = o.code == 2 and o.err.startswith(b"ifxray: ") and not o.out
        report.check(ok, f"usage: {name}", f"  want exit 2, 'ifxray: ...' on stderr, no stdout\n"
                     f"{o.show()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=300,
                    help="random mutants per toolchain x variant, shared by the fixtures")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--only", default="", help="only binaries whose toolchain/variant/fixture "
                    "name contains this")
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--dwarf-mutants", type=int, default=25,
                    help="random DWARF mutants (run with --layout) per plain/pie binary")
    ap.add_argument("--verbose", action="store_true", help="print every case's outcome")
    ap.add_argument("--show", type=int, default=10, help="failures shown per group")
    args = ap.parse_args()
    report = F.Report("bad_input", max_shown=args.show)
    t0 = time.monotonic()
    try:
        built = F.build_all()
        targets = [Target(tc, v, fx, built[(tc.name, v, fx)])
                   for tc in F.toolchains() for v in F.VARIANTS for fx in F.go_fixture_names()
                   if args.only in f"{tc.name}/{v}/{fx}"]
        if not targets:
            raise F.FixtureError(f"no binary matches --only {args.only!r}")
        for t in targets:
            baseline(t)
    except (F.FixtureError, OSError, ValueError, KeyError) as e:
        report.error("setup", repr(e))
        report.finish()
    runner = Runner(report)
    try:
        run_all(args, report, runner, targets, t0)
    finally:
        shutil.rmtree(runner.scratch, ignore_errors=True)
    report.finish()


def run_all(args, report, runner, targets, t0):
    named_cases(report, runner.scratch, str(targets[0].path))

    jobs = []
    for t in targets:
        o = run_ifxray(info_args(t.path, t.pcs))
        if report.check(judge(o, len(t.pcs), "0") == "", f"intact: {t.name}", o.show()):
            t.want = json.loads(o.out)
        else:
            continue
        try:
            aimed = targeted(t)
        except (F.FixtureError, IndexError, KeyError, ValueError, struct.error) as e:
            report.error(f"aim: {t.name}", repr(e))
            continue
        for case, mut, expect, words in aimed:
            if t.fixture == FULL_FIXTURE or case in ALL_FIXTURES_GROUPS:
                jobs.append((t, f"{case}: {t.name}: {mut.what}", mut, expect, words,
                             case in TEXT_GROUPS))
        # Random mutants: one stream per binary, so --only reproduces the same mutants.
        rng = random.Random(f"{args.seed}/{t.name}")
        for i in range(-(-args.mutants // len(F.go_fixture_names()))):
            mut = random_mutation(t, rng)
            mut.what = f"random #{i} (seed {args.seed}): {mut.what}"
            # A cut alone must be called truncated; a cut on top of other damage may be
            # reported by whichever defect ifxray meets first.
            only_cut = mut.cut is not None and not mut.patches
            jobs.append((t, f"random: {t.name}: #{i}", mut, "3" if mut.cut is not None and
                         mut.cut < t.data_end else "any", TRUNC_WORDS if only_cut
                         and mut.cut >= 64 and mut.cut < t.data_end else None, False))

    # DWARF: Go compresses its debug sections, so flipped bytes there mostly break zlib. An
    # uncompressed copy (objcopy) lets the mutants reach libdw's parsers, and --layout makes
    # ifxray read the runtime's struct layouts from that DWARF.
    for t in [t for t in targets if t.fixture == FULL_FIXTURE and t.variant != "stripped"
              and hasattr(t, "want")]:
        try:
            dt = dwarf_target(t, runner.scratch)
        except (F.FixtureError, OSError, ValueError, KeyError, IndexError, struct.error) as e:
            report.error(f"aim: {t.name}+dwarf", repr(e))
            continue
        rng = random.Random(f"{args.seed}/{dt.name}")
        for i in range(args.dwarf_mutants):
            mut = random_mutation(dt, rng, prefix="section .debug_")
            mut.what = f"random #{i} (seed {args.seed}): {mut.what}"
            jobs.append((dt, f"dwarf: {dt.name}: #{i}", mut, "3" if mut.cut is not None and
                         mut.cut < dt.data_end else "any", None, False))

    def one(job):
        t, case, mut, expect, words, text_too = job
        try:
            case_, why, o = runner.case(t, case, mut, expect, words, text_too)
        except Exception as e:  # a bug here must fail the test, not hide the other cases
            return case, f"test error: {e!r}\n  mutation: {mut.what}\n", Outcome([], -1, 0, False,
                                                                                b"", b"")
        if not why and case.startswith("fallback") and o.code == 0:
            why = check_fallback(t, o)
        return case_, why, o

    counts = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, why, o in pool.map(one, jobs):
            group = case.split(":")[0]
            counts.setdefault(group, [0, 0, 0])
            counts[group][0 if o.code == 0 else 1 if o.code == 3 else 2] += 1
            report.check(not why, case, f"  {why}\n{o.show()}" if why else "")
            if args.verbose:
                print(f"  {case} -> exit {o.code}: {summary(o)}")
    for group, (ok, unreadable, other) in sorted(counts.items()):
        print(f"  {group}: {ok} read (exit 0), {unreadable} refused (exit 3), {other} other")
    print(f"  {len(targets)} binaries, {len(jobs)} mutants, {time.monotonic() - t0:.0f}s")


def summary(o):
    """The message, or what the pc lookups answered."""
    if o.code != 0:
        return o.err.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(o.out)
    except ValueError:
        return "(not JSON)"
    pcs = [p.get("error") or "<".join(f["function"] for f in p["frames"]) for p in doc["pcs"]]
    funcs = [f.get("error") or f"{f['name']} frame {f.get('frame_size')}" for f in doc["funcs"]]
    return " | ".join(pcs + funcs)[:400]


if __name__ == "__main__":
    main()
