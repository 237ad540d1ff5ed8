"""Schema migrations: one Alembic history per component, driven from code.

Each component (a service, the gateway) keeps its revisions in a `migrations` package of its
own, so wheels ship them, and records where its schema stands in a version table of its own
(`alembic_version_<component>`). Alembic's environment (`env.py` and the revision template)
lives once, in `shared/alembic_env/`; the Config is built here, never read from an ini file.
A service's schema includes the kernel's tables (`shared/tables.py`: outbox, inbox, ...).

A new component adds its history in `<its package>/migrations/__init__.py`:

    from services.launch.tables import metadata
    from shared.migrations import service_history

    history = service_history("launch", __name__, metadata)

passes `migrations=history` to its `ServiceSpec`, and drafts its first revision with
`productops revision launch "initial schema"` (then reviews it).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from shared.db import Database
from shared.tables import metadata as kernel_metadata

log = logging.getLogger(__name__)

ENVIRONMENT = "shared:alembic_env"
HEAD = "heads"
SETTING = "PRODUCTOPS_MIGRATE_ON_START"


@dataclass(frozen=True)
class MigrationHistory:
    """One component's schema history: where its revisions live and the tables they build."""

    component: str
    # The dotted name of the package holding the revision files.
    package: str
    metadata: tuple[MetaData, ...]

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.component}"

    def config(self) -> Config:
        """An Alembic Config for this history, with the history in its attributes."""
        config = Config()
        parent, _, leaf = self.package.rpartition(".")
        config.set_main_option("script_location", ENVIRONMENT)
        # `package:folder` locations contain a colon, so split the list on newlines.
        config.set_main_option("path_separator", "newline")
        config.set_main_option("version_locations", f"{parent}:{leaf}")
        config.set_main_option("file_template", "%%(rev)s")
        config.attributes["history"] = self
        return config

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def unmanaged(self, table: str) -> bool:
        """Whether `table` is one the component makes with DDL of its own, which its metadata
        cannot hold (e.g. an FTS5 virtual table, and the shadow tables SQLite makes for it):
        named in a metadata's `info["unmanaged"]`, or prefixed by such a name and `_`."""
        return any(
            table == own or table.startswith(f"{own}_")
            for metadata in self.metadata
            for own in metadata.info.get("unmanaged", ())
        )

    def heads(self) -> frozenset[str]:
        """The newest revisions of the history (one, unless it has branches)."""
        return frozenset(self.script().get_heads())


def service_history(component: str, package: str, metadata: MetaData) -> MigrationHistory:
    """A service's history: its own tables and the kernel's."""
    return MigrationHistory(component, package, (kernel_metadata, metadata))


class SchemaNotAtHead(RuntimeError):
    """A component's database is behind its code, and migrating at start is turned off."""


def _render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Column types as a revision should spell them; False keeps Alembic's rendering."""
    if kind != "type":
        return False
    module, name = type(obj).__module__, type(obj).__name__
    if module.startswith("shared."):
        # Our types take no arguments; Alembic would repeat their inner type's.
        autogen.imports.add(f"import {module}")
        return f"{module}.{name}()"
    if isinstance(obj, JSONB):
        # Alembic adds `astext_type=Text()` without importing Text; it is the default anyway.
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    return False


def _made_on(dialect: str, history: MigrationHistory) -> Callable[..., bool]:
    """An `include_object` hook: Alembic ignores `ddl_if`, so skip what this dialect never
    gets (e.g. the catalog's trigram indexes on SQLite) instead of calling it drift; and skip
    the tables the component makes with DDL of its own (`MigrationHistory.unmanaged`)."""

    def include(obj: Any, name: Any, type_: Any, reflected: bool, _compare_to: Any) -> bool:
        if type_ == "table" and reflected and history.unmanaged(str(name)):
            return False
        condition = getattr(obj, "_ddl_if", None)
        if condition is None or condition.dialect is None:
            return True
        wanted = condition.dialect
        return dialect == wanted if isinstance(wanted, str) else dialect in wanted

    return include


def run_environment(context: EnvironmentContext) -> None:
    """The body of `env.py`: run on the connection and history the caller put in the
    Config's attributes (Alembic's documented connection-sharing recipe)."""
    attributes = context.config.attributes
    history: MigrationHistory = attributes["history"]
    applied: list[str] = attributes.setdefault("applied", [])

    # Alembic passes these by keyword, under these names.
    def record(
        ctx: MigrationContext,
        step: MigrationInfo,
        heads: Collection[Any],
        run_args: Mapping[str, Any],
    ) -> None:
        if not step.is_stamp:
            applied.append(step.up_revision_id or "")

    context.configure(
        connection=attributes["connection"],
        target_metadata=list(history.metadata),
        version_table=history.version_table,
        # SQLite changes most column properties only by copying the table.
        render_as_batch=True,
        render_item=_render_item,
        include_object=_made_on(attributes["connection"].dialect.name, history),
        on_version_apply=record,
    )
    with context.begin_transaction():
        context.run_migrations()


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did."""

    # Revisions run, oldest first; none when the database already was there.
    applied: tuple[str, ...]
    # Set when the database predates migrations: the revision it was recorded at.
    adopted: str | None = None


def _adopt(connection: Connection, history: MigrationHistory, config: Config) -> str | None:
    """A database whose tables `create_all` made before migrations existed holds the first
    revision's schema (that revision is what `create_all` made): record it at that
    revision, so upgrading does not create its tables again."""
    inspector = inspect(connection)
    if inspector.has_table(history.version_table):
        return None
    ours = {name for metadata in history.metadata for name in metadata.tables}
    if not ours & set(inspector.get_table_names()):
        return None
    (first,) = history.script().get_bases()
    command.stamp(config, first)
    return first


def _upgrade(connection: Connection, config: Config, revision: str) -> Upgrade:
    config.attributes["connection"] = connection
    adopted = _adopt(connection, config.attributes["history"], config)
    command.upgrade(config, revision)
    return Upgrade(applied=tuple(config.attributes["applied"]), adopted=adopted)


async def upgrade(db: Database, history: MigrationHistory, revision: str = HEAD) -> Upgrade:
    """Bring the schema to `revision` (default: the newest), all in one transaction."""
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find it done.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                {"name": history.version_table},
            )
        return await conn.run_sync(_upgrade, history.config(), revision)


def _current(connection: Connection, version_table: str) -> frozenset[str]:
    context = MigrationContext.configure(connection, opts={"version_table": version_table})
    return frozenset(context.get_current_heads())


async def current_revisions(db: Database, history: MigrationHistory) -> frozenset[str]:
    """The revisions the database is at (empty before the first migration)."""
    async with db.read_engine.connect() as conn:
        return await conn.run_sync(_current, history.version_table)


async def require_head(db: Database, history: MigrationHistory) -> None:
    """Raise `SchemaNotAtHead`, naming the way out, unless the database is at the newest
    revision."""
    current, heads = await current_revisions(db, history), history.heads()
    if current != heads:
        name = history.component
        raise SchemaNotAtHead(
            f"the {name} database is at revision {_names(current) or '(none)'}, but this "
            f"code needs {_names(heads)}: run `productops migrate {name}`, or set "
            f"{SETTING}=true"
        )


async def prepare_schema(db: Database, history: MigrationHistory, *, migrate: bool) -> None:
    """At start: migrate to the newest revision, or (`migrate=False`) refuse to go on with a
    database that is behind."""
    if not migrate:
        await require_head(db, history)
        return
    done = await upgrade(db, history)
    if done.adopted:
        log.warning(
            "tables made before migrations taken as the first revision",
            extra={"component": history.component, "revision": done.adopted},
        )
    if done.applied:
        log.info("schema migrated", extra={"component": history.component, "applied": done.applied})


def _drift(connection: Connection, history: MigrationHistory) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "version_table": history.version_table,
            "include_object": _made_on(connection.dialect.name, history),
        },
    )
    # Alembic compares against a list of MetaData too (as `target_metadata` may be one),
    # though its hint names a single MetaData.
    diffs: list[Any] = compare_metadata(context, list(history.metadata))  # type: ignore[arg-type]
    return diffs


async def schema_drift(db: Database, history: MigrationHistory) -> list[Any]:
    """How the database's schema differs from the models, as Alembic's autogenerate diff
    directives; empty when they agree."""
    async with db.read_engine.connect() as conn:
        return await conn.run_sync(_drift, history)


def _names(revisions: Iterable[str]) -> str:
    return ", ".join(sorted(revisions))


def _revision(connection: Connection, config: Config, message: str, rev_id: str) -> Path:
    config.attributes["connection"] = connection
    script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    # One history with one head makes one script.
    assert isinstance(script, Script)
    return Path(script.path)


def _next_revision_id(history: MigrationHistory, message: str) -> str:
    """`NNNN_slug`: numbered after the newest revision, so files sort in history order."""
    numbers = [int(r.revision.split("_")[0]) for r in history.script().walk_revisions()]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


async def draft_revision(history: MigrationHistory, *, message: str) -> Path:
    """Write a revision autogenerated from what the models have and the newest revision
    lacks (compared on a scratch SQLite database); returns its path. Review it: renames
    show as drop and add, and data moves are never guessed."""
    rev_id = _next_revision_id(history, message)
    with tempfile.TemporaryDirectory() as scratch:
        # A scratch file thrown away after the draft: no need to sync each commit.
        db = Database(
            f"sqlite+aiosqlite:///{Path(scratch) / 'draft.db'}", sqlite_synchronous="normal"
        )
        try:
            await upgrade(db, history)
            async with db.engine.begin() as conn:
                return await conn.run_sync(_revision, history.config(), message, rev_id)
        finally:
            await db.dispose()
