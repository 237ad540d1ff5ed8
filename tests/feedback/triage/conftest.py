"""The real triage model, loaded once for the whole session (about two seconds)."""

from __future__ import annotations

import pytest

from services.feedback.triage.pipeline import ModelTriage, load_triage


@pytest.fixture(scope="session")
def model() -> ModelTriage:
    return load_triage()
