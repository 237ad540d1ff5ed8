"""Discovery of the components `productops` runs: the registered services and the gateway,
and the events each service publishes."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from shared.events import EventRegistry

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.migrations import MigrationHistory
    from shared.settings import Settings

ENTRY_POINT_GROUP = "productops.services"
GATEWAY = "gateway"
GATEWAY_FACTORY = "gateway.app:create_app"
GATEWAY_EVENTS = "gateway.events"

AppFactory = Callable[["Settings"], "FastAPI"]


def _service_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def service_names() -> list[str]:
    """Names of the services registered in the `productops.services` entry-point group."""
    return sorted(_service_entry_points())


def _service_entry_point(name: str) -> EntryPoint:
    entry_point = _service_entry_points().get(name)
    if entry_point is None:
        known = ", ".join([*service_names(), GATEWAY])
        raise LookupError(f"unknown component {name!r} (known: {known})")
    return entry_point


def _factory_path(name: str) -> str:
    if name == GATEWAY:
        return GATEWAY_FACTORY
    return _service_entry_point(name).value


def load_factory(name: str) -> AppFactory:
    """The `create_app(settings)` factory of a service, or of the gateway."""
    module_name, _, attr = _factory_path(name).partition(":")
    factory: AppFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def load_history(name: str) -> MigrationHistory:
    """A component's schema history: `history` in the `migrations` package beside the
    module of its app factory (`services.catalog.app` -> `services.catalog.migrations`)."""
    package = _factory_path(name).partition(":")[0].rpartition(".")[0]
    history: MigrationHistory = importlib.import_module(f"{package}.migrations").history
    return history


def load_event_registry(name: str) -> EventRegistry:
    """The events a service publishes: `registry` in the `events` module of its package.

    The app factory's module is loaded first: it imports every sub-domain, and so every
    payload model has registered itself (a catalog sub-domain adds to catalog's registry).
    """
    entry_point = _service_entry_point(name)
    entry_point.load()
    package = entry_point.module.rpartition(".")[0]
    registry = getattr(importlib.import_module(f"{package}.events"), "registry", None)
    if not isinstance(registry, EventRegistry):
        raise LookupError(f"{package}.events has no EventRegistry named registry")
    return registry


def event_registries() -> dict[str, EventRegistry]:
    """Every registered service's published events, by service name, and the gateway's."""
    registries = {name: load_event_registry(name) for name in service_names()}
    registries[GATEWAY] = _gateway_registry()
    return registries


def _gateway_registry() -> EventRegistry:
    registry: EventRegistry = importlib.import_module(GATEWAY_EVENTS).registry
    return registry
