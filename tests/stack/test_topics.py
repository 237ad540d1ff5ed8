"""`productops topics list|create`: the deploy job that creates every service's topics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.broker import EmbeddedBroker
from shared.settings import Settings
from shared.stack.cli import main
from shared.stack.components import load_factory, service_names
from shared.stack.topics import platform_topics

pytestmark = pytest.mark.stack


def test_the_list_holds_every_topic_a_service_writes_or_reads(
    make_settings: Callable[..., Settings],
) -> None:
    listed = set(platform_topics())
    for name in service_names():
        runtime = load_factory(name)(make_settings()).state.runtime
        # Own events, extra topics, consumed topics and the dead-letter topic.
        assert set(runtime.topics) <= listed, name


def test_list_prints_one_topic_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "list"]) == 0
    assert capsys.readouterr().out.split() == platform_topics()


async def _partitions(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(platform_topics())
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


def test_create_makes_each_topic_with_the_configured_partitions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRODUCTOPS_TOPIC_PARTITIONS", "2")
    # A broker of its own: the session's already holds these topics, made by other tests.
    with EmbeddedBroker() as broker:
        monkeypatch.setenv("PRODUCTOPS_KAFKA_BOOTSTRAP", broker.bootstrap)
        assert main(["topics", "create"]) == 0
        assert main(["topics", "create"]) == 0, "existing topics are left as they are"
        found = asyncio.run(_partitions(broker.bootstrap))
    assert found == dict.fromkeys(platform_topics(), 2)
    assert "replication factor 1" in capsys.readouterr().out


def test_create_without_a_broker_exits_1_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRODUCTOPS_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["topics", "create", "--timeout", "2"]) == 1
    assert "cannot create topics on 127.0.0.1:1" in capsys.readouterr().err


def test_a_replication_factor_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["topics", "create", "--replication-factor", "0"])
    assert exited.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
