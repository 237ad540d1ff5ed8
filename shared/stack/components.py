"""Discovery of the components `productops` runs: the registered services and the gateway."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.migrations import MigrationHistory
    from shared.settings import Settings

ENTRY_POINT_GROUP = "productops.services"
GATEWAY = "gateway"
GATEWAY_FACTORY = "gateway.app:create_app"

AppFactory = Callable[["Settings"], "FastAPI"]


def _service_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def service_names() -> list[str]:
    """Names of the services registered in the `productops.services` entry-point group."""
    return sorted(_service_entry_points())


def _factory_path(name: str) -> str:
    if name == GATEWAY:
        return GATEWAY_FACTORY
    entry_point = _service_entry_points().get(name)
    if entry_point is None:
        known = ", ".join([*service_names(), GATEWAY])
        raise LookupError(f"unknown component {name!r} (known: {known})")
    return entry_point.value


def load_factory(name: str) -> AppFactory:
    """The `create_app(settings)` factory of a service, or of the gateway."""
    module_name, _, attr = _factory_path(name).partition(":")
    return getattr(importlib.import_module(module_name), attr)


def load_history(name: str) -> MigrationHistory:
    """A component's schema history: `history` in the `migrations` package beside the
    module of its app factory (`services.catalog.app` -> `services.catalog.migrations`)."""
    package = _factory_path(name).partition(":")[0].rpartition(".")[0]
    return importlib.import_module(f"{package}.migrations").history
