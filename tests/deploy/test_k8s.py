"""deploy/k8s/ validated by kubernetes-validate (the API's own OpenAPI schemas, strict: no unknown
field), and held to what docs/operations.md promises: two replicas with probes, non-root, read-only
root, the backup CronJob exactly what `ccvc backup schedule` prints."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs locked (types-PyYAML)

from gateway.config import Settings
from tests.cli.runner import ccvc

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))


def manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / name).read_text())
    return loaded


def test_every_manifest_is_valid_for_kubernetes() -> None:
    validated = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kubernetes-validate"), "--strict", "--quiet", *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    kinds = {manifest(path.name)["kind"] for path in MANIFESTS}
    assert {"Deployment", "Service", "CronJob", "PodDisruptionBudget", "ConfigMap", "Job"} <= kinds


def test_the_deployment_runs_two_probed_non_root_replicas_on_a_read_only_root() -> None:
    deployment = manifest("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    [gateway] = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for container in [*pod["initContainers"], gateway]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"]
    assert {source["configMapRef"]["name"] for source in gateway["envFrom"] if "configMapRef" in source} == {
        "ccvc-gateway"
    }
    assert "command" not in gateway  # the image's own CMD, the one tests/deploy/test_image.py runs


def test_the_disruption_budget_and_the_service_select_the_gateways_pods() -> None:
    labels = manifest("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert manifest("pdb.yaml")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert manifest("service.yaml")["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("store", ["/var/lib/ccvc/backups"])
def test_the_backup_cronjob_is_what_ccvc_backup_schedule_prints(store: str) -> None:
    printed = ccvc(Settings(env="test"), "backup", "schedule", "--dir", store).stdout
    kubernetes = printed[printed.index("# Kubernetes") :]
    assert (K8S / "backup-cronjob.yaml").read_text() == kubernetes, (
        "regenerate: ccvc backup schedule --dir /var/lib/ccvc/backups | sed -n '/^# Kubernetes/,$p' "
        "> deploy/k8s/backup-cronjob.yaml"
    )
    cronjob = manifest("backup-cronjob.yaml")
    steps = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "ccvc backup create" in steps and "ccvc backup prune" in steps
