"""Each service and the gateway answer only what their OpenAPI documents (issue 12).

Schemathesis generates requests from each app's `/openapi.json` and runs every check it has
(status codes, content types, response schemas and headers, server errors, that invalid input
is refused and valid input taken, that auth is enforced, 405 with `Allow`...) against the app
in process, with an admin token, a fixed seed and a bounded number of examples. Every failure
is listed with the request that caused it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Imported whole before any app starts: feedback's triage worker imports it in a thread of
# its own while hypothesis, here, reads `sys.modules["numpy"]` when present, and a module
# half-imported by another thread fails it ("partially initialized module 'numpy'").
import numpy  # noqa: F401
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

from shared.settings import Settings
from shared.stack.components import GATEWAY, load_factory, service_names
from tests.support import create_pg_database, drop_pg_database, token

pytestmark = [
    # Minutes rather than seconds: `make test` runs it, `make check` does not.
    pytest.mark.schemathesis,
    # The app runs in a thread beside hypothesis, and its retry jitter draws from `random`.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SEED = 20261129
# Examples per operation in the fuzzing phase; the examples and coverage phases add their own.
MAX_EXAMPLES = 15
# Nothing listens on port 1: the gateway's calls to services fail at once (502), as documented.
NO_SERVICE = 1
# Every registered service (a new one is covered at once), then the gateway.
SERVICES = service_names()


def _config(*, gateway: bool) -> SchemathesisConfig:
    # Nothing runs behind the gateway here: its documented answer for a routed call, a
    # composed view's critical part or an ingestion batch is then 502 (no service) or 504.
    upstream_down = ["502", "504"] if gateway else []
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "headers": {"Authorization": f"Bearer {token('admin', subject='key-schemathesis')}"},
            "continue-on-failure": True,
            "workers": 1,
            "checks": {
                "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", *upstream_down]},
                # Some rules no JSON schema states: an opaque cursor made by the server, a
                # reference to another resource, "send at least one field". Input that breaks
                # one is a 422 problem even when it fits the schema.
                "positive_data_acceptance": {
                    "expected-statuses": [
                        *("2xx", "401", "403", "404", "409", "412", "422", "429", "5xx")
                    ]
                },
                # A batch over its size cap is refused as too large (413), like a body.
                "negative_data_rejection": {
                    "expected-statuses": [
                        *("400", "401", "403", "404", "405", "406", "409", "413", "415"),
                        *("422", "428", "429", "5xx"),
                    ]
                },
            },
            "operations": [
                # Each event of a batch is validated on its own: a batch with events that break
                # the documented event schema is still a 202, with those events in `rejected`.
                {
                    "include-path": "/v1/customer-events",
                    "include-method": "POST",
                    "checks": {"negative_data_rejection": {"enabled": False}},
                }
            ],
        }
    )


@dataclass
class Outcome:
    """What one run found: cases sent, and each failed check with one example request."""

    cases: int = 0
    by_phase: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"{n} x {op}: {check}\n    {self.examples[(op, check)]}"
            for (op, check), n in sorted(self.failures.items())
        ]
        return "\n".join([*lines, *self.errors])


def _record(outcome: Outcome, phase: str, recorder: Any) -> None:
    outcome.cases += len(recorder.cases)
    outcome.by_phase[phase] += len(recorder.cases)
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            outcome.by_status[interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE:
                continue
            key = (recorder.label, check.name)
            outcome.failures[key] += 1
            if key in outcome.examples:
                continue
            interaction = recorder.interactions.get(case_id)
            sent = "?"
            if interaction is not None:
                request, response = interaction.request, interaction.response
                answer = (
                    f"{response.status_code} {response.content[:160]!r}" if response else "nothing"
                )
                sent = f"{request.method} {request.uri} {(request.body or b'')[:160]!r} -> {answer}"
            why = str(check.failure_info.failure).splitlines()[0:3] if check.failure_info else []
            outcome.examples[key] = f"{sent}: {' / '.join(why)}"


def run_schemathesis(app: FastAPI, *, gateway: bool = False) -> Outcome:
    """Every phase and check of schemathesis against `app`, its lifespan started for the run."""
    outcome = Outcome()
    started = time.monotonic()
    try:
        # Loading the document starts the app's lifespan, which the `finally` ends.
        schema: schemathesis.BaseSchema = schemathesis.openapi.from_asgi(
            "/openapi.json", app, config=_config(gateway=gateway)
        )
        # An endless Server-Sent Events stream: tests/gateway/test_live.py covers it.
        schema = schema.exclude(path="/v1/live")
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _record(outcome, str(event.phase), event.recorder)
            elif isinstance(event, events.NonFatalError):
                outcome.errors.append(f"error in {event.label}: {event.value!r}")
            elif isinstance(event, events.FatalError):
                outcome.errors.append(f"fatal: {event.exception!r}")
    finally:
        asgi.shutdown_lifespans()
    outcome.seconds = time.monotonic() - started
    return outcome


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the app's SQLite file), or a fresh PostgreSQL database, dropped after the test:
    PostgreSQL refuses what SQLite keeps (a NUL character was a 500 on it alone)."""
    if request.param == "sqlite":
        yield None
        return
    url = asyncio.run(create_pg_database())
    try:
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


@pytest.mark.parametrize("component", [*SERVICES, GATEWAY])
def test_the_app_answers_only_what_its_openapi_documents(
    component: str, postgres_url: str | None, make_settings: Callable[..., Settings]
) -> None:
    # No consumers (no broker here) and no service behind the gateway.
    settings = make_settings(
        run_consumers=False,
        **{f"{name}_port": NO_SERVICE for name in SERVICES},
        **({f"{component}_database_url": postgres_url} if postgres_url else {}),
    )
    app = load_factory(component)(settings)
    outcome = run_schemathesis(app, gateway=component == GATEWAY)
    phases = ", ".join(f"{phase} {n}" for phase, n in sorted(outcome.by_phase.items()))
    answers = ", ".join(f"{status} {n}" for status, n in sorted(outcome.by_status.items()))
    backend = "postgres" if postgres_url else "sqlite"
    print(
        f"{component} on {backend}: {outcome.cases} cases ({phases}) in"
        f" {outcome.seconds:.1f} s: {answers}"
    )
    assert outcome.cases > 0
    assert not outcome.failures, outcome.report()
    assert not outcome.errors, outcome.report()
