"""User stories without I/O: deterministic text from a finding and its items."""

from __future__ import annotations

import pytest

from services.feedback.findings.stories import StoryItem, user_story


def test_user_story_shape() -> None:
    items = [
        StoryItem("review", "The lid gets very hot", "high"),
        StoryItem("review", "the lid gets very hot!", "high"),
        StoryItem("support_ticket", "The lid burned my hand", "critical"),
        StoryItem("review", "Lid too hot to touch", "medium"),
    ]
    story = user_story(
        kind="defect",
        topic="lid heat",
        severity="critical",
        product_name="Kettle 100",
        product_type="kettle",
        items=items,
    )
    assert story.persona == "kettle owner"
    assert story.story == (
        "As a kettle owner, I want the Kettle 100 to be safe to use, without lid heat "
        "problems, so that I can use it without risk of injury or damage."
    )
    # Distinct quotes (case and punctuation aside), most severe first, then a no-regression one.
    assert story.acceptance_criteria == [
        "The problem reported as “The lid burned my hand” no longer occurs",
        "The problem reported as “The lid gets very hot” no longer occurs",
        "The problem reported as “Lid too hot to touch” no longer occurs",
        "No new reports about lid heat arrive after the fix is released",
    ]
    again = user_story(
        kind="defect",
        topic="lid heat",
        severity="critical",
        product_name="Kettle 100",
        product_type="kettle",
        items=items,
    )
    assert again == story


@pytest.mark.parametrize(
    ("kind", "want_has", "persona"),
    [
        ("requirement", "to offer", "shopper considering a product"),
        ("question", "clear information", "shopper considering a product"),
        ("modification_request", "a change to", "shopper considering a product"),
        ("praise", "kept as it is", "shopper considering a product"),
        ("other", "looked into", "shopper considering a product"),
    ],
)
def test_user_story_for_every_kind(kind: str, want_has: str, persona: str) -> None:
    story = user_story(
        kind=kind,
        topic="size",
        severity="low",
        product_name=None,
        product_type=None,
        items=[StoryItem("question", "Is there a bigger size?", "low")] * 3,
    )
    assert story.story.startswith(f"As a {persona}, I want ")
    assert want_has in story.want
    assert len(story.acceptance_criteria) == 1
    assert "“Is there a bigger size?”" in story.acceptance_criteria[0]
