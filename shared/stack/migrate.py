"""`productops migrate [NAME]` and `productops revision NAME MESSAGE`."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from shared.db import Database
from shared.migrations import Upgrade, draft_revision, upgrade
from shared.settings import Settings
from shared.stack.components import GATEWAY, load_history, service_names


def _report(name: str, url: str, done: Upgrade) -> str:
    where = make_url(url).render_as_string(hide_password=True)
    lines = []
    if done.adopted:
        lines.append(f"{name}: tables made before migrations, recorded as {done.adopted}")
    if done.applied:
        lines.append(f"{name}: applied {', '.join(done.applied)} ({where})")
    else:
        lines.append(f"{name}: already at the newest revision ({where})")
    return "\n".join(lines)


async def _migrate_one(settings: Settings, name: str) -> str:
    history = load_history(name)
    url = settings.database_url(name)
    db = Database(url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        return _report(name, url, await upgrade(db, history))
    finally:
        await db.dispose()


def migrate(settings: Settings, name: str | None) -> int:
    """Migrate one component's database, or every component's; print what was done. The
    exit code is 1 when a database fails (the others are still tried), else 0."""
    names = [name] if name else [*service_names(), GATEWAY]
    # Unknown names fail before any database is touched.
    for each in names:
        load_history(each)
    failed = False
    for each in names:
        try:
            print(asyncio.run(_migrate_one(settings, each)))
        except (SQLAlchemyError, OSError) as exc:
            failed = True
            print(f"productops: {each}: migration failed: {exc}", file=sys.stderr)
    return 1 if failed else 0


def draft(name: str, message: str) -> int:
    """Write a draft revision for a component's schema changes; print its path."""
    path = asyncio.run(draft_revision(load_history(name), message=message))
    print(f"{name}: drafted {path}; review it before committing")
    return 0
