"""Sentiment in -1..1: VADER's compound score of the text, blended with the star rating.

VADER (vaderSentiment 3.3.2, MIT, lexicon inside the wheel) reads negations, intensifiers,
capitals and emoticons; a rating, when the customer gave one, is the customer's own verdict,
so it weighs as much as the text: (compound + (rating - 3) / 2) / 2.
"""

from __future__ import annotations

from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

RATING_WEIGHT = 0.5


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def text_sentiment(text: str) -> float:
    """VADER's compound score of a text, -1..1."""
    return float(_analyzer().polarity_scores(text)["compound"])


def sentiment(text: str, rating: int | None = None) -> float:
    """The text's sentiment blended with a 1..5 rating when there is one, -1..1."""
    score = text_sentiment(text)
    if rating is not None:
        stars = (min(max(rating, 1), 5) - 3) / 2
        score = (1 - RATING_WEIGHT) * score + RATING_WEIGHT * stars
    return round(max(-1.0, min(1.0, score)), 4)


def sentiment_words() -> frozenset[str]:
    """Words VADER gives a valence to (topic extraction leaves them out)."""
    return frozenset(_analyzer().lexicon)
