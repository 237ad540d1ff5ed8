"""The dashboard's pages: `GET /dashboard` and the pages beside it, and its static files.

A page is a shell: navigation, the sign-in form and the place its part goes. It holds no
data, so it needs no token; the part it names is fetched with the tab's token.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.dashboard.render import HERE, PAGE_HEADERS, STATIC, templates
from gateway.views.api import ProductId

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# Backlog, lag and dead letters change without a domain event: pages showing them also poll.
OPS_POLL_S = 10
NAV = [
    ("/dashboard", "Summary"),
    ("/dashboard/launches", "Launches"),
    ("/dashboard/feedback", "Feedback"),
    ("/dashboard/pricing", "Pricing"),
    ("/dashboard/products", "Products"),
    ("/dashboard/dead-letters", "Dead letters"),
]


def install_not_found_page(app: FastAPI) -> None:
    """A dashboard address that names no page (a mistyped or stale link, followed by a
    person) answers a page saying so, with status 404, instead of problem+json. Parts and
    static files keep their problems: a script asked for them."""
    problem = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if (
            isinstance(exc, StarletteHTTPException)
            and exc.status_code == 404
            and path.startswith("/dashboard/")
            and not path.startswith(("/dashboard/parts/", f"{STATIC}/"))
        ):
            return templates.TemplateResponse(
                request,
                "not_found.html",
                {
                    "title": "Not found",
                    "heading": "Not found",
                    "here": "",
                    "nav": NAV,
                    "static": STATIC,
                },
                status_code=404,
                headers=PAGE_HEADERS,
            )
        answer = problem(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, not_found)


def mount_static(app: FastAPI) -> None:
    """Serve the dashboard's script, style sheet and vendored libraries."""
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="dashboard-static")


def _page(
    request: Request,
    *,
    here: str,
    heading: str,
    part: str,
    searchable: bool = False,
    q: str = "",
    poll_s: int | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "page.html",
        {
            "title": heading,
            "heading": heading,
            "here": here,
            "nav": NAV,
            "static": STATIC,
            "part": part,
            "searchable": searchable,
            "q": q,
            "poll_s": poll_s,
        },
        headers=PAGE_HEADERS,
    )


@dataclass(frozen=True)
class _Plain:
    """A page that is its heading and its one part."""

    path: str
    heading: str
    poll_s: int | None = None

    async def __call__(self, request: Request) -> HTMLResponse:
        here = f"/dashboard{self.path}"
        part = f"/dashboard/parts{self.path or '/summary'}"
        return _page(request, here=here, heading=self.heading, part=part, poll_s=self.poll_s)


for _plain in [
    _Plain("", "Summary", poll_s=OPS_POLL_S),
    _Plain("/launches", "Launches"),
    _Plain("/feedback", "Feedback"),
    _Plain("/pricing", "Prices waiting for approval"),
    _Plain("/dead-letters", "Dead letters", poll_s=OPS_POLL_S),
]:
    router.add_api_route(_plain.path, _plain, methods=["GET"], response_class=HTMLResponse)


@router.get("/products", response_class=HTMLResponse)
async def products_page(
    request: Request, q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    part = "/dashboard/parts/products" + (f"?{urlencode({'q': q})}" if q else "")
    return _page(
        request,
        here="/dashboard/products",
        heading="Products",
        part=part,
        searchable=True,
        q=q,
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_page(product_id: ProductId, request: Request) -> HTMLResponse:
    return _page(
        request,
        here="/dashboard/products",
        heading="Product",
        part=f"/dashboard/parts/products/{quote(product_id, safe='')}",
    )
