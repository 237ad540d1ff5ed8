"""docker-compose.yml, read back by `docker-compose config` (there is no Docker engine to run
it here): every component from the one image, Kafka and PostgreSQL, the deploy jobs, readiness
healthchecks, start order by health, and nothing left pointing at the embedded broker."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings
from tests.deploy.tools import ROOT, components, port, run, tool

COMPONENTS = components()
# Feedback runs as an API role (`feedback`) and a worker role, like on Kubernetes.
WORKER = "feedback-worker"
PROCESSES = [*COMPONENTS, WORKER]
JOBS = ["migrate", "topics"]
ROLE_SWITCHES = ["PRODUCTOPS_RUN_CONSUMERS", "PRODUCTOPS_RUN_RELAY", "PRODUCTOPS_RUN_JOBS"]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def _clean_env() -> dict[str, str]:
    # Only the env file may fill the file's variables, not whatever this shell exports.
    names = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    return {k: v for k, v in os.environ.items() if k not in names}


def compose_config(env_file: Path) -> dict[str, Any]:
    result = run(tool("docker-compose"), "--env-file", str(env_file), "config", env=_clean_env())
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = config["services"]
    return found


def test_every_component_kafka_postgres_and_the_jobs_are_defined(
    services: dict[str, Any],
) -> None:
    assert set(services) == {*PROCESSES, *JOBS, "kafka", "postgres", "redis"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    # KRaft: the broker is its own controller, no ZooKeeper.
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in kafka_env
    assert services["postgres"]["image"].startswith("postgres:")


def test_components_and_jobs_run_the_one_image(services: dict[str, Any]) -> None:
    images = {services[name]["image"] for name in [*PROCESSES, *JOBS]}
    assert len(images) == 1
    for name in [*PROCESSES, *JOBS]:
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    for name in COMPONENTS:
        assert services[name]["command"] == ["serve", name]
    assert services[WORKER]["command"] == ["serve", "feedback"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["topics"]["command"][:2] == ["topics", "create"]


def test_each_component_is_healthy_only_when_its_readyz_answers(
    services: dict[str, Any],
) -> None:
    for name in PROCESSES:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port(services[name]['command'][1])}/readyz" in probe, name


def test_feedbacks_api_role_leaves_consuming_relaying_and_triage_to_the_worker(
    services: dict[str, Any],
) -> None:
    api, worker = services["feedback"]["environment"], services[WORKER]["environment"]
    assert [api[switch] for switch in ROLE_SWITCHES] == ["false"] * 3
    # The worker keeps the defaults: every role.
    assert not set(ROLE_SWITCHES) & set(worker)
    for name in sorted(set(COMPONENTS) - {"feedback"}):
        assert not set(ROLE_SWITCHES) & set(services[name]["environment"]), name


def test_start_order_follows_health_and_the_jobs(services: dict[str, Any]) -> None:
    for name in PROCESSES:
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
    for name in sorted(set(PROCESSES) - {"gateway"}):
        assert services[name]["depends_on"]["topics"]["condition"] == (
            "service_completed_successfully"
        )
        assert services["gateway"]["depends_on"][name]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ["kafka", "postgres"]:
        assert services[name]["healthcheck"]["test"], name


def test_kafka_and_postgres_keep_their_data_in_volumes(config: dict[str, Any]) -> None:
    services = config["services"]
    assert {"kafka-data", "pg-data"} <= set(config["volumes"])
    assert any(v.startswith("kafka-data:") for v in _volumes(services["kafka"]))
    assert any(v.startswith("pg-data:") for v in _volumes(services["postgres"]))


def _volumes(service: dict[str, Any]) -> list[str]:
    # `config` writes short strings or long mappings, depending on the client's version.
    return [
        v if isinstance(v, str) else f"{v.get('source')}:{v.get('target')}"
        for v in service.get("volumes", [])
    ]


def test_nothing_points_at_the_embedded_broker(services: dict[str, Any]) -> None:
    for name in [*PROCESSES, *JOBS]:
        env = services[name]["environment"]
        # Without it a process would look for the embedded broker on 127.0.0.1.
        assert env["PRODUCTOPS_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert "PRODUCTOPS_BROKER_PORT" not in env, name
    text = COMPOSE_FILE.read_text()
    for embedded in ["calfkit", "tansu", "127.0.0.1:9092", "productops up"]:
        assert embedded not in text.lower()


def test_components_listen_everywhere_and_find_each_other_by_name(
    services: dict[str, Any],
) -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "PRODUCTOPS_HOST=0.0.0.0" in dockerfile
    env = services["gateway"]["environment"]
    settings = Settings.model_validate(
        {"upstream_hosts": yaml.safe_load(env["PRODUCTOPS_UPSTREAM_HOSTS"])}
    )
    for name in sorted(set(COMPONENTS) - {"gateway"}):
        assert settings.base_url(name) == f"http://{name}:{port(name)}"


def test_every_productops_variable_set_is_a_setting(services: dict[str, Any]) -> None:
    # A misspelt name would be ignored silently (`extra="ignore"`).
    fields = set(Settings.model_fields)
    for name in [*PROCESSES, *JOBS]:
        for variable in services[name]["environment"]:
            assert variable.removeprefix("PRODUCTOPS_").lower() in fields, variable


def test_the_example_env_file_names_every_variable_the_file_uses() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used == example


def test_without_the_secrets_config_fails_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run(tool("docker-compose"), "--env-file", str(empty), "config", "-q", env=_clean_env())
    assert result.returncode != 0
    assert "see .env.example" in result.stderr


def test_the_database_init_script_creates_one_database_per_component() -> None:
    script = (ROOT / "deploy" / "init-databases.sql").read_text()
    assert sorted(re.findall(r"CREATE DATABASE (\w+);", script)) == COMPONENTS


def test_the_gateway_replicas_share_their_rate_limits_in_redis(services: dict[str, Any]) -> None:
    gateway = services["gateway"]
    assert gateway["environment"]["PRODUCTOPS_REDIS_URL"] == "redis://redis:6379/0"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "PRODUCTOPS_REDIS_URL" not in services["catalog"]["environment"]


def test_kafka_takes_only_clients_that_sign_in(services: dict[str, Any]) -> None:
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_LISTENERS"] == "SASL_PLAINTEXT://:9092,CONTROLLER://:9093"
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "SASL_PLAINTEXT://kafka:9092"
    assert kafka["KAFKA_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    jaas = kafka["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG"]
    assert 'user_productops="replace-me-kafka-password"' in jaas
    for name in [*PROCESSES, *JOBS]:
        env = services[name]["environment"]
        assert env["PRODUCTOPS_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert env["PRODUCTOPS_KAFKA_SASL_USERNAME"] == "productops", name
        assert env["PRODUCTOPS_KAFKA_SASL_PASSWORD"] == "replace-me-kafka-password", name
    assert "--command-config" in " ".join(services["kafka"]["healthcheck"]["test"])
