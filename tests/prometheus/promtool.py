"""Run the real promtool on rule files and on promtool unit tests built in Python.

promtool comes with Debian's ``prometheus`` package, which .ci/run installs: missing
locally, the tests that need it are skipped with the reason; missing in CI (``CI=true``),
they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from slamon.adapters import prom_rules

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
RULES_DIR = DEPLOY / "rules"
SLA_RULES = RULES_DIR / prom_rules.SLA_FILE
MONITOR_RULES = RULES_DIR / prom_rules.MONITOR_FILE
CONFIG = DEPLOY / "prometheus.yml"
REGENERATE = ".venv/bin/slamon rules --out deploy/prometheus/rules"


def promtool() -> str:
    """The promtool executable; skips the test without it (fails instead when CI=true)."""
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is not installed (Debian package prometheus; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: required in CI")
        pytest.skip(reason)
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """promtool with ``args``; its output, whatever the exit code."""
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def unit_tests(
    tmp_path: Path, rule_files: Sequence[Path], tests: Sequence[Mapping[str, Any]]
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on one file holding ``tests`` against ``rule_files``."""
    document = {
        "rule_files": [str(path) for path in rule_files],
        "evaluation_interval": "1m",
        "tests": list(tests),
    }
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return run("test", "rules", path)


def assert_passes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"promtool failed:\n{result.stdout}\n{result.stderr}"


def series(name: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{inner}}}"


_LABEL = re.compile(r"\{\{ \$labels\.([a-z_]+) \}\}")


def rendered(template: str, labels: Mapping[str, str]) -> str:
    """An annotation as Prometheus renders it, for templates using only ``$labels.X``."""
    assert "$value" not in template
    return _LABEL.sub(lambda match: labels.get(match.group(1), ""), template)


def rules_of(path: Path) -> list[dict[str, Any]]:
    """Every rule of a rule file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def expected_alert(rule: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """An exp_alerts entry: the series' labels plus the rule's, annotations rendered."""
    all_labels = {**labels, **rule.get("labels", {})}
    return {
        "exp_labels": all_labels,
        "exp_annotations": {k: rendered(v, all_labels) for k, v in rule["annotations"].items()},
    }
