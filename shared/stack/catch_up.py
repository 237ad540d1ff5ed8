"""Catch-up at `productops up`: the snapshots a new consumer needs, once per data directory.

A service that builds projections from other services' events declares, in
`ServiceSpec.catch_up_from`, whose snapshots it needs (issue 10): a consumer deployed after
its producers would otherwise never hear of what they made before it existed. Before it
starts anything, the supervisor runs `productops republish PRODUCER` for each producer a
consumer has not had yet, and notes it in the consumer's marker file,
`<data_dir>/catch-up/<consumer>` (one producer per line): a producer added to
`catch_up_from` later is republished at the next `up`, nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shared.files import append_private, private_dir
from shared.settings import Settings
from shared.stack.components import load_factory, service_names

if TYPE_CHECKING:
    from shared.app import Runtime, ServiceSpec

MARKER_DIR = "catch-up"


def registered_specs(settings: Settings, names: Iterable[str]) -> list[ServiceSpec]:
    """The specs of those of `names` that are registered services (building an app opens
    no connection)."""
    registered = set(service_names())
    specs = []
    for name in names:
        if name in registered:
            runtime: Runtime = load_factory(name)(settings).state.runtime
            specs.append(runtime.spec)
    return specs


def catch_up_needs(specs: Iterable[ServiceSpec]) -> dict[str, tuple[str, ...]]:
    """Each service that declares `catch_up_from`, with the producers it names."""
    return {spec.name: tuple(spec.catch_up_from) for spec in specs if spec.catch_up_from}


def _marker(data_dir: Path, consumer: str) -> Path:
    return data_dir / MARKER_DIR / consumer


def caught_up_from(data_dir: Path, consumer: str) -> set[str]:
    """The producers whose snapshots `consumer` has had in this data dir."""
    try:
        text = _marker(data_dir, consumer).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def pending(data_dir: Path, needs: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each consumer, the producers it still needs snapshots from (in its order)."""
    wanted = {}
    for consumer, producers in needs.items():
        had = caught_up_from(data_dir, consumer)
        missing = [producer for producer in producers if producer not in had]
        if missing:
            wanted[consumer] = missing
    return wanted


def record(data_dir: Path, consumer: str, producer: str) -> None:
    """Note that `consumer` has had `producer`'s snapshots in this data dir."""
    marker = _marker(data_dir, consumer)
    private_dir(marker.parent)
    with append_private(marker) as out:
        out.write(f"{producer}\n".encode())
