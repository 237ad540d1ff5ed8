"""The catalog service's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.catalog.api import router
from services.catalog.tables import metadata
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The catalog app: products, product types, completeness and lifecycle."""
    spec = ServiceSpec(
        name="catalog", title="ProductOps catalog", metadata=metadata, routers=[router]
    )
    return create_service_app(spec, settings)
