"""Generates a Go program with N distinct, non-inlined functions for the `ifxray info` bench.

The functions are spread over packages of at most --per-package functions and files of at most
--per-file functions, so the compiler never sees one giant unit. Each package exports a table
of its functions and main calls every entry, so the linker keeps them all.

Usage: gen_many_funcs.py OUTDIR [--functions 50000] [--per-package 2500] [--per-file 500]
"""
import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

MODULE = "example.com/ifxray/bench/manyfuncs"

# Bodies vary with the function's number so that no two functions are identical (the linker
# would not fold them anyway, but their pc tables and frame sizes then differ too).
BODIES = [
    "\tif x > {k} {{\n\t\treturn x*{m} + {k}\n\t}}\n\treturn x ^ {k}\n",
    "\ts := x\n\tfor i := 0; i < (x&7)+{r}; i++ {{\n\t\ts += i * {m}\n\t}}\n\treturn s - {k}\n",
    "\tvar a [{r}]int\n\tfor i := range a {{\n\t\ta[i] = x + i*{m}\n\t}}\n\treturn a[x&{rm}] + {k}\n",
    "\tswitch x % {r} {{\n\tcase 0:\n\t\treturn x + {k}\n\tcase 1:\n\t\treturn x * {m}\n"
    "\t}}\n\treturn x - {k}\n",
]


def function(i):
    r = 2 + i % 6  # small array/loop sizes: a few different frame sizes
    body = BODIES[i % len(BODIES)].format(k=i, m=3 + i % 11, r=r, rm=r - 1)
    return f"//go:noinline\nfunc F{i}(x int) int {{\n{body}}}\n"


def generate(out, functions, per_package, per_file):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "go.mod").write_text(f"module {MODULE}\n\ngo 1.19\n")
    packages = []
    for p, start in enumerate(range(0, functions, per_package)):
        end = min(start + per_package, functions)
        name = f"p{p:03d}"
        packages.append(name)
        pdir = out / name
        pdir.mkdir()
        for f, fstart in enumerate(range(start, end, per_file)):
            fend = min(fstart + per_file, end)
            src = [f"package {name}\n"] + [function(i) for i in range(fstart, fend)]
            (pdir / f"f{f:03d}.go").write_text("\n".join(src))
        table = ",\n".join(f"\tF{i}" for i in range(start, end))
        (pdir / "table.go").write_text(
            f"package {name}\n\n// Funcs lists every function of the package.\n"
            f"var Funcs = []func(int) int{{\n{table},\n}}\n")
    imports = "\n".join(f'\t"{MODULE}/{p}"' for p in packages)
    tables = "\n".join(f"\t{p}.Funcs," for p in packages)
    (out / "main.go").write_text(
        f'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n{imports}\n)\n\n'
        f"var all = [][]func(int) int{{\n{tables}\n}}\n\n"
        "func main() {\n\ts := len(os.Args)\n\tfor _, t := range all {\n"
        "\t\tfor _, f := range t {\n\t\t\ts += f(s & 1023)\n\t\t}\n\t}\n"
        "\tfmt.Println(s)\n}\n")
    return len(packages)


def source_hash(functions, per_package, per_file):
    """Identifies what generate() would write (for build caches)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(f"{functions}/{per_package}/{per_file}".encode())
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--functions", type=int, default=50000)
    ap.add_argument("--per-package", type=int, default=2500)
    ap.add_argument("--per-file", type=int, default=500)
    a = ap.parse_args()
    n = generate(a.outdir, a.functions, a.per_package, a.per_file)
    print(f"{a.functions} functions in {n} packages under {os.path.abspath(a.outdir)}")


if __name__ == "__main__":
    sys.exit(main())
