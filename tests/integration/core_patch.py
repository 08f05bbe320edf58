"""Reading and patching the memory a core holds, for the bad-input tests (frames, heap, pitfalls).

A test makes a core of a fixture, overwrites runtime or program memory in a copy of it, and runs
ifxray on the copy under MEMORY_LIMIT: what ifxray does with damaged memory, not with a damaged
file.
"""
import struct

import fixtures

# Runs a command under a 1 GiB address-space limit: an unbounded allocation fails the test.
MEMORY_LIMIT = ["prlimit", f"--as={1 << 30}", "--"]


def load_segments(core):
    """[(vaddr, offset, filesz)] of the core's PT_LOADs that hold bytes in the file."""
    with open(core, "rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        ptype, _flags, off, vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        if ptype == 1 and filesz:
            out.append((vaddr, off, filesz))
    return out


def file_offset(segs, addr, size=8):
    """Where [addr, addr+size) of the process's memory lies in the core file."""
    for vaddr, off, filesz in segs:
        if vaddr <= addr and addr + size <= vaddr + filesz:
            return off + addr - vaddr
    raise fixtures.FixtureError(f"{addr:#x} is not in the core's file data")
