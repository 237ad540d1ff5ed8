"""Case study rules without I/O, with worked examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.catalog.case_studies.domain import (
    MAX_SOURCES,
    Author,
    CaseStudy,
    Source,
    StudyStatus,
    check_points,
    check_sources,
)
from shared.errors import Conflict, Invalid

PAT = Author("key-pat", "Pat")
SAM = Author("key-sam", "Sam")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def study(**fields: object) -> CaseStudy:
    given = {
        "competitor": "Kettlo",
        "competitor_product": "Kettlo Pro 1.7",
        "strengths": "Boils 1 l in 2 minutes.",
        "weaknesses": "Lid hinge breaks within a year.",
        "sources": [Source(url="https://example.com/review")],
        **fields,
    }
    return CaseStudy.new(id="s1", product_type="kettle", fields=given, author=PAT, at=MONDAY)


def test_a_new_study_is_active_at_version_one_written_and_changed_by_its_author() -> None:
    made = study()

    assert made.status is StudyStatus.ACTIVE
    assert made.version == 1
    assert (made.author, made.updated_by) == (PAT, PAT)
    assert made.created_at == made.updated_at == MONDAY


def test_sources_are_stripped_and_repeats_dropped() -> None:
    kept, errors = check_sources(
        [
            Source(url=" https://example.com/a "),
            Source(url="https://example.com/a"),
            Source(text="  Trade fair talk, May 2026 "),
            Source(url="https://example.com/b", text="Lab test"),
        ]
    )

    assert errors == []
    assert kept == (
        Source(url="https://example.com/a"),
        Source(text="Trade fair talk, May 2026"),
        Source(url="https://example.com/b", text="Lab test"),
    )


def test_every_bad_source_is_named_by_its_place() -> None:
    _, errors = check_sources(
        [Source(), Source(url="ftp://example.com/x"), Source(text="fine"), Source(text="x" * 501)]
    )

    assert [e.loc for e in errors] == [
        ("sources", 0),
        ("sources", 1, "url"),
        ("sources", 3, "text"),
    ]


def test_more_sources_than_the_cap_are_refused() -> None:
    sources = [Source(url=f"https://example.com/{n}") for n in range(MAX_SOURCES + 1)]

    _, errors = check_sources(sources)

    assert [e.loc for e in errors] == [("sources",)]


@pytest.mark.parametrize(
    ("strengths", "weaknesses", "refused"),
    [("Fast.", None, False), (None, "Loud.", False), (None, None, True), ("  ", "", True)],
)
def test_a_study_says_what_the_competitor_does_well_or_badly(
    strengths: str | None, weaknesses: str | None, refused: bool
) -> None:
    assert bool(check_points(strengths, weaknesses)) is refused


def test_an_empty_study_is_refused_with_its_location() -> None:
    with pytest.raises(Invalid) as caught:
        study(strengths=None, weaknesses=" ")

    assert caught.value.extra["errors"][0]["loc"] == ["body", "strengths"]


def test_an_edit_names_the_fields_it_changed_and_bumps_the_version() -> None:
    made = study()

    edited, changed = made.edited(
        {"weaknesses": "Lid hinge was fixed in the 2026 model.", "competitor": "Kettlo"},
        by=SAM,
        at=TUESDAY,
    )

    assert changed == ["weaknesses"]
    assert edited.version == 2
    assert edited.weaknesses == "Lid hinge was fixed in the 2026 model."
    assert (edited.author, edited.updated_by, edited.updated_at) == (PAT, SAM, TUESDAY)


def test_an_edit_that_changes_nothing_bumps_nothing() -> None:
    made = study()

    same, changed = made.edited({"strengths": " Boils 1 l in 2 minutes. "}, by=SAM, at=TUESDAY)

    assert (same, changed) == (made, [])


def test_an_edit_may_clear_one_point_but_not_both() -> None:
    made = study()

    cleared, changed = made.edited({"weaknesses": None}, by=SAM, at=TUESDAY)
    assert (cleared.weaknesses, changed) == (None, ["weaknesses"])

    with pytest.raises(Invalid):
        cleared.edited({"strengths": None}, by=SAM, at=TUESDAY)


def test_archiving_bumps_once_and_an_archived_study_cannot_be_edited() -> None:
    archived, changed = study().archived(by=SAM, at=TUESDAY)

    assert (archived.status, archived.version, changed) == (StudyStatus.ARCHIVED, 2, ["status"])
    assert archived.archived(by=PAT, at=TUESDAY) == (archived, [])
    with pytest.raises(Conflict):
        archived.edited({"strengths": "Cheap."}, by=SAM, at=TUESDAY)


def test_a_study_round_trips_through_its_row() -> None:
    class Row:
        def __init__(self, values: dict[str, object]) -> None:
            self.__dict__.update(values)

    made = study(sources=[Source(url="https://example.com/r", text="Review")])

    assert CaseStudy.from_row(Row(made.row())) == made
