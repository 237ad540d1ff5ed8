"""The gate's paired comparison on the newest frozen set (compare.py): pure counting, and the
command line on files of readings. No model: the readings are written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.feedback.triage import Category, Severity
from services.feedback.triage.compare import PairedCount, Reading, main, paired_counts
from services.feedback.triage.fresh import FRESH_PATHS, FreshItem, load_fresh


def item(n: int, category: Category = Category.DEFECT, hazard: bool = False) -> FreshItem:
    return FreshItem(
        id=f"t-{n}",
        product="toaster",
        kind="review",
        text=f"text {n}",
        category=category,
        severity=Severity.CRITICAL if hazard else Severity.HIGH,
        hazard=hazard,
    )


def right(of: FreshItem) -> Reading:
    return Reading(category=of.category.value, hazard=of.hazard)


def wrong_hazard(of: FreshItem) -> Reading:
    return Reading(category=of.category.value, hazard=not of.hazard)


@pytest.mark.parametrize(
    ("losses", "gains", "worse"),
    [(0, 0, False), (1, 0, False), (2, 0, True), (2, 1, False), (3, 1, False), (4, 1, True)],
)
def test_worse_means_a_net_loss_beyond_one_standard_error(
    losses: int, gains: int, worse: bool
) -> None:
    paired = PairedCount(name="category", texts=100, losses=losses, gains=gains)
    assert paired.detectably_worse is worse


def test_each_reading_is_counted_on_its_own_texts() -> None:
    hazards = [item(n, hazard=True) for n in range(4)]
    others = [item(n) for n in range(4, 12)]
    items = hazards + others
    served = {i.id: right(i) for i in items}
    # The candidate misses two hazards, avoids nothing new, and flags one safe text.
    candidate = dict(served)
    for missed in hazards[:2]:
        candidate[missed.id] = wrong_hazard(missed)
    candidate[others[0].id] = wrong_hazard(others[0])
    # ... and reads one text's category right that the served model read wrong.
    served[others[1].id] = Reading(category="praise", hazard=False)
    counts = {c.name: c for c in paired_counts(items, served, candidate)}
    assert counts["category"] == PairedCount("category", 12, losses=0, gains=1)
    assert counts["hazards found"] == PairedCount("hazards found", 4, losses=2, gains=0)
    assert counts["false hazards avoided"] == PairedCount(
        "false hazards avoided", 8, losses=1, gains=0
    )
    assert counts["hazards found"].detectably_worse
    assert not counts["false hazards avoided"].detectably_worse


def test_a_text_without_a_reading_is_refused() -> None:
    items = [item(1), item(2)]
    served = {i.id: right(i) for i in items}
    with pytest.raises(ValueError, match="1 items of the set have no reading"):
        paired_counts(items, served, {"t-1": right(items[0])})


def write(path: Path, set_name: str, readings: dict[str, Reading]) -> Path:
    rows = {key: {"category": r.category, "hazard": r.hazard} for key, r in readings.items()}
    path.write_text(json.dumps({"set": set_name, "readings": rows}))
    return path


# The command line, on the first frozen set's ids and labels (no text is read or printed).
FIRST = FRESH_PATHS[0]


def test_judge_passes_a_candidate_within_the_band_and_fails_one_beyond(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = load_fresh(FIRST)
    truth = {i.id: right(i) for i in items}
    served = write(tmp_path / "served.json", FIRST.name, truth)
    others = [i for i in items if not i.hazard]
    one_more = write(
        tmp_path / "one.json", FIRST.name, truth | {others[0].id: wrong_hazard(others[0])}
    )
    assert main(["--set", FIRST.name, "judge", str(served), str(one_more)]) == 0
    assert "false hazards avoided" in capsys.readouterr().out
    two_more = write(
        tmp_path / "two.json",
        FIRST.name,
        truth | {o.id: wrong_hazard(o) for o in others[:2]},
    )
    assert main(["--set", FIRST.name, "judge", str(served), str(two_more)]) == 1
    assert "net +2 against a band of 1.41: detectably worse" in capsys.readouterr().out


def test_judge_refuses_readings_of_another_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = write(tmp_path / "served.json", "fresh_eval_2.jsonl", {})
    with pytest.raises(SystemExit) as exit_:
        main(["--set", FIRST.name, "judge", str(served), str(served)])
    assert exit_.value.code == 2
    assert "holds readings of 'fresh_eval_2.jsonl'" in capsys.readouterr().err


def test_only_a_frozen_set_can_be_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--set", "seed.jsonl", "judge", "a.json", "b.json"])
    assert exit_.value.code == 2
    assert "seed.jsonl is not a frozen set" in capsys.readouterr().err


def test_judge_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(SystemExit) as exit_:
        main(["--set", FIRST.name, "judge", str(missing), str(missing)])
    assert exit_.value.code == 2
    assert "nowhere.json" in capsys.readouterr().err
