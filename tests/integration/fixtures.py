"""Go toolchains, the fixture build matrix, and runners for fixtures and ifxray.

Shared by every integration test. Standard library only.

Environment:
  IFXRAY                path of the ifxray binary (run_ifxray)
  IFXRAY_FIXTURE_CACHE  where built fixtures live:
                        <cache>/<toolchain>/<variant>/<fixture> (+ .stamp)
"""
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES_SRC = REPO / "tests" / "fixtures"
MODULE_PREFIX = "example.com/ifxray/fixtures/"

# Bump when the build recipe changes, so every fixture is rebuilt.
RECIPE = "1"

VARIANTS = {
    "plain": [],
    "stripped": ["-ldflags=-s -w"],
    "pie": ["-buildmode=pie"],
}

# The toolchains of the contract: (name, command, extra env, required version
# prefix). A missing toolchain or a wrong version fails the run; never a skip.
TOOLCHAIN_SPECS = [
    ("go1.19", ["/usr/lib/go-1.19/bin/go"], {}, "go1.19"),
    ("go1.26", ["go"], {"GOTOOLCHAIN": "local"}, "go1.26"),
    ("go1.27", ["go"], {"GOTOOLCHAIN": "go1.27.3"}, "go1.27.3"),
]

# Build environment of particular fixtures (part of their stamp): cgo needs the C toolchain.
FIXTURE_ENV = {
    "cgo": {"CGO_ENABLED": "1"},
}
# ... and of a fixture with one toolchain: the leaks fixture on Go 1.26 needs the experiment that
# gives the runtime's goroutine leak profile, the oracle of `leaks` (Go 1.27 has it without).
FIXTURE_TOOLCHAIN_ENV = {
    ("leaks", "go1.26"): {"GOEXPERIMENT": "goroutineleakprofile"},
}


def fixture_env(fixture, tc):
    return {**FIXTURE_ENV.get(fixture, {}), **FIXTURE_TOOLCHAIN_ENV.get((fixture, tc.name), {})}


# Environment that changes what `go build` produces; part of the stamp.
BUILD_ENV_KEYS = ["CGO_ENABLED", "CC", "CGO_CFLAGS", "CGO_LDFLAGS", "GOAMD64",
                  "GOEXPERIMENT", "GOOS", "GOARCH"]


class FixtureError(Exception):
    """A toolchain, build or fixture run failed; the test must fail."""


def base_env(extra=None):
    env = dict(os.environ)
    env.pop("GOROOT", None)  # each go binary must find its own GOROOT
    env.update(extra or {})
    return env


def run(cmd, timeout=600, check=True, **kw):
    """Run cmd and return the CompletedProcess (text mode)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FixtureError(f"{' '.join(map(str, cmd))}: {e}") from e
    if check and p.returncode != 0:
        raise FixtureError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stderr}")
    return p


class Toolchain:
    """One Go toolchain, resolved to its own GOROOT/bin/go."""

    def __init__(self, name, version, goroot):
        self.name, self.version, self.goroot = name, version, Path(goroot)
        self.go = self.goroot / "bin" / "go"

    def env(self, extra=None):
        return base_env({"GOTOOLCHAIN": "local", **(extra or {})})

    def tool(self, name, *args, input=None, timeout=600):
        """`go tool NAME ARGS`; stdout as text. Runs outside any module."""
        return run([str(self.go), "tool", name, *map(str, args)], input=input,
                   timeout=timeout, env=self.env(), cwd="/").stdout

    def version_m(self, exe):
        return run([str(self.go), "version", "-m", str(exe)], env=self.env(), cwd="/").stdout

    def __repr__(self):
        return self.name


_toolchains = None


def toolchains():
    """The contract's toolchains, checked; raises FixtureError if one is wrong."""
    global _toolchains
    if _toolchains is None:
        found = []
        for name, cmd, extra, want in TOOLCHAIN_SPECS:
            env = base_env(extra)
            try:
                out = run(cmd + ["version"], env=env, cwd="/").stdout.strip()
            except FixtureError as e:
                raise FixtureError(f"{name} (want {want}): {e}") from e
            m = re.match(r"go version (go\S+) ", out)
            if not m or not (m.group(1) == want or m.group(1).startswith(want + ".")):
                raise FixtureError(f"{name}: `{' '.join(cmd)} version` says {out!r}, want {want}")
            goroot = run(cmd + ["env", "GOROOT"], env=env, cwd="/").stdout.strip()
            tc = Toolchain(name, m.group(1), goroot)
            if not tc.go.is_file():
                raise FixtureError(f"{name}: {tc.go} does not exist")
            found.append(tc)
        _toolchains = found
    return _toolchains


def fixture_names():
    names = sorted(p.parent.name for p in FIXTURES_SRC.glob("*/go.mod"))
    if not names:
        raise FixtureError(f"no fixtures under {FIXTURES_SRC}")
    return names


# Fixtures linked with C code (externally linked by the C toolchain): C functions in .text
# before runtime.text, CFI for C code that pclntab does not describe, and stripped builds laid
# out differently from plain ones. The oracles of the pure-Go ELF and pclntab tests assume none
# of that; those tests iterate go_fixture_names().
CGO_FIXTURES = {"cgo"}


def go_fixture_names():
    return [n for n in fixture_names() if n not in CGO_FIXTURES]


def cache_dir():
    d = os.environ.get("IFXRAY_FIXTURE_CACHE")
    if not d:
        raise FixtureError("IFXRAY_FIXTURE_CACHE is not set")
    return Path(os.path.abspath(d))  # builds run in the fixture's directory


def exe_path(tc, variant, fixture):
    return cache_dir() / tc.name / variant / fixture


def _source_files(fixture):
    root = FIXTURES_SRC / fixture
    return sorted(p for p in root.rglob("*") if p.is_file())


def source_hash(fixture):
    h = hashlib.sha256()
    for p in _source_files(fixture):
        h.update(str(p.relative_to(FIXTURES_SRC)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def _stamp(tc, variant, fixture):
    h = hashlib.sha256()
    env = {k: os.environ.get(k, "") for k in BUILD_ENV_KEYS}
    parts = [RECIPE, tc.version, str(tc.goroot), json.dumps(VARIANTS[variant]),
             json.dumps(env, sort_keys=True), source_hash(fixture)]
    if fixture_env(fixture, tc):
        parts.append(json.dumps(fixture_env(fixture, tc), sort_keys=True))
    for part in parts:
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def _write_file_proxy(fixture, dest):
    """Serve tests/fixtures/<fixture>/proxy/<name>@<version>/ as a GOPROXY
    file tree for module example.com/ifxray/fixtures/<name>."""
    src = FIXTURES_SRC / fixture / "proxy"
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    for moddir in sorted(src.iterdir()):
        name, version = moddir.name.split("@")
        mod = MODULE_PREFIX + name
        vdir = tmp / mod / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        with open(vdir / "list", "a") as f:
            f.write(version + "\n")
        (vdir / f"{version}.info").write_text(json.dumps(
            {"Version": version, "Time": "2024-01-01T00:00:00Z"}))
        shutil.copy(moddir / "go.mod", vdir / f"{version}.mod")
        with zipfile.ZipFile(vdir / f"{version}.zip", "w") as z:
            for p in sorted(moddir.rglob("*")):
                if p.is_file():
                    info = zipfile.ZipInfo(f"{mod}@{version}/{p.relative_to(moddir)}",
                                           (2024, 1, 1, 0, 0, 0))
                    z.writestr(info, p.read_bytes())
    os.replace(tmp, dest)


def _build_one(tc, variant, fixture):
    out = exe_path(tc, variant, fixture)
    stamp = out.with_name(out.name + ".stamp")
    want = _stamp(tc, variant, fixture)
    if out.is_file() and stamp.is_file() and stamp.read_text() == want:
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{fixture}-{source_hash(fixture)[:12]}"
    extra = {
        "GOFLAGS": "-buildvcs=false -modcacherw",
        "GOWORK": "off",
        "GOSUMDB": "off",
        "GOPROXY": "off",
        "GOPRIVATE": "", "GONOPROXY": "", "GONOSUMDB": "",
        "GOMODCACHE": str(cache_dir() / "gomodcache" / tag),
        **fixture_env(fixture, tc),
    }
    if (FIXTURES_SRC / fixture / "proxy").is_dir():
        extra["GOPROXY"] = (cache_dir() / "goproxy" / tag).as_uri()
    tmp = out.with_name(out.name + ".tmp")
    t0 = time.monotonic()
    try:
        run([str(tc.go), "build", "-o", str(tmp), *VARIANTS[variant], "."],
            cwd=FIXTURES_SRC / fixture, env=tc.env(extra), timeout=900)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(want)
    print(f"built {tc.name}/{variant}/{fixture} in {time.monotonic() - t0:.1f}s", flush=True)
    return True


def build_all(jobs=2):
    """Build every fixture x toolchain x variant that is missing or stale.
    Returns {(toolchain name, variant, fixture): exe path}."""
    tcs = toolchains()
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for fx in fixture_names():
            tag = f"{fx}-{source_hash(fx)[:12]}"
            for old in [*cache.glob(f"goproxy/{fx}-*"), *cache.glob(f"gomodcache/{fx}-*")]:
                if old.name != tag:  # left by an older version of the sources
                    shutil.rmtree(old, ignore_errors=True)
            if (FIXTURES_SRC / fx / "proxy").is_dir():
                dest = cache / "goproxy" / tag
                if not dest.is_dir():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _write_file_proxy(fx, dest)
        todo = [(tc, v, fx) for tc in tcs for v in VARIANTS for fx in fixture_names()]
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            list(pool.map(lambda a: _build_one(*a), todo))  # re-raises the first error
    return {(tc.name, v, fx): exe_path(tc, v, fx) for tc, v, fx in todo}


class RunningFixture:
    def __init__(self, proc, outdir, errf=None):
        self.proc, self.pid, self.outdir, self._errf = proc, proc.pid, Path(outdir), errf

    def stderr(self):
        """What the fixture wrote to stderr so far (a crash traceback, say)."""
        if self._errf is None:
            return ""
        self._errf.seek(0)
        return self._errf.read().decode(errors="replace")


@contextlib.contextmanager
def run_fixture(exe, timeout=30, env=None):
    """Start a fixture per the fixture protocol, wait for its READY line and
    yield a RunningFixture; on exit close its stdin, then kill it if needed."""
    outdir = tempfile.mkdtemp(prefix="ifxray-fixture-")
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=errf, env={**base_env(env), "IFXRAY_FIXTURE_OUT": outdir})
    try:
        _wait_ready(proc, errf, exe, timeout)
        yield RunningFixture(proc, outdir, errf)
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        errf.close()
        shutil.rmtree(outdir, ignore_errors=True)


def _wait_ready(proc, errf, exe, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while not re.search(rb"(^|\n)READY\n", buf):
        left = deadline - time.monotonic()
        if left <= 0:
            raise FixtureError(f"{exe}: no READY line within {timeout}s")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                proc.wait()
                errf.seek(0)
                raise FixtureError(f"{exe} exited {proc.returncode} before READY:\n"
                                   f"{errf.read().decode(errors='replace')}")
            buf += chunk


def ifxray_path():
    p = os.environ.get("IFXRAY")
    if not p or not os.access(p, os.X_OK):
        raise FixtureError(f"IFXRAY={p!r} is not an executable")
    return p


def run_ifxray(args, timeout=300):
    """Run ifxray with args; returns (exit code, stdout, stderr). A timeout
    gives exit code None."""
    cmd = [ifxray_path(), *map(str, args)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", f"timed out after {timeout}s"
    return p.returncode, p.stdout, p.stderr


def ask(fx, line, until, timeout=60):
    """Send a command line to a running fixture; return what it printed up to `until`.
    An ERROR line, the fixture exiting or the timeout raise FixtureError."""
    fx.proc.stdin.write(line.encode() + b"\n")
    fx.proc.stdin.flush()
    deadline, buf = time.monotonic() + timeout, b""
    while until.encode() not in buf and b"ERROR" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FixtureError(f"no {until!r} after {line}")
        r, _, _ = select.select([fx.proc.stdout], [], [], left)
        if r:
            chunk = os.read(fx.proc.stdout.fileno(), 4096)
            if not chunk:
                raise FixtureError(f"fixture exited after {line}")
            buf += chunk
    if b"ERROR" in buf:
        raise FixtureError(buf.decode(errors="replace"))
    return buf.decode()


def stats(err):
    """{name: value} of the `ifxray: stats k=v ...` lines (--stats) in a run's stderr."""
    out = {}
    for m in re.finditer(r"(\w+)=([0-9.]+)", "\n".join(l for l in err.splitlines()
                                                     if l.startswith("ifxray: stats"))):
        out[m.group(1)] = float(m.group(2))
    return out


def ifxray_info(exe, pcs=(), funcs=(), chunk=800):
    """`ifxray info --format json` on exe, with pcs/funcs split over several
    calls. Returns (document of the first call, all "pcs", all "funcs").
    Raises FixtureError when a call fails or prints no JSON."""
    pcs, funcs = list(pcs), list(funcs)
    calls = [(pcs[i:i + chunk], []) for i in range(0, len(pcs), chunk)]
    calls += [([], funcs[i:i + chunk]) for i in range(0, len(funcs), chunk)]
    first, allpcs, allfuncs = None, [], []
    for cp, cf in calls or [([], [])]:
        args = ["info", "--format", "json"]
        for pc in cp:
            args += ["--pc", hex(pc)]
        for f in cf:
            args += ["--func", f]
        rc, out, err = run_ifxray(args + [exe])
        if rc != 0:
            raise FixtureError(f"ifxray {' '.join(args[:8])}... {exe} exited {rc}: {err.strip()}")
        try:
            doc = json.loads(out)
        except ValueError as e:
            raise FixtureError(f"ifxray info on {exe}: bad JSON ({e}): {out[:300]!r}") from e
        first = first or doc
        allpcs += doc.get("pcs", [])
        allfuncs += doc.get("funcs", [])
    return first, allpcs, allfuncs


def setup(test_name):
    """Toolchains with the fixture matrix built; on failure print why and exit 1."""
    try:
        tcs = toolchains()
        build_all()
        ifxray_path()
        return tcs
    except FixtureError as e:
        print(f"FAIL setup\n  {e}\n{test_name}: 0 passed, 1 failed", flush=True)
        sys.exit(1)


class Report:
    """Counts cases per test script, prints diffs and the summary line."""

    def __init__(self, name, max_shown=25):
        self.name, self.passed, self.failed, self.max_shown = name, 0, 0, max_shown
        self._shown = {}

    def check(self, ok, case, detail=""):
        """Count one case; print detail when it failed (capped per case group)."""
        if ok:
            self.passed += 1
            return True
        self.failed += 1
        group = case.split(":")[0]
        self._shown[group] = self._shown.get(group, 0) + 1
        if self._shown[group] <= self.max_shown:
            print(f"FAIL {case}\n{detail}".rstrip() + "\n", flush=True)
        elif self._shown[group] == self.max_shown + 1:
            print(f"FAIL {group}: further failures in this group not shown\n", flush=True)
        return False

    def error(self, case, exc):
        return self.check(False, case, f"  error: {exc}")

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed or not self.passed else 0)


def hexint(v):
    """A contract hex string ("0x4a2f10") as an int; None if it is not one."""
    if isinstance(v, str) and re.fullmatch(r"0x[0-9a-f]+", v):
        return int(v, 16)
    return None


LEAK_HEADER = re.compile(r"^goroutine (\d+) \[([^\]]*)\]", re.M)


def runtime_leaked(fx, timeout=120):
    """The leaks fixture's own goroutine leak profile (pprof goroutineleak, debug=2), asked for
    now: (ids of the goroutines the runtime marked leaked, the milliseconds it took)."""
    ask(fx, "leakprofile", "DONE\n", timeout=timeout)
    text = (fx.outdir / "leak.txt").read_text()
    ids = {int(m.group(1)) for m in LEAK_HEADER.finditer(text) if m.group(2).endswith("(leaked)")}
    return ids, float((fx.outdir / "leak_ms.txt").read_text())


def symbol(exe, name):
    """The address of symbol `name` in exe's symbol table (nm); FixtureError if it has none."""
    out = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise FixtureError(f"{name} not in the symbols of {exe}")


def diff_fields(want, got, keys):
    """Lines '  key: want X, got Y' for the keys that differ."""
    return "".join(f"  {k}: want {want.get(k)!r}, got {got.get(k)!r}\n"
                   for k in keys if want.get(k) != got.get(k))
