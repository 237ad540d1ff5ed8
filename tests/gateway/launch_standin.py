"""A stand-in for the launch service's read routes (`services/launch` is being built beside
this work): the paths and page shapes of issue 10, one blocked plan, and the scope check, so
the views' launch parts can be tested until the real service can be started here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request

from shared.auth import Principal, TokenSigner, current_principal
from shared.errors import Forbidden, install_error_handlers
from tests.support import TEST_SECRET


async def _reader(principal: Annotated[Principal, Depends(current_principal)]) -> None:
    if not principal.has("launch:read"):
        raise Forbidden("this call needs the scope launch:read", required_scope="launch:read")


def blocked_plan(product_id: str) -> dict[str, Any]:
    """One plan as `GET /v1/launches/{id}` shows it: blocked by a critical finding."""
    return {
        "id": "launch-1",
        "product_id": product_id,
        "price_list": "eu-web",
        "target_date": "2030-06-01",
        "status": "planned",
        "readiness": "blocked",
        "at_risk": False,
        "gates": [
            {
                "name": "no_critical_defects",
                "kind": "auto",
                "status": "fail",
                "reason": "1 critical finding open",
                "why": [{"finding_id": "f-1", "severity": "critical", "item_count": 1}],
            }
        ],
    }


def launch_standin(product_id: str) -> FastAPI:
    """The routes the views call, about one blocked plan of `product_id`; the calendar's
    queries are kept in `app.state.calendar_queries`."""
    app = FastAPI()
    router = APIRouter(dependencies=[Depends(_reader)])
    app.state.signer = TokenSigner(TEST_SECRET)
    app.state.calendar_queries = []
    install_error_handlers(app)
    plan = blocked_plan(product_id)

    @app.get("/readyz")
    async def readyz() -> dict[str, Any]:
        return {"service": "launch", "status": "ready", "outbox_backlog": 0, "dead_letters": {}}

    @router.get("/v1/launches")
    async def launches(product_id: str | None = None) -> dict[str, Any]:
        listed = [plan] if product_id in (None, plan["product_id"]) else []
        # The list leaves out the why-blocked chain: the overview asks for each plan.
        items = [{k: v for k, v in p.items() if k != "gates"} for p in listed]
        return {"items": items, "next_cursor": None}

    @router.get("/v1/launches/{launch_id}")
    async def launch(launch_id: str) -> dict[str, Any]:
        return plan

    @router.get("/v1/launch-calendar")
    async def calendar(request: Request) -> dict[str, Any]:
        app.state.calendar_queries.append(dict(request.query_params))
        entry = {**plan, "days_left": 5, "behind": True, "slipped": False, "conflict": False}
        return {"items": [entry], "next_cursor": None}

    app.include_router(router)
    return app
