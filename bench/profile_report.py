"""Summarise a py-spy ``--format raw`` profile (collapsed stacks).

    python -m bench.profile_report PROFILE.txt [--top 25] [--focus node/,federation/]

Prints the functions with the most samples on the stack (inclusive) and at
the top of the stack (self), as a share of all samples, and the same for
Tocsin's own code only (so the cost can be pinned to a file and function).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match.group('func')} ({path})"


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        stacks.append((frames, int(count)))
    return stacks


LAYERS = (
    ("asyncpg", "asyncpg/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("httpx/httpcore", "httpx/", "httpcore/", "anyio/"),
    ("uvicorn/starlette", "uvicorn/", "starlette/", "h11/", "httptools"),
    ("jinja2/markupsafe", "jinja2/", "markupsafe/"),
    ("icalendar", "icalendar/"),
    ("crypto", "cryptography/", "hashlib", "hmac"),
    ("json", "json/", "orjson"),
    ("asyncio event loop, sockets", "asyncio/", "selectors.py", "uvloop"),
    ("logging", "logging/"),
    ("Tocsin (node/, federation/)", "node/", "federation/"),
)


def layer_of(frames: list[str]) -> str:
    """The library the sample was in: the innermost frame that belongs to a known layer."""
    for frame in reversed(frames):
        for name, *markers in LAYERS:
            if any(f"({m}" in frame or f"/{m}" in frame or m in frame.split("(")[-1]
                   for m in markers):
                return name
    return "other"


def report(stacks: list[tuple[list[str], int]], top: int, focus: tuple[str, ...]) -> str:
    total = sum(n for _, n in stacks) or 1
    layers: Counter[str] = Counter()
    greenlet = 0
    for frames, n in stacks:
        layers[layer_of(frames)] += n
        if not frames[0].startswith("<module>"):
            greenlet += n  # code SQLAlchemy runs in a greenlet: py-spy shows it rootless
    inclusive: Counter[str] = Counter()
    own_inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    own_self: Counter[str] = Counter()
    for frames, n in stacks:
        for frame in set(frames):
            inclusive[frame] += n
            if any(f"({p}" in frame for p in focus):
                own_inclusive[frame] += n
        self_time[frames[-1]] += n
        mine = [f for f in frames if any(f"({p}" in f for p in focus)]
        if mine:
            own_self[mine[-1]] += n  # the innermost own frame, library time charged to it
    lines = [f"{total} samples; {100 * greenlet / total:.1f}% in code SQLAlchemy runs inside "
             "greenlets (shown by py-spy without the caller)", "\n== by layer (innermost frame)"]
    for name, n in layers.most_common():
        lines.append(f"{100 * n / total:5.1f}%  {name}")
    for title, counter in (
        ("inclusive, all code", inclusive),
        ("self, all code", self_time),
        ("inclusive, Tocsin code", own_inclusive),
        ("innermost Tocsin frame (its callees' time included)", own_self),
    ):
        lines.append(f"\n== {title}")
        for frame, n in counter.most_common(top):
            lines.append(f"{100 * n / total:5.1f}%  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", default="node/,federation/")
    args = parser.parse_args()
    print(report(load(args.profile), args.top, tuple(args.focus.split(","))))


if __name__ == "__main__":
    main()
