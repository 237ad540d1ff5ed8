"""Requirement and recommendation rules, without database, broker or HTTP."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.catalog.requirements.domain import (
    EPOCH,
    HALF_LIFE_DAYS,
    MAX_FEEDBACK_REFS,
    MAX_QUOTES,
    MAX_TERM,
    Demand,
    Kind,
    Part,
    Report,
    Status,
    Tally,
    add_quote,
    add_report,
    adopt,
    clean_text,
    dismiss,
    key_terms,
    log2_add,
    merge,
    new_tally,
    occurrence_weight,
    product_terms,
    recommendation_id,
    requirement_key,
    sample_quotes,
    score,
    stem,
    summarise,
    target_of,
    tokens,
)
from shared.errors import Conflict

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def report(
    occurrences: int = 1,
    *,
    at: datetime = NOW,
    kind: Kind = Kind.REQUIREMENT,
    quote: str | None = None,
    ref: str | None = None,
) -> Report:
    return Report(kind=kind, occurrences=occurrences, occurred_at=at, quote=quote, feedback_ref=ref)


# --- the normalised key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("kettle with temperature control", "control kettle temperature"),
        ("Kettles with Temperature-Control!", "control kettle temperature"),
        ("  temperature   control, KETTLE  ", "control kettle temperature"),
        ("I want a kettle that has temperature control please", "control kettle temperature"),
        ("Kettle's lid", "kettle lid"),
        ("don't leak", "dont leak"),
        ("kettle 1,7L", "1.7l kettle"),
        ("kettle 1.7l", "1.7l kettle"),
        ("batteries boxes glasses", "battery box glass"),
        ("usb_c charger", "c charger usb"),
        ("café crème", "café crème"),
        ("kettle kettles KETTLE", "kettle"),
    ],
)
def test_requirement_key(text: str, key: str) -> None:
    assert requirement_key(text) == key


def test_negations_are_kept() -> None:
    assert requirement_key("kettle without plastic") == "kettle plastic without"
    assert requirement_key("kettle with plastic") == "kettle plastic"
    assert requirement_key("not loud") == "loud not"


def test_only_stop_words_keep_them_rather_than_vanish() -> None:
    assert requirement_key("The Who") == "the who"
    assert key_terms("the the") == ("the",)


def test_no_words_no_key() -> None:
    assert requirement_key("!!! ...") == ""
    assert requirement_key("   ") == ""


def test_stemmed_stop_words_are_still_stop_words() -> None:
    # "does" stems to "doe": it is dropped like "does" would be.
    assert requirement_key("does it whistle") == "whistle"


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("kettles", "kettle"),
        ("batteries", "battery"),
        ("glasses", "glass"),
        ("boxes", "box"),
        ("brushes", "brush"),
        ("bus", "bus"),
        ("glass", "glass"),
        ("iris", "iris"),
        ("gas", "gas"),
        ("ties", "tie"),
    ],
)
def test_light_stemmer(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_tokens_keep_stop_words_and_order() -> None:
    assert tokens("A kettle_with Lids") == ["a", "kettle", "with", "lid"]


def test_very_long_words_are_cut() -> None:
    (term,) = key_terms("x" * 400)
    assert len(term) == MAX_TERM


def test_clean_text_collapses_whitespace() -> None:
    assert clean_text("  a \n b\t c ") == "a b c"


def test_target_prefers_the_product() -> None:
    assert target_of("p1", "kettle") == "product:p1"
    assert target_of(None, "kettle") == "type:kettle"
    assert target_of(None, None) == "any"
    assert target_of("", "") == "any"


def test_recommendation_id_is_stable_and_depends_on_the_key_only() -> None:
    first = recommendation_id("control kettle temperature")
    assert first == recommendation_id("control kettle temperature")
    assert first != recommendation_id("kettle")
    # A UUIDv5 under a fixed namespace: the same idea has the same id in every database.
    assert first == "b9a132d7-0c60-58a4-bbaa-119165ea375e"


# --- recency weighting -------------------------------------------------------------------------


def test_score_of_a_fresh_report_is_its_count() -> None:
    assert score(occurrence_weight(7, NOW), NOW) == pytest.approx(7)


def test_score_halves_every_half_life() -> None:
    weight = occurrence_weight(8, NOW - timedelta(days=HALF_LIFE_DAYS))
    assert score(weight, NOW) == pytest.approx(4)
    assert score(weight, NOW + timedelta(days=HALF_LIFE_DAYS)) == pytest.approx(2)


def test_half_life_is_configurable() -> None:
    weight = occurrence_weight(8, NOW - 10 * DAY, half_life_days=10)
    assert score(weight, NOW, half_life_days=10) == pytest.approx(4)


def test_weights_add_as_decayed_counts() -> None:
    total = log2_add(occurrence_weight(2, NOW), occurrence_weight(4, NOW - 60 * DAY))
    assert score(total, NOW) == pytest.approx(2 + 4 / 4)


def test_log2_add_is_commutative_and_handles_none() -> None:
    a, b = occurrence_weight(3, NOW), occurrence_weight(5, NOW - 3 * DAY)
    assert log2_add(a, b) == pytest.approx(log2_add(b, a))
    assert log2_add(None, a) == a
    assert log2_add(a, None) == a
    assert log2_add(None, None) is None


def test_weights_stay_finite_far_from_the_epoch() -> None:
    far = EPOCH + timedelta(days=365 * 200)
    weight = log2_add(occurrence_weight(1, far), occurrence_weight(1, far))
    assert weight is not None
    assert math.isfinite(weight)
    assert score(weight, far) == pytest.approx(2)


def test_ranking_by_weight_is_ranking_by_score_at_any_time() -> None:
    fresh_small = occurrence_weight(3, NOW)
    old_big = occurrence_weight(20, NOW - 90 * DAY)  # 20 / 8 = 2.5 today
    assert fresh_small > old_big
    for later in (NOW, NOW + 30 * DAY, NOW + 400 * DAY):
        assert score(fresh_small, later) > score(old_big, later)


def test_no_weight_scores_zero() -> None:
    assert score(None, NOW) == 0.0


def test_occurrences_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        occurrence_weight(0, NOW)


# --- merging reports ---------------------------------------------------------------------------


def test_new_tally_from_a_search_miss_cluster() -> None:
    tally = new_tally(
        report(14, kind=Kind.SEARCH_MISS, quote="kettle 40 degrees", ref="c1"), now=NOW
    )
    assert tally.count == 14
    assert tally.search_miss_count == 14
    assert tally.kind is Kind.SEARCH_MISS
    assert tally.first_seen == tally.last_seen == NOW
    assert tally.quotes == ("kettle 40 degrees",)
    assert tally.feedback_refs == ("c1",)
    assert score(tally.weight_log2, NOW) == pytest.approx(14)


def test_merge_adds_counts_and_widens_seen_times() -> None:
    tally = new_tally(report(2, at=NOW - 5 * DAY), now=NOW)
    tally = merge(tally, report(3, at=NOW - 10 * DAY), now=NOW)  # arrives out of order
    tally = merge(tally, report(1, at=NOW - DAY), now=NOW)
    assert tally.count == 6
    assert tally.first_seen == NOW - 10 * DAY
    assert tally.last_seen == NOW - DAY
    expected = 2 * 2 ** (-5 / 30) + 3 * 2 ** (-10 / 30) + 2 ** (-1 / 30)
    assert score(tally.weight_log2, NOW) == pytest.approx(expected)


def test_a_stated_requirement_turns_a_search_miss_into_a_requirement() -> None:
    tally = new_tally(report(5, kind=Kind.SEARCH_MISS), now=NOW)
    tally = merge(tally, report(1, kind=Kind.REQUIREMENT), now=NOW)
    assert tally.search_miss_count == 5
    assert tally.count == 6
    assert tally.kind is Kind.REQUIREMENT


def test_future_reports_count_as_now() -> None:
    tally = new_tally(report(2, at=NOW + 10 * DAY), now=NOW)
    assert tally.last_seen == NOW
    assert score(tally.weight_log2, NOW) == pytest.approx(2)


def test_quotes_are_distinct_and_capped() -> None:
    tally = new_tally(report(quote="It should whistle"), now=NOW)
    for quote in ["it  SHOULD whistle", None, "   ", "too slow", "b", "c", "d", "e", "f"]:
        tally = merge(tally, report(quote=quote), now=NOW)
    assert tally.quotes == ("It should whistle", "too slow", "b", "c", "d")
    assert len(tally.quotes) == MAX_QUOTES
    assert tally.count == 10


def test_add_quote_cleans_whitespace() -> None:
    assert add_quote((), "  so   slow \n") == ("so slow",)


def test_feedback_refs_are_distinct_and_capped() -> None:
    tally = new_tally(report(ref="c0"), now=NOW)
    for n in range(20):
        tally = merge(tally, report(ref=f"c{n % 12}"), now=NOW)
    assert tally.feedback_refs == tuple(f"c{n}" for n in range(MAX_FEEDBACK_REFS))


def test_sample_quotes_take_the_strongest_first() -> None:
    assert sample_quotes([("a", "b"), ("A", "c", "d", "e", "f")]) == ["a", "b", "c", "d", "e"]
    assert sample_quotes([]) == []


# --- matching active products ------------------------------------------------------------------


def test_product_terms_come_from_name_type_and_attributes() -> None:
    terms = product_terms(
        name="Steel Kettle 2000",
        product_type="kettle",
        attributes={
            "temperature_control": True,
            "colors": ["silver", "Black"],
            "capacity_l": 1.7,
            "wifi": False,
            "timer": None,
            "lid": "",
            "spout": [],
            "zero_watt": 0,
            "extra": {"nested": "ignored"},
        },
    )
    assert {
        "steel",
        "kettle",
        "2000",
        "temperature",
        "control",
        "color",
        "silver",
        "black",
    } <= terms
    assert {"capacity", "l", "1.7", "zero", "watt", "0", "extra"} <= terms
    assert not {"wifi", "timer", "lid", "spout", "nested", "ignored"} & terms


def test_a_product_offers_every_term_of_the_keys_it_meets() -> None:
    # Matching (requirements/matching.py) looks for a product offering all of a key's terms.
    terms = product_terms(
        name="Steel kettle", product_type="kettle", attributes={"temperature_control": True}
    )
    assert set(key_terms("Kettles with temperature control")) <= terms
    assert set(key_terms("kettle")) <= terms
    assert not set(key_terms("kettle with timer")) <= terms


def test_a_false_attribute_does_not_meet() -> None:
    terms = product_terms(name="Kettle", product_type="kettle", attributes={"whistle": False})
    assert not set(key_terms("whistling kettle")) <= terms
    assert not set(key_terms("kettle whistle")) <= terms


# --- demand of an idea -------------------------------------------------------------------------


def tally_of(count: int, at: datetime = NOW, search_misses: int = 0) -> Tally:
    kind = Kind.SEARCH_MISS if search_misses == count else Kind.REQUIREMENT
    tally = new_tally(report(count, at=at, kind=kind), now=NOW)
    return Tally(
        count=tally.count,
        search_miss_count=search_misses,
        first_seen=tally.first_seen,
        last_seen=tally.last_seen,
        quotes=(),
        feedback_refs=(),
        weight_log2=tally.weight_log2,
    )


def test_summarise_counts_only_unmet_requirements() -> None:
    parts = [
        Part(tally_of(4, NOW - 30 * DAY), met_by_product=False),
        Part(tally_of(3, NOW - 2 * DAY, search_misses=3), met_by_product=True),
        Part(tally_of(1, NOW), met_by_product=False),
    ]
    demand = summarise(parts, matched=False)
    assert demand is not None
    assert demand.count == 8
    assert demand.unmet_count == 5
    assert demand.search_miss_count == 3
    assert demand.requirement_count == 3
    assert demand.first_seen == NOW - 30 * DAY
    assert demand.last_seen == NOW
    assert score(demand.weight_log2, NOW) == pytest.approx(4 / 2 + 1)


def test_a_matched_idea_has_no_unmet_demand() -> None:
    demand = summarise([Part(tally_of(4), met_by_product=False)], matched=True)
    assert demand is not None
    assert demand.unmet_count == 0
    assert demand.weight_log2 is None
    assert demand.count == 4


def test_summarise_nothing() -> None:
    assert summarise([], matched=False) is None


def test_add_report_is_summarise_one_report_at_a_time() -> None:
    reports = [report(2, at=NOW - 40 * DAY), report(5, at=NOW - DAY), report(1, at=NOW)]
    demand: Demand | None = None
    for n, item in enumerate(reports):
        demand = add_report(demand, item, now=NOW, unmet=n != 1, new_requirement=n < 2)
    assert demand is not None
    assert demand.count == 8
    assert demand.unmet_count == 3
    assert demand.requirement_count == 2
    assert demand.first_seen == NOW - 40 * DAY
    assert demand.last_seen == NOW
    assert score(demand.weight_log2, NOW) == pytest.approx(2 * 2 ** (-40 / 30) + 1)


def test_add_report_counts_search_misses() -> None:
    demand = add_report(
        None, report(3, kind=Kind.SEARCH_MISS), now=NOW, unmet=True, new_requirement=True
    )
    assert demand.search_miss_count == 3


def test_a_met_first_report_has_no_weight() -> None:
    demand = add_report(None, report(3), now=NOW, unmet=False, new_requirement=True)
    assert demand.weight_log2 is None
    assert demand.unmet_count == 0


# --- decisions ---------------------------------------------------------------------------------


def test_dismiss_only_open() -> None:
    assert dismiss(Status.OPEN) is Status.DISMISSED
    for status in (Status.DISMISSED, Status.ADOPTED):
        with pytest.raises(Conflict, match="only an open one"):
            dismiss(status)


def test_adopt_open_or_dismissed_once() -> None:
    assert adopt(Status.OPEN) is Status.ADOPTED
    assert adopt(Status.DISMISSED) is Status.ADOPTED
    with pytest.raises(Conflict, match="already adopted"):
        adopt(Status.ADOPTED)
