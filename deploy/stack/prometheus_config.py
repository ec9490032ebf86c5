"""Write deploy/prometheus/prometheus.yml with its scrape and Alertmanager targets moved
elsewhere: to the local ports of `make stack`, or to the services of docker-compose.yml.

    prometheus_config.py OUT --worker HOST:PORT [--worker ...] --prometheus HOST:PORT
        --alertmanager HOST:PORT [--scrape-interval 5s] [--rules-base DIR]
        [--source deploy/prometheus/prometheus.yml]

Rule files are made absolute: relative to the source file, as Prometheus resolves them, or
to --rules-base (where a container mounts deploy/prometheus/). The job `slamon` scrapes the
workers (added when the source has none); a job whose name says prometheus or alertmanager
scrapes that server; other jobs are left out; the alerting section sends to the given
Alertmanager. When the source file does not exist, a minimal configuration (the slamon job,
no rules) is written, and said so on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def local_config(
    source: dict[str, Any],
    base: Path,
    *,
    workers: list[str],
    prometheus: str,
    alertmanager: str,
    scrape_interval: str | None,
) -> dict[str, Any]:
    """The source configuration with every target moved to the stack's addresses."""
    config = dict(source)
    if scrape_interval:
        glob = dict(config.get("global") or {})
        glob["scrape_interval"] = scrape_interval
        glob["evaluation_interval"] = scrape_interval
        config["global"] = glob
    config["rule_files"] = [
        str(path if Path(path).is_absolute() else base / path)
        for path in config.get("rule_files") or []
    ]
    jobs = []
    for source_job in config.get("scrape_configs") or []:
        job = dict(source_job)
        name = str(job.get("job_name", ""))
        if name == "slamon":
            targets = list(workers)
        elif "alertmanager" in name:
            targets = [alertmanager]
        elif "prometheus" in name:
            targets = [prometheus]
        else:
            continue  # a target this stack does not run
        for key in ("dns_sd_configs", "kubernetes_sd_configs", "file_sd_configs"):
            job.pop(key, None)
        job["static_configs"] = [{"targets": targets}]
        jobs.append(job)
    if not any(job["job_name"] == "slamon" for job in jobs):
        jobs.insert(0, {"job_name": "slamon", "static_configs": [{"targets": list(workers)}]})
    config["scrape_configs"] = jobs
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--worker", action="append", required=True)
    parser.add_argument("--rules-base", default=None)
    parser.add_argument("--header", default="`make stack`")
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--alertmanager", required=True)
    parser.add_argument("--scrape-interval", default=None)
    args = parser.parse_args(argv)
    if args.source.exists():
        source = yaml.safe_load(args.source.read_text(encoding="utf-8")) or {}
    else:
        sys.stderr.write(f"stack: {args.source} not found: scraping the worker without rules\n")
        source = {}
    config = local_config(
        source,
        Path(args.rules_base) if args.rules_base else args.source.resolve().parent,
        workers=args.worker,
        prometheus=args.prometheus,
        alertmanager=args.alertmanager,
        scrape_interval=args.scrape_interval,
    )
    args.out.write_text(
        f"# Written by deploy/stack/prometheus_config.py for {args.header}: edits are lost.\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
