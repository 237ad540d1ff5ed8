"""Survey benchmark: prints figures, asserts nothing. In process, no I/O: CPU time (so other
work on shared cores does not count), the best of several rounds.

    .venv/bin/python -m tests.perf.bench_surveys [--batch 500] [--responses 20000]

- the CPU work of ingesting a batch before its transaction (`ingest.service.prepare`):
  reviews, then survey responses checked against their survey;
- tallying a survey's results (`surveys.domain.results`) over many responses in segments.
"""

from __future__ import annotations

import argparse
import functools
import random
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from services.feedback.ingest.service import prepare
from services.feedback.surveys.domain import Question, QuestionType, Response, Survey, results
from shared.auth import Principal
from tests.perf.common import figure, record

QUESTIONS = (
    Question("ease", "How easy is it to clean?", QuestionType.RATING, min=1, max=5),
    Question("size", "Which size?", QuestionType.SINGLE_CHOICE, options=("S", "M", "L")),
    Question("uses", "What for?", QuestionType.MULTIPLE_CHOICE, options=("tea", "soup", "baby")),
    Question("wish", "What would you change?", QuestionType.FREE_TEXT),
)
SURVEY = Survey(id="0190a000-0000-7000-8000-000000000001", questions=QUESTIONS, product_id="p-1")
CALLER = Principal(subject="s", name="s", scopes=frozenset({"feedback:ingest"}), owner="o")


def best_ms(call: Callable[[], object], *, number: int = 5, rounds: int = 20) -> float:
    return min(timeit.repeat(call, number=number, repeat=rounds, timer=time.process_time)) / (
        number / 1000
    )


def answers(rng: random.Random) -> dict[str, object]:
    return {
        "ease": rng.randint(1, 5),
        "size": rng.choice("SML"),
        "uses": rng.sample(["tea", "soup", "baby"], rng.randint(1, 3)),
        "wish": "a longer cable and a lid that opens wider",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--responses", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    common = {"occurred_at": at, "customer_ref": "c"}
    reviews = [
        {"event_id": f"r{i}", "kind": "review", "product_id": "p-1", "rating": 4,
         "text": "Works well, the lid is fine", **common}
        for i in range(args.batch)
    ]  # fmt: skip
    responses = [
        {"event_id": f"s{i}", "kind": "survey_response", "survey_id": SURVEY.id,
         "segment": rng.choice(["students", "parents", "retired"]), "answers": answers(rng),
         **common}
        for i in range(args.batch)
    ]  # fmt: skip
    surveys = {SURVEY.id: SURVEY}
    for label, events in (("reviews", reviews), ("survey responses", responses)):
        body = orjson.dumps({"events": events})
        cost = best_ms(
            functools.partial(
                prepare, events=events, principal=CALLER, now=now, body=body, surveys=surveys
            )
        )
        print(f"prepare {args.batch} {label}: {cost:.2f} ms CPU per batch")
        figure(f"prepare a batch of {label}: CPU", cost, "ms")
    tallied = [
        Response(answers(rng), segment=rng.choice(["students", "parents", "retired", None]))
        for _ in range(args.responses)
    ]
    cost = best_ms(lambda: results(QUESTIONS, tallied), number=1, rounds=5)
    print(f"results over {args.responses} responses in 3 segments: {cost:.1f} ms CPU")
    figure("results over the responses in 3 segments: CPU", cost, "ms")
    record("surveys", **vars(args))


if __name__ == "__main__":
    main()
