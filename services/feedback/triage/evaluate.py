"""Figures of the triage model on the held-out part of the seed set.

    python -m services.feedback.triage.evaluate [--fresh | --dev]

Prints per-class precision / recall / F1 for category and severity, the recall of critical
safety items, the grouping quality at SAME_PROBLEM_THRESHOLD (pairs of items about one
product that both name a problem: same problem should score above it, different below;
first as findings are formed, per product and triaged category, then by similarity alone),
the threshold the train part chooses, and throughput in texts/s (batches of 32, one
onnxruntime thread).

With `--fresh`, the same model (as served: `model/fitted.npz`, never fitted on these sets) is
measured on each frozen fresh set instead (`data/fresh_eval*.jsonl`, issue 15), overall and
per product type:
category accuracy and macro F1, severity accuracy, hazard recall and false-hazard rate,
grouping precision / recall on `problem` pairs, texts/s. No item text is printed: the set is
for measuring, not for reading while writing rules.

With `--dev`, the development sets (`data/dev_texts*.jsonl`; the shipped category classifier
is fitted on all of them, its hazard classifier is the mean of a fit on the first and a fit on
all of them) are measured by leaving one
product type out at a time: the classifiers are fitted on everything else they are fitted on
(seed train part, hazard descriptions, the other product types) and
measured on the type left out, per type and overall, at each hazard threshold of
DEV_THRESHOLDS; this is how the hazard settings are chosen (MODEL.md).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.feedback.triage.dev import HAZARD_DEV_PATHS, load_dev
from services.feedback.triage.fresh import FRESH_PATHS, FreshItem, load_fresh
from services.feedback.triage.grouping import (
    SAME_PROBLEM_THRESHOLD,
    best_threshold,
    pair_scores,
    similarity,
)
from services.feedback.triage.hazard import HAZARD_THRESHOLD
from services.feedback.triage.labels import Category, Severity, Triage, TriageResult
from services.feedback.triage.pipeline import ModelTriage, fit_classifiers, load_triage
from services.feedback.triage.remembering import RememberingEncoder, SpanEncoder
from services.feedback.triage.seed import SeedItem, load_seed, split

THROUGHPUT_BATCH = 32
# The per-type tables' first column (the longest product type so far has 20 characters).
NAME_WIDTH = 22
# The served threshold among them, so the per-type table is read where the model is served.
DEV_THRESHOLDS = tuple(sorted({0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, HAZARD_THRESHOLD}))


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class, with its number of true items (support)."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


def class_scores(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list:
    """Per-class scores of predictions against the truth, in `labels` order."""
    scores = []
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        guessed = sum(p == label for p in predicted)
        actual = sum(t == label for t in truth)
        precision = tp / guessed if guessed else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScores(label, precision, recall, f1, actual))
    return scores


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of predictions equal to the truth."""
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(len(truth), 1)


def problem_pairs(
    items: Sequence[SeedItem], results: Sequence[TriageResult], *, by_category: bool = True
) -> list[tuple[float, bool]]:
    """(score, same problem) for each pair of one product's items that both name a problem.

    With `by_category`, as findings are formed (per product and triaged category), a pair
    whose triaged categories differ scores -1: it can never share a finding.
    """
    named = [(i, r) for i, r in zip(items, results, strict=True) if i.problem]
    return [
        (
            similarity(a.embedding, b.embedding)
            if a.category == b.category or not by_category
            else -1.0,
            x.problem == y.problem,
        )
        for (x, a), (y, b) in itertools.combinations(named, 2)
        if x.product == y.product
    ]


def throughput(triage: ModelTriage, items: Sequence[SeedItem], rounds: int = 2) -> float:
    """Texts per second through `triage.triage`, in batches of THROUGHPUT_BATCH."""
    inputs = [item.as_input() for item in items] * rounds
    started = time.perf_counter()
    for start in range(0, len(inputs), THROUGHPUT_BATCH):
        triage.triage(inputs[start : start + THROUGHPUT_BATCH])
    return len(inputs) / (time.perf_counter() - started)


def _table(title: str, scores: list[ClassScores], acc: float) -> str:
    lines = [title, f"  {'class':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    lines += [
        f"  {s.label:<22}{s.precision:>10.2f}{s.recall:>8.2f}{s.f1:>8.2f}{s.support:>9}"
        for s in scores
    ]
    macro = sum(s.f1 for s in scores) / len(scores)
    lines.append(f"  accuracy {acc:.3f}   macro F1 {macro:.3f}")
    return "\n".join(lines)


def seed_report() -> None:
    """Print the held-out seed figures (see the module docstring)."""
    started = time.perf_counter()
    triage = load_triage(threads=1)
    loaded = time.perf_counter() - started
    train, held_out = split(load_seed())
    results = triage.triage([item.as_input() for item in held_out])
    train_results = triage.triage([item.as_input() for item in train])

    print(f"seed: {len(train)} train, {len(held_out)} held-out; model loaded in {loaded:.2f} s")
    cat_truth = [i.category.value for i in held_out]
    cat_pred = [r.category.value for r in results]
    print(
        _table(
            "\ncategory (held-out)",
            class_scores(cat_truth, cat_pred, list(Category)),
            accuracy(cat_truth, cat_pred),
        )
    )
    sev_truth = [i.severity.value for i in held_out]
    sev_pred = [r.severity.value for r in results]
    print(
        _table(
            "\nseverity (held-out)",
            class_scores(sev_truth, sev_pred, list(Severity)),
            accuracy(sev_truth, sev_pred),
        )
    )

    critical = [
        (i, r) for i, r in zip(held_out, results, strict=True) if i.severity == Severity.CRITICAL
    ]
    found = sum(r.severity == Severity.CRITICAL and r.safety_hazard for _, r in critical)
    flagged = sum(r.safety_hazard for r in results)
    print(
        f"\ncritical safety (held-out): recall {found}/{len(critical)}"
        f" = {found / max(len(critical), 1):.2f}; hazards flagged {flagged},"
        f" of which labelled critical {sum(r.safety_hazard for _, r in critical)}"
    )

    chosen, train_f1 = best_threshold(problem_pairs(train, train_results))
    print(
        f"\ngrouping: the train part chooses {chosen:.2f} (train F1 {train_f1:.3f});"
        f" SAME_PROBLEM_THRESHOLD = {SAME_PROBLEM_THRESHOLD:.2f}"
    )
    for by_category, label in ((True, "same product and category"), (False, "same product")):
        pairs = problem_pairs(held_out, results, by_category=by_category)
        precision, recall, f1 = pair_scores(pairs, SAME_PROBLEM_THRESHOLD)
        same = sum(s for _, s in pairs)
        print(
            f"  held-out pairs, {label}: {same} same-problem, {len(pairs) - same} different;"
            f" 'same finding' precision {precision:.2f} recall {recall:.2f} F1 {f1:.2f}"
        )

    rate = throughput(triage, train + held_out)
    print(f"\nthroughput: {rate:.0f} texts/s (batch {THROUGHPUT_BATCH}, 1 onnxruntime thread)")


@dataclass(frozen=True)
class FreshRow:
    """The fresh-set figures of one product type (or of all of them)."""

    name: str
    items: int
    category_accuracy: float
    category_macro_f1: float
    severity_accuracy: float
    hazards_found: int
    hazards: int
    false_hazards: int
    non_hazards: int
    # (precision, recall) of "same finding": as findings are formed, then by similarity alone
    grouping: tuple[float, float]
    grouping_similarity: tuple[float, float]
    rate: float


def fresh_row(
    name: str, triage: ModelTriage, items: Sequence[FreshItem], results: Sequence[TriageResult]
) -> FreshRow:
    """The figures of some fresh items and their triage results."""
    cat_truth = [i.category.value for i in items]
    cat_pred = [r.category.value for r in results]
    macro = sum(s.f1 for s in class_scores(cat_truth, cat_pred, list(Category))) / len(Category)
    hazard_flags = [r.safety_hazard for i, r in zip(items, results, strict=True) if i.hazard]
    other_flags = [r.safety_hazard for i, r in zip(items, results, strict=True) if not i.hazard]
    grouping = [
        pair_scores(problem_pairs(items, results, by_category=by), SAME_PROBLEM_THRESHOLD)[:2]
        for by in (True, False)
    ]
    return FreshRow(
        name=name,
        items=len(items),
        category_accuracy=accuracy(cat_truth, cat_pred),
        category_macro_f1=macro,
        severity_accuracy=accuracy(
            [i.severity.value for i in items], [r.severity.value for r in results]
        ),
        hazards_found=sum(hazard_flags),
        hazards=len(hazard_flags),
        false_hazards=sum(other_flags),
        non_hazards=len(other_flags),
        grouping=(grouping[0][0], grouping[0][1]),
        grouping_similarity=(grouping[1][0], grouping[1][1]),
        rate=throughput(triage, items),
    )


def _fresh_line(row: FreshRow) -> str:
    hazard = f"{row.hazards_found}/{row.hazards}"
    false = row.false_hazards / max(row.non_hazards, 1)
    return (
        f"  {row.name:<{NAME_WIDTH}}{row.items:>6}"
        f"{row.category_accuracy:>8.3f}{row.category_macro_f1:>8.3f}{row.severity_accuracy:>8.3f}"
        f"{hazard:>9}{false:>8.3f}"
        f"{row.grouping[0]:>7.2f}{row.grouping[1]:>6.2f}"
        f"{row.grouping_similarity[0]:>7.2f}{row.grouping_similarity[1]:>6.2f}{row.rate:>8.0f}"
    )


def fresh_report() -> None:
    """Print the figures of the current model on each frozen fresh set, overall and per type."""
    started = time.perf_counter()
    triage = load_triage(threads=1)
    loaded = time.perf_counter() - started
    print(f"the model as served (never fitted on a frozen set); loaded in {loaded:.2f} s")
    for path in FRESH_PATHS:
        items = load_fresh(path)
        results = triage.triage([item.as_input() for item in items])
        products = sorted({item.product for item in items})
        print(f"\n=== {path.name}: {len(items)} items over {len(products)} product types")
        _print_fresh(triage, items, results, products)


def _print_fresh(
    triage: ModelTriage,
    items: Sequence[FreshItem],
    results: Sequence[TriageResult],
    products: Sequence[str],
) -> None:
    cat_truth = [i.category.value for i in items]
    cat_pred = [r.category.value for r in results]
    print(
        _table(
            "\ncategory (fresh, all)",
            class_scores(cat_truth, cat_pred, list(Category)),
            accuracy(cat_truth, cat_pred),
        )
    )
    sev_truth = [i.severity.value for i in items]
    sev_pred = [r.severity.value for r in results]
    print(
        _table(
            "\nseverity (fresh, all)",
            class_scores(sev_truth, sev_pred, list(Severity)),
            accuracy(sev_truth, sev_pred),
        )
    )
    print(
        "\nper product type: category accuracy / macro F1, severity accuracy, hazards flagged"
        " of those labelled, false-hazard rate (flagged among the others), 'same finding'"
        f" precision / recall of problem pairs at {SAME_PROBLEM_THRESHOLD:.2f}"
        " (as findings are formed, then by similarity alone), texts/s"
    )
    _print_per_product(products, triage, items, results)


def _print_per_product(
    products: Iterable[str],
    triage: ModelTriage,
    items: Sequence[FreshItem],
    results: Sequence[TriageResult],
) -> None:
    """The per-product-type table of `--fresh` and `--dev`: one line a type, then all."""
    print(
        f"  {'product type':<{NAME_WIDTH}}{'items':>6}{'cat':>8}{'catF1':>8}{'sev':>8}{'hazard':>9}"
        f"{'false':>8}{'grpP':>7}{'grpR':>6}{'simP':>7}{'simR':>6}{'txt/s':>8}"
    )
    for product in products:
        chosen = [k for k, item in enumerate(items) if item.product == product]
        rows = ([items[k] for k in chosen], [results[k] for k in chosen])
        print(_fresh_line(fresh_row(product, triage, *rows)))
    print(_fresh_line(fresh_row("all", triage, items, results)))


def leave_one_type_out(
    encoder: SpanEncoder, items: Sequence[FreshItem], thresholds: Sequence[float]
) -> dict[float, list[TriageResult]]:
    """Results of each item of a development set, at each hazard threshold, from classifiers
    fitted on everything but the item's product type."""
    # The folds refit on mostly the same texts and read the type left out at each threshold.
    memo = RememberingEncoder(encoder)
    results: dict[float, list[TriageResult | None]] = {t: [None] * len(items) for t in thresholds}
    # The hazard classifier is fitted on the product types of its own development sets only.
    for_hazard = {item.product for item in load_dev(HAZARD_DEV_PATHS)}
    for product in sorted({item.product for item in items}):
        others = [i for i in items if i.product != product]
        fitted = fit_classifiers(
            memo, dev=others, hazard_dev=[i for i in others if i.product in for_hazard]
        )
        chosen = [k for k, item in enumerate(items) if item.product == product]
        for threshold in thresholds:
            model = ModelTriage(
                encoder=memo,
                classifier=fitted.category,
                hazard=fitted.hazard,
                hazard_threshold=threshold,
            )
            for k, result in zip(
                chosen, model.triage([items[k].as_input() for k in chosen]), strict=True
            ):
                results[threshold][k] = result
    return {t: [r for r in rows if r is not None] for t, rows in results.items()}


def dev_report() -> None:
    """Print the development sets' figures, one product type left out at a time."""
    triage = load_triage(threads=1)
    items = load_dev()
    products = sorted({item.product for item in items})
    by_threshold = leave_one_type_out(triage.encoder, items, DEV_THRESHOLDS)
    print(
        f"development sets: {len(items)} items over {len(products)} product types, each"
        " measured by classifiers fitted without its product type"
    )
    print("\nhazard threshold: category accuracy / macro F1, hazards found, false-hazard rate")
    for threshold, results in by_threshold.items():
        figures = frozen_figures(triage, items, results=results)
        found = sum(r.safety_hazard for i, r in zip(items, results, strict=True) if i.hazard)
        mark = "  <- HAZARD_THRESHOLD" if threshold == HAZARD_THRESHOLD else ""
        print(
            f"  {threshold:.2f}: {figures.category_accuracy:.3f} / {figures.category_macro_f1:.3f},"
            f" {found}/{sum(i.hazard for i in items)}, {figures.false_hazard_rate:.3f}{mark}"
        )
    results = by_threshold[HAZARD_THRESHOLD]
    cat_truth = [i.category.value for i in items]
    cat_pred = [r.category.value for r in results]
    print(
        _table(
            "\ncategory (development sets, type left out)",
            class_scores(cat_truth, cat_pred, list(Category)),
            accuracy(cat_truth, cat_pred),
        )
    )
    print(
        f"\nper product type at {HAZARD_THRESHOLD:.2f} (as --fresh; no problem groups, so no"
        " grouping figures; texts/s of the served model)"
    )
    _print_per_product(products, triage, items, results)


@dataclass(frozen=True)
class FrozenFigures:
    """What a refit is judged on: the model's figures on the frozen fresh sets together."""

    category_accuracy: float
    category_macro_f1: float
    hazard_recall: float
    false_hazard_rate: float

    def not_worse_than(self, other: FrozenFigures) -> bool:
        """Whether no figure is worse than `other`'s (a false-hazard rate is worse higher)."""
        return (
            self.category_accuracy >= other.category_accuracy
            and self.category_macro_f1 >= other.category_macro_f1
            and self.hazard_recall >= other.hazard_recall
            and self.false_hazard_rate <= other.false_hazard_rate
        )

    def best_of(self, other: FrozenFigures) -> FrozenFigures:
        """Each figure at the better of the two: the bar a candidate must clear to be not
        worse than both."""
        return FrozenFigures(
            category_accuracy=max(self.category_accuracy, other.category_accuracy),
            category_macro_f1=max(self.category_macro_f1, other.category_macro_f1),
            hazard_recall=max(self.hazard_recall, other.hazard_recall),
            false_hazard_rate=min(self.false_hazard_rate, other.false_hazard_rate),
        )

    def line(self) -> str:
        return (
            f"category accuracy {self.category_accuracy:.3f}, macro F1"
            f" {self.category_macro_f1:.3f}, hazard recall {self.hazard_recall:.3f},"
            f" false-hazard rate {self.false_hazard_rate:.3f}"
        )


def frozen_figures(
    triage: Triage,
    items: Sequence[FreshItem],
    *,
    results: Sequence[TriageResult] | None = None,
) -> FrozenFigures:
    """The figures of `triage` on `items` (or of `results`, the triage of `items` already
    made): what the refit gate judges, on the frozen sets."""
    if results is None:
        results = triage.triage([item.as_input() for item in items])
    truth = [i.category.value for i in items]
    predicted = [r.category.value for r in results]
    hazards = [r.safety_hazard for i, r in zip(items, results, strict=True) if i.hazard]
    others = [r.safety_hazard for i, r in zip(items, results, strict=True) if not i.hazard]
    return FrozenFigures(
        category_accuracy=accuracy(truth, predicted),
        category_macro_f1=sum(s.f1 for s in class_scores(truth, predicted, list(Category)))
        / len(Category),
        hazard_recall=sum(hazards) / max(len(hazards), 1),
        false_hazard_rate=sum(others) / max(len(others), 1),
    )


def frozen_set_digests() -> dict[str, str]:
    """The sha256 of each frozen set file, by name: which sets a recorded figure was taken on."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in FRESH_PATHS}


def frozen_figures_by_set(triage: Triage) -> tuple[FrozenFigures, dict[str, FrozenFigures]]:
    """The figures of `triage` on the frozen sets together (what the refit gate judges), and
    on each set alone (by file name); each text is triaged once."""
    together: list[tuple[FreshItem, TriageResult]] = []
    each = {}
    for path in FRESH_PATHS:
        items = load_fresh(path)
        results = triage.triage([item.as_input() for item in items])
        each[path.name] = frozen_figures(triage, items, results=results)
        together += zip(items, results, strict=True)
    items_all = [item for item, _ in together]
    return frozen_figures(triage, items_all, results=[r for _, r in together]), each


def main(argv: Sequence[str] = ()) -> None:
    """Print the held-out seed figures, or with `--fresh` the fresh set's, or with `--dev`
    the development sets' (one product type left out at a time)."""
    parser = argparse.ArgumentParser(prog="python -m services.feedback.triage.evaluate")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--fresh",
        action="store_true",
        help="measure on each frozen fresh set (data/fresh_eval*.jsonl) instead of the seed",
    )
    which.add_argument(
        "--dev",
        action="store_true",
        help="measure on the development sets (data/dev_texts*.jsonl), one product type left out",
    )
    args = parser.parse_args(argv)
    if args.fresh:
        fresh_report()
    elif args.dev:
        dev_report()
    else:
        seed_report()


if __name__ == "__main__":
    main(sys.argv[1:])
