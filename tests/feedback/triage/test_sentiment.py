"""Sentiment stays in -1..1, follows the text and leans towards the rating."""

from __future__ import annotations

import pytest

from services.feedback.triage.sentiment import sentiment


@pytest.mark.parametrize(
    "text",
    ["Absolutely love it, best kettle ever!", "Great sound, super comfortable, happy."],
)
def test_praise_is_positive(text: str) -> None:
    assert sentiment(text) > 0.5
    assert sentiment(text, 5) > 0.5


@pytest.mark.parametrize(
    "text", ["Terrible, broke after a day. Awful quality.", "Useless junk, I hate it."]
)
def test_complaints_are_negative(text: str) -> None:
    assert sentiment(text) < -0.5
    assert sentiment(text, 1) < -0.5


def test_the_rating_weighs_in() -> None:
    neutral = "Leaks from the bottom after two weeks."
    assert sentiment(neutral) == pytest.approx(0.0, abs=0.1)
    assert sentiment(neutral, 1) == pytest.approx(-0.5, abs=0.1)
    assert sentiment(neutral, 5) == pytest.approx(0.5, abs=0.1)
    assert sentiment(neutral, 3) == pytest.approx(sentiment(neutral) / 2)


@pytest.mark.parametrize("rating", [None, -3, 0, 1, 3, 5, 9])
def test_the_range_holds_for_any_rating(rating: int | None) -> None:
    for text in ["AMAZING!!! LOVE LOVE LOVE :)", "worst, awful, horrible, disgusting", "", "ok"]:
        assert -1.0 <= sentiment(text, rating) <= 1.0
