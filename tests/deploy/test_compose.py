"""docker-compose.yml, checked without a Docker engine: the compose spec's JSON schema
(vendored in schemas/), Debian's docker-compose (`config` needs no daemon) when installed,
and what a running stack needs: pinned images, existing host paths, unique ports, health
conditions, Prometheus and Grafana pointed at the services that exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.tools import need

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
PINNED = re.compile(r"^[\w./-]+:(v?\d+(\.\d+)+[\w.-]*|local)$")  # name:1.2.3, never :latest


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def host_path(services: dict[str, dict[str, Any]], service: str, container_path: str) -> Path:
    """The repository path a service's bind mounts put at ``container_path``."""
    volumes: list[str] = services[service].get("volumes", [])
    for volume in volumes:
        source, target = volume.split(":")[:2]
        if source.startswith("./") and (
            container_path == target or container_path.startswith(target + "/")
        ):
            return ROOT / source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{service}: nothing of the repository is mounted at {container_path}")


def test_the_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    """The whole file validates against the compose spec (the schema docker compose uses)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(yaml.safe_load(COMPOSE.read_text())), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_compose_file(compose: dict[str, Any]) -> None:
    """The schema check can fail: a misspelt key and an unknown condition are reported."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(compose))
    broken["services"]["kafka"]["helthcheck"] = broken["services"]["kafka"].pop("healthcheck")
    broken["services"]["grafana"]["depends_on"]["prometheus"]["condition"] = "service_up"
    validator = jsonschema.validators.validator_for(schema)(schema)
    messages = [e.message for e in validator.iter_errors(broken)]
    assert any("helthcheck" in message for message in messages)
    assert any("service_up" in message for message in messages)


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """Debian's docker-compose resolves the file (anchors, variables, depends_on) without an
    engine; installed by .ci/run."""
    binary = need("docker-compose", package="docker-compose")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    expected = {"kafka", "worker-1", "worker-2", "simulator", "prometheus", "alertmanager",
                "grafana"}  # fmt: skip
    assert set(resolved["services"]) == expected
    # the anchors resolved: both workers run `slamon worker` on the broker's internal listener
    for name in ("worker-1", "worker-2"):
        assert resolved["services"][name]["command"] == ["worker"]
        assert resolved["services"][name]["environment"]["SLAMON_BROKER"] == "kafka://kafka:29092"


def test_every_image_is_pinned_by_version(services: dict[str, dict[str, Any]]) -> None:
    """No `latest` nor a bare name: every image has a version tag (ours: slamon:local, built)."""
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image"
        assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
        if image.startswith("slamon:"):
            assert service["build"]["dockerfile"] == "deploy/Dockerfile", name


def test_every_mounted_host_path_exists(services: dict[str, dict[str, Any]]) -> None:
    """Each bind mount's source is a path of the repository (named volumes aside)."""
    mounts = 0
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
                mounts += 1
    assert mounts >= 5  # prometheus (2), alertmanager, grafana (2)


def test_published_ports_are_unique_and_on_loopback(services: dict[str, dict[str, Any]]) -> None:
    """No two services publish one host port; nothing listens beyond 127.0.0.1."""
    seen: dict[str, str] = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            host, host_port, _container = str(port).split(":")
            assert host == "127.0.0.1", f"{name}: {port}"
            assert host_port not in seen, f"{name} and {seen.get(host_port)} publish {host_port}"
            seen[host_port] = name
    assert {"9092", "6066", "6067", "9090", "9093", "3000"} <= set(seen)


def test_services_wait_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    """Every long-running service has a healthcheck; each dependency waits for health."""
    for name, service in services.items():
        if name != "simulator":
            assert "test" in service.get("healthcheck", {}), f"{name}: no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert set(services["simulator"]["depends_on"]) == {"worker-1", "worker-2"}
    assert set(services["grafana"]["depends_on"]) == {"prometheus", "alertmanager"}


def test_workers_have_their_own_data_volume_and_the_port_prometheus_scrapes(
    services: dict[str, dict[str, Any]],
) -> None:
    """Each worker keeps its table store in a volume of its own, at SLAMON_DATA_DIR, and
    Prometheus' compose config scrapes every worker service on SLAMON_WEB_PORT."""
    workers = [name for name, service in services.items() if service.get("command") == ["worker"]]
    assert len(workers) == 2
    volumes = set()
    for name in workers:
        env = services[name]["environment"]
        (volume,) = services[name]["volumes"]
        source, target = volume.split(":")
        assert target == env["SLAMON_DATA_DIR"]
        volumes.add(source)
    assert len(volumes) == len(workers)
    config_path = host_path(services, "prometheus", "/etc/prometheus/compose/prometheus.yml")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "slamon"]
    port = services[workers[0]]["environment"]["SLAMON_WEB_PORT"]
    assert job["static_configs"][0]["targets"] == [f"{name}:{port}" for name in workers]
    (am,) = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_prometheus_loads_config_and_rules_from_mounted_repository_files(
    services: dict[str, dict[str, Any]],
) -> None:
    """The --config.file and every rule file it names are repository files inside the
    container (deploy/compose/prometheus.yml, deploy/prometheus/rules/*.yml)."""
    args = dict(arg.split("=", 1) for arg in services["prometheus"]["command"] if "=" in arg)
    config_path = host_path(services, "prometheus", args["--config.file"])
    assert config_path == ROOT / "deploy" / "compose" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    assert config["rule_files"], "no rule file"
    for rule_file in config["rule_files"]:
        path = host_path(services, "prometheus", rule_file)
        assert path.parent == ROOT / "deploy" / "prometheus" / "rules", rule_file
        assert path.exists(), rule_file


def test_the_compose_prometheus_config_is_not_stale(tmp_path: Path) -> None:
    """deploy/compose/prometheus.yml is what `make compose-config` writes from
    deploy/prometheus/prometheus.yml today."""
    out = tmp_path / "prometheus.yml"
    subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "stack" / "prometheus_config.py"), str(out),
         "--worker", "worker-1:6066", "--worker", "worker-2:6066",
         "--prometheus", "localhost:9090", "--alertmanager", "alertmanager:9093",
         "--rules-base", "/etc/prometheus/slamon",
         "--header", "docker-compose.yml (make compose-config)"],
        check=True, timeout=60,
    )  # fmt: skip
    committed = (ROOT / "deploy" / "compose" / "prometheus.yml").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, "stale: run make compose-config"


def test_grafana_provisions_both_datasources_and_the_boards_folder(
    services: dict[str, dict[str, Any]],
) -> None:
    """Grafana's datasources point at the Prometheus and Alertmanager services; the board
    provider reads the folder where grafana/dashboards/ is mounted."""
    provisioning = host_path(services, "grafana", "/etc/grafana/provisioning")
    sources = yaml.safe_load((provisioning / "datasources" / "datasources.yml").read_text())
    by_type = {source["type"]: source for source in sources["datasources"]}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["prometheus"]["isDefault"] is True
    assert by_type["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_type["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert len({source["uid"] for source in sources["datasources"]}) == 2
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())
    (provider,) = providers["providers"]
    path = provider["options"]["path"]
    assert host_path(services, "grafana", path) == ROOT / "grafana" / "dashboards"


@pytest.mark.parametrize(
    "targets",
    [
        ["--worker", "worker-1:6066", "--worker", "worker-2:6066",
         "--prometheus", "localhost:9090", "--alertmanager", "alertmanager:9093"],
        ["--worker", "127.0.0.1:16066", "--prometheus", "127.0.0.1:19090",
         "--alertmanager", "127.0.0.1:19093", "--scrape-interval", "2s"],
    ],
    ids=["compose", "make-stack"],
)  # fmt: skip
def test_the_moved_prometheus_configs_pass_promtool(tmp_path: Path, targets: list[str]) -> None:
    """The configs written for docker-compose.yml and for `make stack` (rules read from the
    repository here) pass `promtool check config`, rule files included."""
    promtool = need("promtool", package="prometheus")
    out = tmp_path / "prometheus.yml"
    subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "stack" / "prometheus_config.py"), str(out),
         *targets, "--rules-base", str(ROOT / "deploy" / "prometheus")],
        check=True, timeout=60,
    )  # fmt: skip
    result = subprocess.run(
        [promtool, "check", "config", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert len(config["rule_files"]) >= 1


def test_the_boards_use_provisioned_datasources_and_the_home_board_exists(
    services: dict[str, dict[str, Any]],
) -> None:
    """Every datasource uid a board names (beyond its $datasource variable) and every
    variable's default is provisioned; Grafana's home board is a file of grafana/dashboards/."""
    provisioning = host_path(services, "grafana", "/etc/grafana/provisioning")
    sources = yaml.safe_load((provisioning / "datasources" / "datasources.yml").read_text())
    provisioned = {source["uid"] for source in sources["datasources"]}
    boards = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert boards, "no board in grafana/dashboards/"
    named = set()
    for board in boards:
        text = board.read_text(encoding="utf-8")
        named |= set(re.findall(r'"datasource":\s*\{[^{}]*"uid":\s*"([^"$]+)"', text))
        for variable in json.loads(text).get("templating", {}).get("list", []):
            if variable.get("type") == "datasource":
                named.add(variable["current"]["value"])
    assert named
    assert named <= provisioned, named - provisioned
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(services, "grafana", home).is_file()
