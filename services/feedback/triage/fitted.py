"""The fitted classifiers as a file, so that every replica serves the same model.

`model/fitted.npz` holds the category and hazard classifiers' parameters; `model/fitted.json`
names its sha256 and how it was made (what it was fitted on, the frozen evaluation's figures).
`load_fitted` checks the hash before use, as the encoder does for its files, and refuses a
file that is not the one named. Only `python -m services.feedback.triage.refit` writes them.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.feedback.triage import classifier as linear
from services.feedback.triage.integrity import read_verified

MODEL_DIR = Path(__file__).parent / "model"
FITTED_PATH = MODEL_DIR / "fitted.npz"
_PARTS = ("mean", "scale", "weights", "bias")


@dataclass(frozen=True)
class Fitted:
    """The two classifiers triage fits: category and hazard."""

    category: linear.LinearClassifier
    hazard: linear.LinearClassifier


def manifest_path(path: Path) -> Path:
    """Where the hash and the story of a fitted file are kept (`fitted.json` beside it)."""
    return path.with_suffix(".json")


def save_fitted(fitted: Fitted, path: Path = FITTED_PATH, **about: Any) -> str:
    """Write the parameters and their manifest (sha256 plus `about`); returns the sha256."""
    arrays: dict[str, Any] = {}
    for name, model in (("category", fitted.category), ("hazard", fitted.hazard)):
        for part in _PARTS:
            arrays[f"{name}_{part}"] = getattr(model, part)
        arrays[f"{name}_classes"] = np.array(model.classes)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path.write_bytes(data)
    manifest = {"sha256": digest, **about}
    manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return digest


def load_fitted(path: Path = FITTED_PATH) -> Fitted:
    """The classifiers of a fitted file whose sha256 is the one its manifest names
    (ModelIntegrityError otherwise)."""
    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    data = read_verified(path, manifest["sha256"])
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        models = {
            name: linear.LinearClassifier(
                classes=tuple(str(c) for c in arrays[f"{name}_classes"]),
                **{part: arrays[f"{name}_{part}"] for part in _PARTS},
            )
            for name in ("category", "hazard")
        }
    return Fitted(category=models["category"], hazard=models["hazard"])
