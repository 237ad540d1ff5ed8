"""Speed work on the worker must not change what the model says.

`data/model_readings.json` holds the real model's readings of a fixed set of texts (written
for this test, none from a frozen fresh set), first taken at the commit before the triage
worker's performance work (issue 16) and taken again when the served model itself changed
(candidate F of issue 15's sixth round, MODEL.md: 3 of the 36 texts changed category; candidate
J of the tenth round: 1 text changed category and severity, 33 confidences moved; candidate
M of the thirteenth round, int8 products and clauses read: no reading changed, 25 confidences
moved; candidate O of the fourteenth round, refitted: no reading changed, 28 confidences
moved; candidate P of the fifteenth round, refitted with a fifth development set: two texts
changed hazard and severity, all 36 confidences moved, one across the review bound). The
same inputs must read the same today: category, severity, hazard and topic exactly,
sentiment to float32 noise and confidence to what another CPU's float kernels move it
(`CONFIDENCE_ON_ANY_CPU`); whether read in one batch, in batches of another size or one by
one (the encoder pads each batch to its longest text, so the company a text keeps must not
change its reading).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from services.feedback.triage.encoder import Encoder
from services.feedback.triage.fresh import FRESH_PATHS, load_fresh
from services.feedback.triage.labels import TriageInput, TriageResult
from services.feedback.triage.pipeline import ModelTriage
from shared.settings import Settings

BEFORE = Path(__file__).parent / "data" / "model_readings.json"
# The readings were taken on AVX-512 machines; on an AVX2 one (2026-12-01), with the same
# integer products, onnxruntime's float kernels moved a confidence 0.0014 at most.
CONFIDENCE_ON_ANY_CPU = 5e-3
EXPECTED: list[dict[str, Any]] = json.loads(BEFORE.read_text())
INPUTS = [
    TriageInput(
        kind=row["kind"],
        text=row["text"],
        rating=row["rating"],
        subject=row["subject"],
        reason=row["reason"],
        priority=row["priority"],
    )
    for row in EXPECTED
]


def reading(result: TriageResult) -> tuple[str, str, bool, str]:
    return (result.category.value, result.severity.value, result.safety_hazard, result.topic)


def test_the_fixed_set_is_not_from_a_frozen_set() -> None:
    frozen = {item.text for path in FRESH_PATHS for item in load_fresh(path)}
    assert not frozen & {item.text for item in INPUTS}


@pytest.mark.parametrize("size", [len(INPUTS), 7, 1])
def test_the_model_reads_the_fixed_set_as_before(model: ModelTriage, size: int) -> None:
    results: list[TriageResult] = []
    for start in range(0, len(INPUTS), size):
        results.extend(model.triage(INPUTS[start : start + size]))
    for row, result in zip(EXPECTED, results, strict=True):
        expected = (row["category"], row["severity"], row["safety_hazard"], row["topic"])
        assert reading(result) == expected, row["text"]
        assert result.sentiment == pytest.approx(row["sentiment"], abs=1e-4), row["text"]
        assert result.confidence == pytest.approx(row["confidence"], abs=CONFIDENCE_ON_ANY_CPU), (
            row["text"]
        )


def test_the_apps_model_runs_on_the_configured_threads_and_reads_as_before(
    settings: Settings,
) -> None:
    # Two threads split the work of each matrix product, not the sums inside it: the same
    # readings as one thread.
    app = create_app(settings, feedback=FeedbackSettings(triage_threads=2))
    loaded = app.state.feedback_worker._factory()
    assert isinstance(loaded, ModelTriage)
    assert isinstance(loaded.encoder, Encoder)
    assert loaded.encoder.session.get_session_options().intra_op_num_threads == 2
    for row, result in zip(EXPECTED, loaded.triage(INPUTS), strict=True):
        expected = (row["category"], row["severity"], row["safety_hazard"], row["topic"])
        assert reading(result) == expected, row["text"]
