"""Write the generated files of deploy/kubernetes/ from their sources (make kubernetes-manifests).

    render.py           write them
    render.py --check   exit 1, naming them, when one differs from what would be written

- policy.yaml: the bundled default policy (src/slamon/data/default-policy.yaml), which
  kustomization.yaml turns into the slamon-policy ConfigMap;
- prometheusrule.yaml: the Prometheus Operator's PrometheusRule holding every group of
  deploy/prometheus/rules/*.yml (generated from the policy by `slamon rules`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "deploy" / "kubernetes"
POLICY = ROOT / "src" / "slamon" / "data" / "default-policy.yaml"
RULES = ROOT / "deploy" / "prometheus" / "rules"


def policy_text() -> str:
    """The default policy, as the worker would read it from the bundled file."""
    return (
        "# A copy of src/slamon/data/default-policy.yaml (make kubernetes-manifests): the\n"
        "# slamon-policy ConfigMap. For your own policy, point kustomization.yaml at your file.\n"
        + POLICY.read_text(encoding="utf-8")
    )


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL expressions) as literal blocks, as in the rule files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def rule_groups(rules_dir: Path = RULES) -> list[dict[str, Any]]:
    """Every rule group of the rule files, in file-name order."""
    groups: list[dict[str, Any]] = []
    for path in sorted(rules_dir.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        groups.extend(document.get("groups") or [])
    return groups


def prometheusrule_text(rules_dir: Path = RULES) -> str:
    """The PrometheusRule wrapping the generated rule files."""
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "slamon",
            "labels": {"app.kubernetes.io/name": "slamon"},
        },
        "spec": {"groups": rule_groups(rules_dir)},
    }
    return (
        "# Generated from deploy/prometheus/rules/*.yml by deploy/kubernetes/render.py\n"
        "# (make kubernetes-manifests): do not edit.\n"
        + yaml.dump(resource, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    )


def rendered() -> dict[Path, str]:
    """Each generated file and the text it should hold."""
    return {
        HERE / "policy.yaml": policy_text(),
        HERE / "prometheusrule.yaml": prometheusrule_text(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="Only say which files are stale.")
    args = parser.parse_args(argv)
    stale = []
    for path, text in rendered().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text, encoding="utf-8")
            sys.stderr.write(f"wrote {path.relative_to(ROOT)}\n")
    if stale:
        names = ", ".join(map(str, stale))
        sys.stderr.write(f"stale: {names} (regenerate: make kubernetes-manifests)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
