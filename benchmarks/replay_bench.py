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

--mypyc adds two passes with the compiled core `pip install .` builds (`make compiled`:
build/compiled, made first if missing; the editable install is not touched): the same
replay in-process (mypyc) and `slamon replay` end to end (mypyc-cli); it checks that the
compiled replay gives the same report, alerts and outcomes (SHA-1) as the pure one.
"""

from __future__ import annotations

import argparse
import hashlib
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
ROOT = Path(__file__).resolve().parent.parent
COMPILED = ROOT / "build" / "compiled"  # `make compiled`
# run in a child process with the compiled copy first on sys.path: prints best seconds, SHA-1
TIMED_REPLAY = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import slamon.core.engine
from replay_bench import digest
from slamon.policies import load_policy_or_default
from slamon.replay import replay
assert slamon.core.engine.__file__.endswith(".so"), slamon.core.engine.__file__
lines, policy = Path(sys.argv[1]).read_bytes().splitlines(), load_policy_or_default(None)
times = []
for _ in range(int(sys.argv[2])):
    result = None  # the previous run's result is freed outside the timed part
    start = time.perf_counter()
    result = replay(lines, policy)
    times.append(time.perf_counter() - start)
print(min(times), digest(result))
"""


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


def digest(result: object) -> str:
    """SHA-1 of a replay's report, alerts and outcomes: equal digests, equal output."""
    report = orjson.dumps(result.report(), option=orjson.OPT_SORT_KEYS)  # type: ignore[attr-defined]
    rest = repr((result.alerts, result.outcomes)).encode()  # type: ignore[attr-defined]
    return hashlib.sha1(report + rest).hexdigest()


def build_mypyc() -> Path:
    """The compiled core as `pip install .` builds it (`make compiled`, if not made yet)."""
    if not (COMPILED / ".built").exists():
        start = time.perf_counter()
        subprocess.run(["make", "-C", str(ROOT), "compiled"], check=True, capture_output=True)
        print(f"make compiled: slamon.core built by mypyc in {time.perf_counter() - start:.0f} s")
    return COMPILED


def compiled_replay(root: Path, path: Path, repeat: int) -> tuple[float, str]:
    """Best replay time over ``repeat`` runs with the compiled copy, and its digest."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    here = str(Path(__file__).parent)
    cmd = [sys.executable, "-c", TIMED_REPLAY, str(path), str(repeat), here]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    seconds, sha = out.split()
    return float(seconds), sha


def cli_replay(launcher: list[str], path: Path, repeat: int, env: dict[str, str] | None = None
               ) -> float:  # fmt: skip
    """Best time of ``launcher replay FILE --report /dev/null``, end to end."""
    cmd = [*launcher, "replay", str(path), "--report", os.devnull, "--no-progress"]
    return best(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True), repeat)


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
        del result  # freed outside the timed part, as the compiled pass does
    return min(times)


def bench(name: str, path: Path, n: int, repeat: int, compiled: Path | None = None) -> None:
    policy = load_policy_or_default(None)
    lines = path.read_bytes().splitlines()
    t_parse = best(lambda: parse_only(lines), repeat)
    t_3339 = best(lambda: parse_3339(lines), repeat)
    t_replay = best(lambda: replay(lines, policy), repeat)
    t_cli = cli_replay([str(Path(sys.executable).with_name("slamon"))], path, repeat)
    result = replay(lines, policy)
    print(f"{name} log: {n} lines, {result.processed} processed, {len(result.invalid)} invalid, "
          f"{result.duplicates} duplicates, {len(result.alerts)} alerts")  # fmt: skip
    passes = [("parse-only", t_parse), ("parse-3339", t_3339), ("replay", t_replay),
              ("cli", t_cli)]  # fmt: skip
    if compiled is not None:
        t_mypyc, sha = compiled_replay(compiled, path, repeat)
        # `slamon replay` as `pip install .` installs it (the compiled build)
        env = {**os.environ, "PYTHONPATH": str(compiled)}
        t_mypyc_cli = cli_replay([sys.executable, "-m", "slamon.cli"], path, repeat, env)
        passes += [("mypyc", t_mypyc), ("mypyc-cli", t_mypyc_cli)]
    for label, seconds in passes:
        print(f"  {label:10} {seconds:7.3f} s  {n / seconds:10,.0f} events/s")
    print(f"  ratio replay / parse-only: {t_replay / t_parse:.2f}x")
    print(f"  ratio cli / parse-only:    {t_cli / t_parse:.2f}x")
    if compiled is not None:
        print(f"  ratio mypyc / parse-only:  {t_mypyc / t_parse:.2f}x")
        print(f"  ratio mypyc-cli / parse-only: {t_mypyc_cli / t_parse:.2f}x")
        same = "the same as" if sha == digest(result) else "DIFFERENT from"
        print(f"  mypyc's report, alerts and outcomes: {same} the pure replay's (SHA-1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="lines of the messy log")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", choices=("messy", "storm", "both"), default="both")
    parser.add_argument("--mypyc", action="store_true", help="also replay with mypyc-built core")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        compiled = build_mypyc() if args.mypyc else None
        if args.log in ("messy", "both"):
            path = Path(tmp) / "messy.jsonl"
            bench("messy", path, write_log(path, args.events), args.repeat, compiled)
        if args.log in ("storm", "both"):
            path = Path(tmp) / "storm.jsonl"
            bench("storm", path, write_storm(path), args.repeat, compiled)


if __name__ == "__main__":
    main()
