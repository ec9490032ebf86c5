"""Replay throughput vs a parse-only pass over the same log, in one run.

    .venv/bin/python benchmarks/replay_bench.py [--events 200000] [--repeat 3] [--log both]

Generates two logs under the default policy (P3/P4 on the office calendar):
  messy : a realistic messy log (~6 events per ticket, duplicates, late and invalid lines)
  storm : 50,000 tickets opened within one hour, the first 190,000 events in time order
then times, for each:
  parse-only : orjson.loads + datetime.fromisoformat of every line's time (issue 13's floor)
  parse-3339 : orjson.loads + slamon's strict RFC 3339 parser of every line
  replay     : slamon.replay.replay() in-process (validation, dedupe, sort, engine, report)
  cli        : `slamon replay FILE --report /dev/null` end to end (process start included)
and prints events/s and the replay / parse-only ratio. Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import orjson

from slamon.core.timefmt import parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.simulate import generate_log

STORM_START = "2026-11-02T08:00:00Z"  # a Monday morning: the office calendar is open


def write_log(path: Path, events: int) -> int:
    policy = load_policy_or_default(None)
    count = 0
    with path.open("wb") as out:
        for record in generate_log(policy, tickets=events // 4 + 1, seed=7, messy=True):
            line = record.encode() if isinstance(record, str) else orjson.dumps(record)
            out.write(line + b"\n")
            count += 1
            if count >= events:
                break
    return count


def write_storm(path: Path, events: int = 190_000, tickets: int = 50_000) -> int:
    """A storm: ``tickets`` opened within one hour, the first ``events`` in time order."""
    policy = load_policy_or_default(None)
    log = generate_log(policy, tickets=tickets, seed=11, per_hour=tickets, start=STORM_START)
    count = 0
    with path.open("wb") as out:
        for record in log:
            line = record.encode() if isinstance(record, str) else orjson.dumps(record)
            out.write(line + b"\n")
            count += 1
            if count >= events:
                break
    return count


def parse_only(lines: list[bytes]) -> int:
    ok = 0
    for line in lines:
        try:
            datetime.fromisoformat(orjson.loads(line)["time"])
            ok += 1
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            pass
    return ok


def parse_3339(lines: list[bytes]) -> int:
    ok = 0
    for line in lines:
        try:
            parse_rfc3339(orjson.loads(line)["time"])
            ok += 1
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            pass
    return ok


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def bench(name: str, path: Path, n: int, repeat: int) -> None:
    policy = load_policy_or_default(None)
    lines = path.read_bytes().splitlines()
    t_parse = best(lambda: parse_only(lines), repeat)
    t_3339 = best(lambda: parse_3339(lines), repeat)
    t_replay = best(lambda: replay(lines, policy), repeat)
    slamon = Path(sys.executable).with_name("slamon")
    cmd = [str(slamon), "replay", str(path), "--report", os.devnull, "--no-progress"]
    t_cli = best(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat)
    result = replay(lines, policy)
    print(f"{name} log: {n} lines, {result.processed} processed, {len(result.invalid)} invalid, "
          f"{result.duplicates} duplicates, {len(result.alerts)} alerts")  # fmt: skip
    passes = (("parse-only", t_parse), ("parse-3339", t_3339), ("replay", t_replay),
              ("cli", t_cli))  # fmt: skip
    for label, seconds in passes:
        print(f"  {label:10} {seconds:7.3f} s  {n / seconds:10,.0f} events/s")
    print(f"  ratio replay / parse-only: {t_replay / t_parse:.2f}x")
    print(f"  ratio cli / parse-only:    {t_cli / t_parse:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="lines of the messy log")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", choices=("messy", "storm", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.log in ("messy", "both"):
            path = Path(tmp) / "messy.jsonl"
            bench("messy", path, write_log(path, args.events), args.repeat)
        if args.log in ("storm", "both"):
            path = Path(tmp) / "storm.jsonl"
            bench("storm", path, write_storm(path), args.repeat)


if __name__ == "__main__":
    main()
