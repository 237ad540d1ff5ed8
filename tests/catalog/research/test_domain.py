"""Research rules without I/O: criteria and score validation, the weighted ranking."""

from __future__ import annotations

import math

import pytest

from services.catalog.research.domain import (
    MAX_CRITERIA,
    SCORE_MAX,
    WEIGHT_MAX,
    Contender,
    Criterion,
    CriterionStat,
    FieldError,
    OurProduct,
    Ranked,
    WeightedScore,
    check_criteria,
    check_scores,
    check_subject,
    rank_contenders,
    standing,
    validate_criteria,
    weighted_score,
)
from shared.errors import Invalid

TASTE, PRICE, NOISE = Criterion("taste", 3), Criterion("price", 1), Criterion("noise", 1)
CRITERIA = (TASTE, PRICE, NOISE)


def stats(**means: float) -> dict[str, CriterionStat]:
    return {name: CriterionStat(mean=mean, count=1) for name, mean in means.items()}


def ranks(ranking: list[Ranked]) -> list[tuple[str, int | None, float | None]]:
    return [(r.contender.key, r.rank, r.result.score) for r in ranking]


# --- criteria ----------------------------------------------------------------------------------


def test_valid_criteria_pass_unchanged() -> None:
    assert check_criteria(CRITERIA) == []
    assert validate_criteria(list(CRITERIA)) == CRITERIA
    assert check_criteria([Criterion("a", WEIGHT_MAX), Criterion("b_2", 0.001)]) == []


@pytest.mark.parametrize(
    ("criteria", "loc", "msg"),
    [
        ([], (), "at least one"),
        ([Criterion("a", 0)], (0, "weight"), "greater than 0"),
        ([Criterion("a", -1.5)], (0, "weight"), "greater than 0"),
        ([Criterion("a", math.nan)], (0, "weight"), "greater than 0"),
        ([Criterion("a", math.inf)], (0, "weight"), "greater than 0"),
        ([Criterion("a", WEIGHT_MAX + 1)], (0, "weight"), "at most 1000"),
        ([Criterion("a", True)], (0, "weight"), "a number"),
        ([Criterion("a", "2")], (0, "weight"), "a number"),  # type: ignore[arg-type]
        ([Criterion("a", 1), Criterion("a", 2)], (1, "name"), "duplicate criterion 'a'"),
        ([Criterion("Taste", 1)], (0, "name"), "invalid criterion name"),
        ([Criterion("1st", 1)], (0, "name"), "invalid criterion name"),
        ([Criterion("", 1)], (0, "name"), "invalid criterion name"),
        ([Criterion("a" * 65, 1)], (0, "name"), "invalid criterion name"),
        ([Criterion(f"c{i}", 1) for i in range(MAX_CRITERIA + 1)], (), f"at most {MAX_CRITERIA}"),
    ],
)
def test_bad_criteria_are_located(criteria: list[Criterion], loc: tuple, msg: str) -> None:
    errors = check_criteria(criteria)
    assert [error.loc for error in errors] == [loc]
    assert msg in errors[0].msg


def test_every_bad_criterion_is_reported() -> None:
    criteria = [Criterion("a", 1), Criterion("a", 0), Criterion("B", 2), Criterion("c", -1)]
    errors = check_criteria(criteria)
    assert [error.loc for error in errors] == [
        (1, "name"),
        (1, "weight"),
        (2, "name"),
        (3, "weight"),
    ]
    with pytest.raises(Invalid) as caught:
        validate_criteria(criteria)
    assert caught.value.status == 422
    assert caught.value.detail == "invalid criteria: 1.name: duplicate criterion 'a' (and 3 more)"
    assert caught.value.extra["errors"][1] == {
        "loc": ["body", "1", "weight"],
        "msg": "weight must be greater than 0",
    }


# --- scores ------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 0.0, 5, 7.25, SCORE_MAX, 10])
def test_scores_in_range_pass(score: float) -> None:
    assert check_scores({"taste": score}, {"taste", "price"}) == []


@pytest.mark.parametrize(
    ("scores", "loc", "msg"),
    [
        ({}, ("scores",), "at least one"),
        ({"smell": 5}, ("scores", "smell"), "unknown criterion 'smell'; criteria: price, taste"),
        ({"taste": -0.01}, ("scores", "taste"), "between 0 and 10"),
        ({"taste": 10.001}, ("scores", "taste"), "between 0 and 10"),
        ({"taste": 11}, ("scores", "taste"), "between 0 and 10"),
        ({"taste": math.nan}, ("scores", "taste"), "between 0 and 10"),
        ({"taste": math.inf}, ("scores", "taste"), "between 0 and 10"),
        ({"taste": True}, ("scores", "taste"), "a number"),
        ({"taste": "7"}, ("scores", "taste"), "a number"),
    ],
)
def test_bad_scores_are_located(scores: dict, loc: tuple, msg: str) -> None:
    errors = check_scores(scores, {"taste", "price"})
    assert [error.loc for error in errors] == [loc]
    assert msg in errors[0].msg


def test_every_bad_score_is_reported_and_no_criteria_says_so() -> None:
    errors = check_scores({"taste": 12, "smell": 1, "price": 3}, {"taste", "price"})
    assert [error.loc for error in errors] == [("scores", "taste"), ("scores", "smell")]
    (error,) = check_scores({"taste": 1}, set())
    assert "PUT them on the product type first" in error.msg


# --- what a benchmark is about -----------------------------------------------------------------

OURS = OurProduct(id="p1", brand="Boilwell", product_type="kettle")


def subject(**overrides: object) -> tuple[str | None, list[FieldError]]:
    values: dict = {
        "product_type": "kettle",
        "brand": None,
        "product_id": None,
        "competitor_ref": None,
        "product": None,
    }
    values.update(overrides)
    return check_subject(**values)


def test_a_brand_alone_or_with_a_competitor_reference() -> None:
    assert subject(brand="Steamy") == ("Steamy", [])
    assert subject(brand="Steamy", competitor_ref="ST-9 2024") == ("Steamy", [])


def test_our_product_gives_its_brand() -> None:
    assert subject(product_id="p1", product=OURS) == ("Boilwell", [])
    assert subject(product_id="p1", product=OURS, brand="Boilwell") == ("Boilwell", [])


@pytest.mark.parametrize(
    ("overrides", "locs", "msg"),
    [
        ({}, [("brand",)], "brand is required"),
        ({"product_id": "p9"}, [("product_id",)], "no product with id 'p9'"),
        (
            {"product_id": "p1", "product": OurProduct("p1", "Boilwell", "toaster")},
            [("product_id",)],
            "is a 'toaster', not a 'kettle'",
        ),
        (
            {"product_id": "p1", "product": OURS, "brand": "Steamy"},
            [("brand",)],
            "brand is 'Boilwell', not 'Steamy'",
        ),
        (
            {"product_id": "p1", "product": OURS, "competitor_ref": "X"},
            [("competitor_ref",)],
            "not both",
        ),
    ],
)
def test_what_a_benchmark_names_is_checked(overrides: dict, locs: list, msg: str) -> None:
    _, errors = subject(**overrides)
    assert [error.loc for error in errors] == locs
    assert msg in errors[0].msg


# --- weighted score ----------------------------------------------------------------------------


def test_weighted_mean_over_all_criteria() -> None:
    # (3*8 + 1*4 + 1*6) / 5 = 6.8
    result = weighted_score(CRITERIA, stats(taste=8, price=4, noise=6))
    assert result == WeightedScore(score=6.8, coverage=1.0, missing=())


def test_missing_criteria_renormalise_the_weights() -> None:
    # Only taste (3) and price (1) scored: (3*8 + 1*4) / 4 = 7, on 4/5 of the weight.
    result = weighted_score(CRITERIA, stats(taste=8, price=4))
    assert result == WeightedScore(score=7.0, coverage=0.8, missing=("noise",))
    # One criterion alone: its mean is the score, whatever its weight.
    only = weighted_score(CRITERIA, stats(noise=3))
    assert only == WeightedScore(score=3.0, coverage=0.2, missing=("taste", "price"))


def test_no_scored_criterion_means_no_score() -> None:
    assert weighted_score(CRITERIA, {}) == WeightedScore(None, 0.0, ("taste", "price", "noise"))
    # Scores for names that are no longer criteria do not count.
    assert weighted_score(CRITERIA, stats(smell=9)).score is None
    assert weighted_score((), stats(taste=9)) == WeightedScore(None, 0.0, ())


def test_weights_are_relative() -> None:
    doubled = tuple(Criterion(c.name, c.weight * 2) for c in CRITERIA)
    means = stats(taste=9, price=2, noise=5)
    assert weighted_score(doubled, means) == weighted_score(CRITERIA, means)


def test_scores_are_rounded_to_four_decimals() -> None:
    thirds = (Criterion("a", 1), Criterion("b", 1), Criterion("c", 1))
    result = weighted_score(thirds, {"a": 1.0, "b": 1.0, "c": 0.0})
    assert result.score == 0.6667
    assert weighted_score(thirds, {"a": 1.0}).coverage == 0.3333


# --- ranking -----------------------------------------------------------------------------------


def test_brands_are_ranked_best_first() -> None:
    ranking = rank_contenders(
        CRITERIA,
        [
            Contender("Acme", 2, stats(taste=5, price=5, noise=5)),
            Contender("Boilwell", 3, stats(taste=9, price=2, noise=6)),
            Contender("Steamy", 1, stats(taste=4, price=10, noise=10)),
        ],
    )
    # Boilwell (27+2+6)/5 = 7, Steamy (12+10+10)/5 = 6.4, Acme 5.
    assert ranks(ranking) == [("Boilwell", 1, 7.0), ("Steamy", 2, 6.4), ("Acme", 3, 5.0)]
    assert ranking[0].contender.benchmarks == 3


def test_ties_share_a_rank_and_skip_the_next() -> None:
    ranking = rank_contenders(
        CRITERIA,
        [
            Contender("Delta", 1, stats(taste=2)),
            Contender("Charlie", 1, stats(taste=6)),
            Contender("Bravo", 1, stats(taste=6)),
            Contender("Alpha", 1, stats(taste=9)),
        ],
    )
    assert ranks(ranking) == [
        ("Alpha", 1, 9.0),
        ("Bravo", 2, 6.0),
        ("Charlie", 2, 6.0),
        ("Delta", 4, 2.0),
    ]


def test_float_noise_does_not_split_a_tie() -> None:
    pair = (Criterion("a", 1), Criterion("b", 1))
    # 0.1 + 0.2 != 0.3 in binary floating point; after rounding both are 0.15.
    assert (0.1 + 0.2) / 2 != 0.3 / 2
    ranking = rank_contenders(
        pair,
        [
            Contender("X", 1, {"a": CriterionStat(0.1, 1), "b": CriterionStat(0.2, 1)}),
            Contender("Y", 1, {"a": CriterionStat(0.3, 1), "b": CriterionStat(0.0, 1)}),
        ],
    )
    assert [r.rank for r in ranking] == [1, 1]


def test_a_single_benchmark_is_a_ranking() -> None:
    (only,) = rank_contenders(CRITERIA, [Contender("Solo", 1, stats(price=7))])
    assert (only.rank, only.result.score, only.result.coverage) == (1, 7.0, 0.2)
    assert rank_contenders(CRITERIA, []) == []


def test_missing_criteria_rank_on_what_was_scored() -> None:
    ranking = rank_contenders(
        CRITERIA,
        [
            Contender("Full", 4, stats(taste=6, price=6, noise=6)),
            Contender("Partial", 1, stats(price=8)),
        ],
    )
    assert ranks(ranking) == [("Partial", 1, 8.0), ("Full", 2, 6.0)]
    assert ranking[0].result.missing == ("taste", "noise")


def test_min_coverage_leaves_thin_evidence_unranked() -> None:
    contenders = [
        Contender("Full", 4, stats(taste=6, price=6, noise=6)),
        Contender("Partial", 1, stats(price=8)),
        Contender("Unscored", 2, {}),
    ]
    ranking = rank_contenders(CRITERIA, contenders, min_coverage=0.5)
    assert ranks(ranking) == [("Full", 1, 6.0), ("Partial", None, 8.0), ("Unscored", None, None)]
    # Coverage exactly at the threshold counts.
    assert rank_contenders(CRITERIA, contenders[1:2], min_coverage=0.2)[0].rank == 1


def test_standing_places_a_score_among_ranked_brands() -> None:
    ranking = rank_contenders(
        CRITERIA,
        [
            Contender("A", 1, stats(taste=9)),
            Contender("B", 1, stats(taste=6)),
            Contender("C", 1, stats(taste=6)),
            Contender("Unscored", 1, {}),
        ],
    )
    assert standing(9.5, ranking) == 1
    assert standing(9.0, ranking) == 1  # a tie shares the better rank
    assert standing(7.0, ranking) == 2
    assert standing(6.0, ranking) == 2
    assert standing(1.0, ranking) == 4  # below every ranked brand; unranked ones do not count
    assert standing(None, ranking) is None
    assert standing(5.0, []) == 1
