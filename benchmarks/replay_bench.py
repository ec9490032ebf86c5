"""Replay throughput vs a parse-only pass over the same log, in one run.

    .venv/bin/python benchmarks/replay_bench.py [--events 200000] [--repeat 3]

Generates a realistic log (default policy, ~6 events per ticket), then times:
  parse-only : orjson.loads + RFC 3339 parsing of every line (the floor of any replay)
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
from pathlib import Path

import orjson

from slamon.core.timefmt import parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.simulate import generate_log


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


def parse_only(lines: list[bytes]) -> int:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = load_policy_or_default(None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        n = write_log(path, args.events)
        lines = path.read_bytes().splitlines()
        t_parse = best(lambda: parse_only(lines), args.repeat)
        t_replay = best(lambda: replay(lines, policy), args.repeat)
        slamon = Path(sys.executable).with_name("slamon")
        cmd = [str(slamon), "replay", str(path), "--report", os.devnull, "--no-progress"]
        t_cli = best(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeat)
    result = replay(lines, policy)
    print(f"log: {n} lines, {result.processed} processed, {len(result.invalid)} invalid, "
          f"{result.duplicates} duplicates, {len(result.alerts)} alerts")  # fmt: skip
    for name, seconds in (("parse-only", t_parse), ("replay", t_replay), ("cli", t_cli)):
        print(f"{name:10} {seconds:7.3f} s  {n / seconds:10,.0f} events/s")
    print(f"ratio replay / parse-only: {t_replay / t_parse:.2f}x")
    print(f"ratio cli / parse-only:    {t_cli / t_parse:.2f}x")


if __name__ == "__main__":
    main()
