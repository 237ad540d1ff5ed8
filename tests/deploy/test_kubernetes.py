"""deploy/k8s, rendered by `kubectl kustomize` and checked offline (nothing can be deployed
here): every object against the Kubernetes schemas (`kubernetes-validate`, strict), then the
shape the platform needs: probes and resources on every Deployment, a Service for each, no
secret in the files, HPAs and PDBs that point at what exists, the migration Job."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.feedback.settings import FeedbackSettings
from services.launch.settings import LaunchSettings
from shared.settings import Settings
from tests.deploy.tools import ROOT, components, port, run, tool

K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = sorted(path.parent for path in K8S.rglob("kustomization.yaml"))
# The oldest Kubernetes release the manifests must suit (the kubectl here is 1.32).
KUBERNETES_VERSION = "1.32.0"
SECRETS = {"productops-secrets", "productops-database", "productops-kafka"}
Objects = list[dict[str, Any]]


def render(directory: Path) -> Objects:
    result = run(tool("kubectl"), "kustomize", str(directory))
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


@pytest.fixture(
    scope="module", params=KUSTOMIZATIONS, ids=[str(p.relative_to(K8S)) for p in KUSTOMIZATIONS]
)
def objects(request: pytest.FixtureRequest) -> Objects:
    return render(request.param)


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return found


def pod_labels(objects: Objects) -> list[dict[str, str]]:
    return [
        d["spec"]["template"]["metadata"]["labels"] for d in of_kind(objects, "Deployment").values()
    ]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def served(deployment: dict[str, Any]) -> str:
    """The component a Deployment runs: `productops serve NAME`."""
    args = containers(deployment)[0]["args"]
    assert args[0] == "serve"
    name: str = args[1]
    return name


def test_there_is_a_base_and_an_overlay() -> None:
    assert {K8S / "base", K8S / "overlays" / "production"} <= set(KUSTOMIZATIONS)


def test_every_object_is_valid_against_the_kubernetes_schemas(objects: Objects) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_misspelt_field(objects: Objects) -> None:
    deployment = copy.deepcopy(next(iter(of_kind(objects, "Deployment").values())))
    containers(deployment)[0]["readynessProbe"] = {"httpGet": {"path": "/readyz", "port": 80}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_a_deployment_per_component_with_feedback_split_into_api_and_worker(
    objects: Objects,
) -> None:
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {*components(), "feedback-api", "feedback-worker"} - {"feedback"}
    assert sorted({served(d) for d in deployments.values()}) == components()
    roles = {
        name: {e["name"]: e.get("value") for e in containers(deployments[name])[0]["env"]}
        for name in ("feedback-api", "feedback-worker")
    }
    for flag in ("PRODUCTOPS_RUN_CONSUMERS", "PRODUCTOPS_RUN_RELAY", "PRODUCTOPS_RUN_JOBS"):
        assert roles["feedback-api"][flag] == "false"
        assert roles["feedback-worker"][flag] == "true"


def test_every_deployment_has_probes_resources_and_runs_unprivileged(objects: Objects) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        expected = port(served(deployment))
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        (container,) = containers(deployment)
        assert container["ports"] == [{"name": "http", "containerPort": expected}], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] == "http", name
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
        # Its own database URL only, from the Secret.
        urls = [e for e in container["env"] if e["name"].endswith("_DATABASE_URL")]
        key = f"PRODUCTOPS_{served(deployment).upper()}_DATABASE_URL"
        assert urls == [
            {
                "name": key,
                "valueFrom": {"secretKeyRef": {"name": "productops-database", "key": key}},
            }
        ], name


def test_one_image_for_every_workload(objects: Objects) -> None:
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    assert len({c["image"] for w in workloads for c in containers(w)}) == 1


def test_every_deployment_has_a_service_on_its_components_port(objects: Objects) -> None:
    services = of_kind(objects, "Service")
    for name, deployment in of_kind(objects, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [s for s in services.values() if selects(s["spec"]["selector"], labels)]
        assert len(matching) == 1, name
        (service_port,) = matching[0]["spec"]["ports"]
        assert service_port["port"] == port(served(deployment)), name
    for service in services.values():
        assert any(selects(service["spec"]["selector"], labels) for labels in pod_labels(objects))


def test_the_gateway_reaches_each_service_through_its_service(objects: Objects) -> None:
    (config,) = of_kind(objects, "ConfigMap").values()
    hosts = json.loads(config["data"]["PRODUCTOPS_UPSTREAM_HOSTS"])
    settings = Settings.model_validate({"upstream_hosts": hosts})
    services = of_kind(objects, "Service")
    deployments = of_kind(objects, "Deployment")
    for name in sorted(set(components()) - {"gateway"}):
        service = services[hosts[name]]
        assert (
            settings.base_url(name) == f"http://{hosts[name]}:{service['spec']['ports'][0]['port']}"
        )
        # It selects pods that serve that component (for feedback: its API role).
        backing = [
            d
            for d in deployments.values()
            if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [served(d) for d in backing] == [name]


def test_the_ingress_sends_the_api_to_the_gateway(objects: Objects) -> None:
    (ingress,) = of_kind(objects, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    backends = {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


def test_no_secret_is_kept_in_the_files(objects: Objects) -> None:
    assert of_kind(objects, "Secret") == {}
    referenced: set[str] = set()
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    for container in (c for w in workloads for c in containers(w)):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                referenced.add(source["secretRef"]["name"])
        for variable in container.get("env", []):
            assert "value" in variable or "valueFrom" in variable
            if "secretKeyRef" in variable.get("valueFrom", {}):
                referenced.add(variable["valueFrom"]["secretKeyRef"]["name"])
            if any(word in variable["name"] for word in ("SECRET", "KEY", "DATABASE_URL")):
                assert "value" not in variable, variable["name"]
    assert referenced == SECRETS
    for config in of_kind(objects, "ConfigMap").values():
        for name in config["data"]:
            assert not any(word in name for word in ("SECRET", "KEY", "DATABASE_URL", "PASSWORD"))
    # docs/deploy.md tells how to create each one.
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert all(name in guide for name in SECRETS)


def test_every_productops_variable_is_a_setting(objects: Objects) -> None:
    fields = set(Settings.model_fields)
    # A service's own settings read PRODUCTOPS_<SERVICE>_<FIELD>.
    fields |= {f"feedback_{name}" for name in FeedbackSettings.model_fields}
    fields |= {f"launch_{name}" for name in LaunchSettings.model_fields}
    names = [n for c in of_kind(objects, "ConfigMap").values() for n in c["data"]]
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    names += [e["name"] for w in workloads for c in containers(w) for e in c.get("env", [])]
    for name in names:
        assert name.removeprefix("PRODUCTOPS_").lower() in fields, name


def test_autoscalers_target_the_gateway_and_the_feedback_api(objects: Objects) -> None:
    deployments = of_kind(objects, "Deployment")
    targets = {}
    for name, hpa in of_kind(objects, "HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment"), name
        assert target["name"] in deployments, name
        assert hpa["spec"]["minReplicas"] >= 2, name
        targets[name] = target["name"]
    assert sorted(targets.values()) == ["feedback-api", "gateway"]


def test_disruption_budgets_select_pods_that_exist(objects: Objects) -> None:
    budgets = of_kind(objects, "PodDisruptionBudget")
    deployments = of_kind(objects, "Deployment")
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        chosen = [
            d
            for d in deployments.values()
            if selects(selector, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(chosen) == 1, name
        # A budget keeping every pod of a one-replica Deployment would block node drains.
        assert chosen[0]["spec"]["replicas"] > budget["spec"]["minAvailable"], name
    assert len(budgets) == len([d for d in deployments.values() if d["spec"]["replicas"] > 1])


def test_the_jobs_migrate_and_create_topics(objects: Objects) -> None:
    jobs = {containers(job)[0]["args"][0]: job for job in of_kind(objects, "Job").values()}
    assert set(jobs) == {"migrate", "topics"}
    assert containers(jobs["topics"])[0]["args"][:2] == ["topics", "create"]
    sources = {
        s["secretRef"]["name"]
        for s in containers(jobs["migrate"])[0]["envFrom"]
        if "secretRef" in s
    }
    assert sources == {"productops-database"}
    for job in jobs.values():
        assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_the_first_apply_of_a_rollout_brings_what_the_jobs_need(objects: Objects) -> None:
    # docs/deploy.md applies these first, then waits for the Jobs: their ConfigMap must come too.
    first = [
        obj
        for obj in objects
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in {"namespace", "config", "migrate", "topics"}
    ]
    jobs = of_kind(first, "Job")
    assert set(jobs) == {"productops-migrate", "productops-topics"}
    configs = set(of_kind(first, "ConfigMap"))
    for job in jobs.values():
        refs = {
            s["configMapRef"]["name"] for s in containers(job)[0]["envFrom"] if "configMapRef" in s
        }
        assert refs
        assert refs <= configs
    assert set(of_kind(first, "Namespace")) == set(of_kind(objects, "Namespace"))
