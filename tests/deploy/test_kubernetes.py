"""deploy/kubernetes/, checked without a cluster: every resource against the Kubernetes JSON
schemas (strict: unknown fields fail) that kubernetes-validate ships, the Prometheus
Operator's resources structurally, the generated files not stale, and what the worker needs:
a volume per worker for its table store, probes on /readyz and /healthz, a non-root
read-only container, time to stop, settings the worker knows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml

from slamon.bootstrap import SHUTDOWN_GRACE_S
from slamon.cli.worker import worker_command

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest release still supported by its providers
CRDS = {"ServiceMonitor", "PrometheusRule"}


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return document


@pytest.fixture(scope="module")
def resources(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource kustomize would emit, the generated policy ConfigMap included."""
    result = [doc for name in kustomization["resources"] for doc in load_all(K8S / name)]
    for generator in kustomization["configMapGenerator"]:
        data = {Path(f).name: (K8S / f).read_text(encoding="utf-8") for f in generator["files"]}
        result.append({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": generator["name"]}, "data": data,
        })  # fmt: skip
    return result


def one(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in resources if r["kind"] == kind and name in (None, r["metadata"]["name"])]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


@pytest.fixture(scope="module")
def statefulset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return one(resources, "StatefulSet")


@pytest.fixture(scope="module")
def container(statefulset: dict[str, Any]) -> dict[str, Any]:
    (worker,) = statefulset["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = worker
    return result


def test_every_file_the_kustomization_names_exists(kustomization: dict[str, Any]) -> None:
    """Resources and generator files are files of deploy/kubernetes/."""
    names = list(kustomization["resources"])
    names += [f for g in kustomization["configMapGenerator"] for f in g["files"]]
    assert names
    for name in names:
        assert (K8S / name).is_file(), name


def test_core_resources_validate_against_the_kubernetes_schemas(
    resources: list[dict[str, Any]],
) -> None:
    """Strict validation: a misspelt or misplaced field fails, as `kubectl apply` would."""
    kinds = set()
    for resource in resources:
        if resource["kind"] in CRDS:
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        kinds.add(resource["kind"])
    assert kinds == {"Namespace", "ConfigMap", "StatefulSet", "Service", "PodDisruptionBudget"}


def test_the_schema_check_rejects_a_misplaced_field(statefulset: dict[str, Any]) -> None:
    """The validation can fail: a probe at the pod level instead of the container's."""
    broken = yaml.safe_load(yaml.safe_dump(statefulset))
    broken["spec"]["template"]["spec"]["readinessProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_operator_resources_have_their_required_fields(resources: list[dict[str, Any]]) -> None:
    """ServiceMonitor and PrometheusRule (no schema shipped): the fields the operator needs,
    and a ServiceMonitor that selects the metrics Service by a port it has."""
    for kind in CRDS:
        resource = one(resources, kind)
        assert resource["apiVersion"] == "monitoring.coreos.com/v1"
        assert resource["metadata"]["name"]
    monitor = one(resources, "ServiceMonitor")["spec"]
    services = [
        s for s in resources
        if s["kind"] == "Service"
        and monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]  # fmt: skip
    assert [s["metadata"]["name"] for s in services] == ["slamon-metrics"]
    (service,) = services
    ports = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["endpoints"]:
        assert endpoint["port"] in ports
        assert endpoint["path"] == "/metrics"
    # jobLabel: the job is the Service's app.kubernetes.io/name, "slamon" as in up{job="slamon"}
    assert service["metadata"]["labels"][monitor["jobLabel"]] == "slamon"
    groups = one(resources, "PrometheusRule")["spec"]["groups"]
    assert groups
    for group in groups:
        assert group["name"]
        assert group["rules"]
        for rule in group["rules"]:
            assert rule["expr"]
            assert ("alert" in rule) != ("record" in rule)
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"page", "ticket"}


def test_the_generated_files_are_not_stale() -> None:
    """policy.yaml and prometheusrule.yaml are what `make kubernetes-manifests` writes from
    the bundled policy and deploy/prometheus/rules/*.yml today."""
    result = subprocess.run(
        [sys.executable, str(K8S / "render.py"), "--check"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_prometheusrule_holds_every_generated_rule_group(
    resources: list[dict[str, Any]],
) -> None:
    """Every group of every rule file, unchanged."""
    expected = [
        group
        for path in sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    ]
    assert one(resources, "PrometheusRule")["spec"]["groups"] == expected


def test_the_policy_configmap_is_mounted_where_the_worker_reads_its_policy(
    resources: list[dict[str, Any]], statefulset: dict[str, Any], container: dict[str, Any]
) -> None:
    """SLAMON_POLICY names a file of the mounted ConfigMap, which holds the bundled policy."""
    env = {item["name"]: item["value"] for item in container["env"]}
    policy = Path(env["SLAMON_POLICY"])
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(policy.parent)]
    assert mount["readOnly"] is True
    configmap = one(resources, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    text = configmap["data"][policy.name]
    bundled = (ROOT / "src" / "slamon" / "data" / "default-policy.yaml").read_text()
    assert text.endswith(bundled)


def test_each_worker_has_its_own_volume_for_the_table_store(
    statefulset: dict[str, Any], container: dict[str, Any]
) -> None:
    """A PersistentVolumeClaim per pod, mounted at SLAMON_DATA_DIR; rocksdb as the store."""
    env = {item["name"]: item["value"] for item in container["env"]}
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == env["SLAMON_DATA_DIR"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert env["SLAMON_STORE"] == "rocksdb://"


def test_probes_use_readiness_and_health_pages(container: dict[str, Any]) -> None:
    """Ready only once recovered (/readyz); alive while the process answers (/healthz), on
    the port the worker listens on."""
    env = {item["name"]: item["value"] for item in container["env"]}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == int(env["SLAMON_WEB_PORT"])
    assert env["SLAMON_WEB_HOST"] == "0.0.0.0"  # the pod's network only


def test_the_container_runs_as_non_root_on_a_read_only_root(
    statefulset: dict[str, Any], container: dict[str, Any]
) -> None:
    """Non-root (the image's uid), no privilege escalation, no capability, read-only root
    file system: the data volume and /tmp are the only writable paths."""
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert f"USER {pod['securityContext']['runAsUser']}:" in dockerfile
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/lib/slamon", "/tmp"}


def test_resources_and_time_to_stop(statefulset: dict[str, Any], container: dict[str, Any]) -> None:
    """Requests and limits are set; Kubernetes waits longer than the worker's bounded stop."""
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    grace = statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > SHUTDOWN_GRACE_S + 5


def test_the_statefulset_is_governed_by_the_headless_service(
    resources: list[dict[str, Any]], statefulset: dict[str, Any]
) -> None:
    """serviceName is a headless Service selecting the pods; the selectors match the pods."""
    headless = one(resources, "Service", statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert statefulset["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for service in (s for s in resources if s["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= labels.items()
    budget = one(resources, "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_every_setting_is_one_the_worker_reads(container: dict[str, Any]) -> None:
    """Each SLAMON_* variable of the container is the envvar of a `slamon worker` option (a
    typo would be ignored silently by the worker)."""
    known = {
        param.envvar
        for param in worker_command.params
        if isinstance(param, click.Option) and isinstance(param.envvar, str)
    }
    names = {item["name"] for item in container["env"]}
    assert names
    assert names <= known, names - known


def test_kubectl_kustomize_builds_the_set(tmp_path: Path) -> None:
    """When kubectl is installed: `kubectl kustomize` builds it, the ConfigMap's name gets
    the content hash and the StatefulSet refers to that name."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed (the other tests read the files directly)")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    configmap = one(built, "ConfigMap")
    name = configmap["metadata"]["name"]
    assert name.startswith("slamon-policy-")
    pod = one(built, "StatefulSet")["spec"]["template"]["spec"]
    assert {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v} == {name}
    assert {r["metadata"]["namespace"] for r in built if r["kind"] != "Namespace"} == {"slamon"}
