"""The dashboard's pages: `GET /dashboard` and the pages beside it, and its static files.

A page is a shell: navigation, the sign-in form and the place its part goes. It holds no
data, so it needs no token; the part it names is fetched with the tab's token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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
