"""The dashboard's Jinja2 environment: templates, the filters they use, and the headers
every dashboard page carries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# Where the pages' script, style sheet and vendored libraries are served.
STATIC = "/dashboard/static"

# Everything the page loads is served by the gateway itself: no inline script or style, no
# other origin. htmx is configured (base.html) to need neither eval nor inline styles.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def when(value: Any) -> str:
    """A timestamp as a person reads it: `29 Nov 2026 09:30 UTC`."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.strftime("%d %b %Y %H:%M %Z").strip()


def day(value: Any, today: date | None = None) -> str:
    """A date as `Mon 30 Nov`, with its year when that is not `today`'s (`Mon 04 Jan 2027`):
    a calendar that reaches into next year must not read as this January."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, date):
        this_year = (today or datetime.now(UTC).date()).year
        return value.strftime("%a %d %b" if value.year == this_year else "%a %d %b %Y")
    return "" if value is None else str(value)


def plural(count: Any, noun: str, nouns: str | None = None) -> str:
    """A count with its noun in agreement: `1 report`, `2 reports` (`nouns` when the plural
    is not the noun and an s)."""
    many = nouns if nouns is not None else noun + "s"
    return f"{count} {noun if count == 1 else many}"


def words(value: Any) -> str:
    """An identifier as words: `regulatory_compliance` becomes `regulatory compliance`."""
    return str(value).replace("_", " ").replace("-", " ")


templates.env.filters.update(when=when, day=day, words=words, plural=plural)
