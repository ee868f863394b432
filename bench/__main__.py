"""Run the benchmarks and print the table.

    python -m bench                  # every workload (what `make bench` runs)
    python -m bench inbox            # one workload (the floors are measured too)
    python -m bench votes --profile votes   # py-spy on the node during that workload
    python -m bench reads --no-floors

Workloads: floors, inbox, fanout, votes, reads, alerts, wave. Figures are printed, never
asserted; the exit status is non-zero only when a correctness check fails
(an accepted activity lost, a delivery missing, a tally off).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import alerts, fanout, floors, harness, inbox, reads, votes, wave
from bench.harness import Bench, Row, ensure_tools, log, wait_quiet
from bench.payloads import make_keys

WORKLOADS = {
    "floors": floors.run,
    "inbox": inbox.run,
    "inbox-split": inbox.run_split,
    "fanout": fanout.run,
    "votes": votes.run,
    "reads": reads.run,
    "alerts": alerts.run,
    "wave": wave.run,
}
KEYS = 100


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("/s", "req/s") or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _memory(row: Row) -> str:
    """Peak PSS summed over the node's processes, peak RSS (VmHWM) summed beside it."""
    if row.pss_mb and row.rss_mb:
        return f"{row.pss_mb:.0f} MB ({row.rss_mb:.0f})"
    return f"— ({row.rss_mb:.0f} MB)" if row.rss_mb else "—"


def table(rows: list[Row]) -> str:
    header = ("workload", "figure", "floor", "ratio", "peak PSS (RSS)")
    lines = [
        (
            row.workload,
            _number(row.figure, row.unit),
            _number(row.floor, row.unit) if row.floor is not None else "—",
            f"×{row.ratio:.1f}" if row.ratio is not None else "—",
            _memory(row),
        )
        for row in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in lines:
        out.append("| " + " | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True))
                   + " |")
    return "\n".join(out)


def targets(rows: list[Row]) -> str:
    out = ["| target | measured | met | gap |", "|---|---|---|---|"]
    for row in rows:
        if row.target is None:
            continue
        sign = "≥" if row.higher_is_better else "≤"
        met = row.target_met
        if row.figure is None:
            gap = "not measured"
        elif met:
            gap = ""
        elif row.higher_is_better:
            gap = f"{row.target / row.figure:.1f}× too low" if row.figure else "nothing"
        else:
            gap = f"{row.figure / row.target:.1f}× too high" if row.target else f"{row.figure:g}"
        out.append(f"| {row.workload} {sign} {_number(row.target, row.unit)} | "
                   f"{_number(row.figure, row.unit)} | {'yes' if met else 'NO'} | {gap} |")
    return "\n".join(out)


def notes(rows: list[Row]) -> str:
    return "\n".join(f"- {row.workload}: {row.note}" for row in rows if row.note)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    try:
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"],
            capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pg = "?"
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=False).stdout.strip() or "?"
    changed = subprocess.run(["git", "status", "--porcelain", "--", "node", "federation",
                              "migrations"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    tree = f"commit {git}" + (f" + {len(changed)} uncommitted files in node/ federation/ "
                              "migrations/" if changed else "")
    return (f"{tree}; nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}, "
            f"PostgreSQL {pg}, wrk {_wrk_version()}\n{free}")


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).split()[1] if shutil.which("wrk") else "?"


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"any of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--no-floors", action="store_true", help="skip measuring the floors")
    parser.add_argument("--profile", choices=[w for w in WORKLOADS if w != "floors"],
                        help="record the node with py-spy during this workload")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--variant", default="",
                        help="start the node with proposed fixes applied from outside, e.g. "
                             "asyncio-loop,pre-ping (see bench/variants.py)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    chosen = args.workloads or list(WORKLOADS)
    if not args.no_floors and "floors" not in chosen:
        chosen.insert(0, "floors")
    if args.no_floors and "floors" in chosen:
        chosen.remove("floors")
    ensure_tools(profiler=bool(args.profile))
    if args.variant:
        os.environ["TOCSIN_BENCH_VARIANT"] = args.variant
        harness.VARIANT = args.variant
        log(f"the node runs with variant(s) {args.variant} (bench/variants.py)")
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-"))
    bench = Bench(workdir=workdir, profile=args.profile)
    started = time.monotonic()
    try:
        log(f"work directory {workdir}; generating {KEYS} RSA keys for the remote accounts")
        bench.keys_file = make_keys(KEYS, workdir / "keys.json")
        for name in sorted(chosen, key=list(WORKLOADS).index):
            log(f"== {name}")
            await wait_quiet()
            began = time.monotonic()
            try:
                await WORKLOADS[name](bench)
            except Exception as exc:  # report and go on with the others
                bench.note(f"PROBLEM {name} failed: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                bench.checks.append(False)
            log(f"== {name} took {time.monotonic() - began:.0f} s")
    finally:
        if args.keep or args.profile:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    print()
    print(f"Tocsin benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {elapsed:.0f} s in all")
    print(machine())
    if args.variant:
        print(f"NODE VARIANT: {args.variant} "
              "(proposed fixes applied from outside; bench/variants.py)")
    print()
    print(table(bench.rows))
    print()
    print(targets(bench.rows))
    print()
    print(notes(bench.rows))
    for text in bench.notes:
        print(f"- {text}")
    if args.json:
        args.json.write_text(json.dumps(
            [row.__dict__ | {"ratio": row.ratio} for row in bench.rows], indent=1, default=str))
    return 0 if all(bench.checks) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
