"""`python -m tests.faults.flaky_feedback`: the feedback service, whose triage model fails
while the file `<data dir>/triage.down` exists (the fault "the triage model failing for a
while"). Otherwise it is `productops serve feedback` with the real model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import uvicorn

from services.feedback.app import create_app
from services.feedback.triage import Triage, TriageInput, TriageResult, load_triage
from shared.observability import configure_logging
from shared.settings import Settings

SWITCH = "triage.down"


class ModelDown(RuntimeError):
    """What the model raises while it is switched off."""


class SwitchableTriage:
    """The real model behind a switch file; keeps the `Triage` contract."""

    def __init__(self, model: Triage, switch: Path) -> None:
        self._model = model
        self._switch = switch

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        if self._switch.exists():
            raise ModelDown(f"triage model switched off by {self._switch}")
        return self._model.triage(items)


def main() -> None:
    """Serve until SIGINT or SIGTERM, like `shared.stack.serve.serve("feedback")`."""
    settings = Settings()
    configure_logging("feedback", settings.log_level)
    switch = settings.data_dir.resolve() / SWITCH
    app = create_app(settings, triage=lambda: SwitchableTriage(load_triage(), switch))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port("feedback"),
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
