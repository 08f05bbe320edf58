"""`go tool pprof -raw` text, parsed: the one reader of it for the tests that compare profiles
(frames_pprof, frames_labels, frames_running)."""
import re

LOCATION = re.compile(r"^\s+(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(.*)$")
LINE = re.compile(r"^(.*) (\S+):(\d+)(?::\d+)? s=(\d+)$")
SAMPLE = re.compile(r"^\s*(\d+)(?:\s+\d+)*: ([\d ]*)$")
LABEL = re.compile(r"(\S+?):\[(.*?)\]")


def parse(text):
    """-> list of (count, stack, labels): stack is a tuple of locations innermost first, a
    location a tuple of (function, file, line, start line) innermost first (inlined calls share
    their caller's location); labels a sorted tuple of (key, values) pairs."""
    section, samples, locations, current = None, [], {}, None
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Samples:":
            m = SAMPLE.match(line)
            if m:
                samples.append([int(m.group(1)), [int(x) for x in m.group(2).split()], ()])
            elif samples and line.startswith("                "):
                samples[-1][2] = tuple(sorted(LABEL.findall(line.strip())))
        elif section == "Locations":
            m = LOCATION.match(line)
            body = m.group(2) if m else line.strip()
            if m:
                current = locations.setdefault(int(m.group(1)), [])
            lm = LINE.match(body)
            if lm and current is not None:
                current.append((lm.group(1), lm.group(2), int(lm.group(3)), int(lm.group(4))))
    return [(count, tuple(tuple(locations.get(i, [(f"?location {i}", "", 0, 0)])) for i in ids),
             labels) for count, ids, labels in samples]


def functions(stack):
    """The function names of a parsed stack, innermost first, inlined calls included."""
    return tuple(fn for loc in stack for fn, _, _, _ in loc)
