"""Pure research rules: criteria and score validation, and the weighted brand ranking.

The ranking answers "which brand makes the best version of this product type":

- per brand (or per product of ours), the mean score of each criterion across its benchmarks;
- a weighted mean of those means. A criterion nobody scored for that brand is left out and the
  remaining weights are renormalised, so a brand is not punished (or flattered) by a zero it
  never received; `coverage` says which share of the total weight the score rests on;
- scores are rounded to `SCORE_DECIMALS` before ranking, so float noise cannot split a tie;
  equal scores share a rank and the next rank is skipped ("1, 2, 2, 4"), names break the order.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.errors import FieldError, invalid_input

SCORE_MIN = 0.0
SCORE_MAX = 10.0
WEIGHT_MAX = 1000.0
MAX_CRITERIA = 50
SCORE_DECIMALS = 4
_CRITERION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")

Loc = tuple[str | int, ...]


# --- criteria ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One thing benchmarks score a product type on, and how much it counts."""

    name: str
    weight: float
    description: str | None = None


def check_criteria(criteria: Sequence[Criterion]) -> list[FieldError]:
    """Every reason to refuse this set of criteria (locations are list indexes)."""
    errors: list[FieldError] = []
    if not criteria:
        errors.append(FieldError((), "define at least one criterion"))
    if len(criteria) > MAX_CRITERIA:
        errors.append(FieldError((), f"at most {MAX_CRITERIA} criteria"))
    seen: set[str] = set()
    for index, criterion in enumerate(criteria):
        if not _CRITERION_NAME.fullmatch(criterion.name):
            errors.append(
                FieldError(
                    (index, "name"),
                    f"invalid criterion name {criterion.name!r}: use 1-64 of a-z, 0-9 or '_', "
                    "starting with a letter",
                )
            )
        elif criterion.name in seen:
            errors.append(FieldError((index, "name"), f"duplicate criterion {criterion.name!r}"))
        seen.add(criterion.name)
        weight = criterion.weight
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            errors.append(FieldError((index, "weight"), "weight must be a number"))
        elif not math.isfinite(weight) or weight <= 0:
            errors.append(FieldError((index, "weight"), "weight must be greater than 0"))
        elif weight > WEIGHT_MAX:
            errors.append(FieldError((index, "weight"), f"weight must be at most {WEIGHT_MAX:g}"))
    return errors


def validate_criteria(criteria: Sequence[Criterion]) -> tuple[Criterion, ...]:
    """The criteria as given, or Invalid listing every bad one."""
    errors = check_criteria(criteria)
    if errors:
        raise invalid_input(errors, what="criteria")
    return tuple(criteria)


# --- scores ------------------------------------------------------------------------------------


def check_scores(scores: Mapping[str, float], criteria: Collection[str]) -> list[FieldError]:
    """Every reason to refuse a benchmark's scores against the product type's criteria."""
    if not scores:
        return [FieldError(("scores",), "score at least one criterion")]
    errors: list[FieldError] = []
    known = ", ".join(sorted(criteria)) or "none yet; PUT them on the product type first"
    for name, score in scores.items():
        loc: Loc = ("scores", name)
        if name not in criteria:
            errors.append(FieldError(loc, f"unknown criterion {name!r}; criteria: {known}"))
        elif isinstance(score, bool) or not isinstance(score, int | float):
            errors.append(FieldError(loc, "a score must be a number"))
        elif not (math.isfinite(score) and SCORE_MIN <= score <= SCORE_MAX):
            errors.append(
                FieldError(loc, f"a score must be between {SCORE_MIN:g} and {SCORE_MAX:g}")
            )
    return errors


@dataclass(frozen=True)
class OurProduct:
    """The facts about one of our products a benchmark needs."""

    id: str
    brand: str
    product_type: str


def check_subject(
    *,
    product_type: str,
    brand: str | None,
    product_id: str | None,
    competitor_ref: str | None,
    product: OurProduct | None,
) -> tuple[str | None, list[FieldError]]:
    """The brand a benchmark is about, and every reason to refuse what it names.

    A benchmark is of a brand, and optionally of one of our products (which must exist and
    be of the benchmark's product type; its brand is the default) or of a competitor's
    product named by a free reference, never both.
    """
    errors: list[FieldError] = []
    if product_id is not None and competitor_ref is not None:
        errors.append(
            FieldError(
                ("competitor_ref",),
                "a benchmark is of one of our products or of a competitor's, not both",
            )
        )
    if product_id is None:
        if brand is None:
            errors.append(
                FieldError(("brand",), "brand is required unless product_id names our product")
            )
        return brand, errors
    if product is None:
        errors.append(FieldError(("product_id",), f"no product with id {product_id!r}"))
        return brand, errors
    if product.product_type != product_type:
        errors.append(
            FieldError(
                ("product_id",),
                f"the product is a {product.product_type!r}, not a {product_type!r}",
            )
        )
    if brand is not None and brand != product.brand:
        errors.append(
            FieldError(("brand",), f"the product's brand is {product.brand!r}, not {brand!r}")
        )
    return product.brand, errors


# --- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionStat:
    """A criterion's mean score across one contender's benchmarks, and how many scored it."""

    mean: float
    count: int


@dataclass(frozen=True)
class WeightedScore:
    """A weighted mean over the criteria that have scores; None when none has."""

    score: float | None
    coverage: float
    missing: tuple[str, ...]


def weighted_score(
    criteria: Sequence[Criterion], means: Mapping[str, float | CriterionStat]
) -> WeightedScore:
    """Weighted mean of the per-criterion means, weights renormalised over scored criteria.

    `coverage` is the scored criteria's share of the total weight (0..1); scores for names
    that are not current criteria are ignored.
    """
    return _Weights(criteria).score(means)


class _Weights:
    """The criteria's weights and their total, worked out once for a whole ranking rather
    than once per contender."""

    def __init__(self, criteria: Sequence[Criterion]) -> None:
        self.pairs = [(criterion.name, criterion.weight) for criterion in criteria]
        self.total = math.fsum(weight for _, weight in self.pairs)

    def score(self, means: Mapping[str, float | CriterionStat]) -> WeightedScore:
        weights: list[float] = []
        terms: list[float] = []
        missing: list[str] = []
        for name, weight in self.pairs:
            value = means.get(name)
            if value is None:
                missing.append(name)
            else:
                weights.append(weight)
                terms.append(weight * (value.mean if isinstance(value, CriterionStat) else value))
        # Every weight scored: their exactly rounded sum is the total, already worked out.
        covered = math.fsum(weights) if missing else self.total
        if not weights or covered <= 0:
            return WeightedScore(score=None, coverage=0.0, missing=tuple(missing))
        return WeightedScore(
            score=round(math.fsum(terms) / covered, SCORE_DECIMALS),
            coverage=round(covered / self.total, SCORE_DECIMALS),
            missing=tuple(missing),
        )


@dataclass(frozen=True)
class Contender:
    """A brand (or one product of ours) with its benchmark count and per-criterion means."""

    key: str
    benchmarks: int
    stats: Mapping[str, CriterionStat] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranked:
    """A contender's place: `rank` is None when it has no score or too little coverage."""

    contender: Contender
    result: WeightedScore
    rank: int | None


def rank_contenders(
    criteria: Sequence[Criterion], contenders: Iterable[Contender], *, min_coverage: float = 0.0
) -> list[Ranked]:
    """Best first with shared ranks for ties; unranked contenders last, by key."""
    eligible: list[tuple[Contender, WeightedScore]] = []
    rest: list[tuple[Contender, WeightedScore]] = []
    weights = _Weights(criteria)
    for contender in contenders:
        result = weights.score(contender.stats)
        ok = result.score is not None and result.coverage >= min_coverage
        (eligible if ok else rest).append((contender, result))
    eligible.sort(key=lambda item: (-_score(item[1]), item[0].key))
    ranked: list[Ranked] = []
    for position, (contender, result) in enumerate(eligible, start=1):
        previous = ranked[-1] if ranked else None
        tied = previous is not None and previous.result.score == result.score
        rank = previous.rank if tied and previous is not None else position
        ranked.append(Ranked(contender, result, rank))
    rest.sort(key=lambda item: item[0].key)
    ranked += [Ranked(contender, result, None) for contender, result in rest]
    return ranked


def _score(result: WeightedScore) -> float:
    return result.score if result.score is not None else -math.inf


def standing(score: float | None, ranking: Sequence[Ranked]) -> int | None:
    """Where a score would rank among the ranked contenders (ties share the better rank).

    `ranking` is as `rank_contenders` returns it, ranked best first then the unranked, so
    the contenders scoring better are found by bisection rather than by reading them all.
    """
    if score is None:
        return None
    return bisect_left(ranking, -score, key=_standing_key) + 1


def _standing_key(entry: Ranked) -> float:
    return math.inf if entry.rank is None else -_score(entry.result)
