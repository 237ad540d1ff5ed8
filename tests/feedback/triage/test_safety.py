"""The rules a hazard model cannot know: hazard words in their negation scope, hypotheticals,
contradicted hearsay and harm the customer says the product did not cause
(`safety.screen_spans`)."""

from __future__ import annotations

import pytest

from services.feedback.triage.safety import HAZARDS, clauses, screen_spans, sentence_spans

HAZARDOUS = [
    ("The lid burned my daughter's fingers.", "burn"),
    ("Got a burn on my palm from the handle", "burn"),
    ("Strong burning smell coming from the motor", "burn"),
    ("It smells burnt after every use", "burn"),
    ("Steam scalded my hand", "scald"),
    ("Sparks came out of the plug", "spark"),
    ("The base sparked when I put it down", "spark"),
    ("Smoke was coming out of the base", "smoke"),
    ("The motor started smoking", "smoke"),
    ("The charger caught fire overnight", "fire"),
    ("This is a fire hazard", "fire"),
    ("Flames came out of the vent", "fire"),
    ("I got an electric shock from the port", "shock"),
    ("It shocked me when I touched the switch", "shock"),
    ("The plastic melted on the hob", "melt"),
    ("The case warped and partly melted on the charger", "melt"),
    ("Left it on the charger and it melted", "melt"),
    ("It was bleeding through my sock", "injury"),
    ("Needed stitches in my knee", "injury"),
    ("The glass jar exploded mid-blend", "explosion"),
    ("Phone overheats badly in this case", "overheat"),
    ("The battery swelled up and split the case", "battery"),
    ("A sharp edge cut my finger", "cut"),
    ("A shard of glass went into my hand", "cut"),
    ("My toddler nearly choked on the small cap", "choking"),
    ("The chair collapsed under me", "fall"),
    ("I fell and hit my head", "fall"),
    ("He injured his wrist", "injury"),
    ("We ended up in hospital", "injury"),
    ("Sprained my ankle when the sole came off", "injury"),
    ("SPARKS AND SMOKE!!!", "spark"),
]

SAFE = [
    "No smoke at all, works great",
    "no sparks, no smoke, no burnt smell like my last one",
    "Not a hint of smoke even after five minutes on high",
    "They never overheat, even on long flights",
    "Without any burning smell, unlike my old blender",
    "Handle never gets hot, no risk of burning yourself",
    "The sound keeps cutting out in the left ear",
    "The camera cutout is misaligned",
    "I was shocked at how quiet my office became",
    "Shocked, honestly. Best case ever.",
    "Killer bass, fire sound, 10/10",
    "Is the chair fire retardant?",
    "Could the case melt if I leave it in a hot car?",
    "Will the motor burn out if I blend nut butter?",
    "Sparkling water works fine in the jar",
    "The case fell off my desk and survived",
    "Dropped it down the stairs, phone survived",
    "Cut the cable tie and it was ready to go",
    "It cut my commute time in half",
    "I fell in love with this chair on day one",
    "Great cushioning and shock absorption",
    "Melted chocolate blends nicely",
    "The ice melted before it got crushed",
    "The colour bleeds in the wash",
    "The stitches came loose on the toe",
    "Bruised bananas blend fine",
    "She burst into tears of joy when she opened it",
]


def screen(text: str) -> str:
    """What `screen_spans` keeps of a text, joined by spaces."""
    return " ".join(text[start:end] for start, end in screen_spans(text))


def live_hazard_words(text: str) -> list[str]:
    """The hazard words of the sentences `screen_spans` keeps."""
    return [
        name
        for start, end in screen_spans(text)
        for name, pattern in HAZARDS.items()
        if pattern.search(text[start:end].lower())
    ]


@pytest.mark.parametrize(("text", "hazard"), HAZARDOUS)
def test_hazard_words_are_found_and_kept(text: str, hazard: str) -> None:
    assert hazard in live_hazard_words(text)


@pytest.mark.parametrize("text", SAFE)
def test_negated_hypothetical_and_figurative_words_are_no_live_hazard_words(text: str) -> None:
    assert not live_hazard_words(text)


def test_a_negation_reaches_only_its_own_clause() -> None:
    assert live_hazard_words("No warning at all, but it caught fire on day two")
    assert live_hazard_words("It never worked properly and then it started smoking")
    assert screen("no fire, no smoke") == ""


def test_a_question_about_a_real_incident_still_counts() -> None:
    text = "Is it normal that my kettle sparks when I plug it in?"
    assert screen_spans(text) == sentence_spans(text)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("No burns at all. The handle stays cool.", "The handle stays cool."),
        ("Could the plug melt if it is left in all day? Works well.", "Works well."),
        ("I worry it could tip over one day. Nice colour.", "Nice colour."),
        ("If a toddler pulled on it, it might fall. Easy to build.", "Easy to build."),
        (
            "Reviews say the battery swells. Mine has been fine for two years.",
            "Mine has been fine for two years.",
        ),
        ("Not a single spark or burnt smell.", ""),
        (
            "Tripped over a root and skinned my knee, not the leash's fault. Reels in slowly.",
            "Reels in slowly.",
        ),
        ("My son cut his lip at nursery, nothing to do with the seat. It rattles.", "It rattles."),
        ("Cut my thumb on the bread knife, my own fault. Toasts evenly.", "Toasts evenly."),
        ("Twisted my ankle on the kerb carrying it home, pure clumsiness.", ""),
        # A denial standing alone is about the sentence before it.
        ("I slipped on the wet floor and hit my head. Not the mat's fault. Grippy.", "Grippy."),
        ("A wasp stung her at the fete. It wasn't the paint's fault at all.", ""),
        # Nobody was there: what failed put no person at risk.
        ("The rail came crashing down. Nobody was in there, thank god.", ""),
        ("The lid flew open and sprayed the wall; it was empty at the time.", ""),
    ],
)
def test_screen_drops_what_reports_no_event_of_ones_own(text: str, kept: str) -> None:
    assert screen(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "The strap came undone and my son nearly slid out, I caught him.",
        "It caught fire. I was scared when it happened.",
        "People say it is great. The hinge trapped my finger.",
        "A friend warned me, and then it gave me a shock.",
        # "Not my fault" blames the product: nothing is denied.
        "It was not my fault, the strap snapped and he fell.",
        "The strap snapped and he fell. Not my fault, I had done it up properly.",
        "It cut my finger. The blade guard is faulty.",
        # Nobody hurt is not nobody there: a fire nobody was hurt by is still a near miss.
        "The charger caught fire on the desk, luckily nobody was hurt.",
    ],
)
def test_screen_keeps_events_and_uncontradicted_reports(text: str) -> None:
    assert screen(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Tripped over a root and skinned my knee, not the leash's fault. Reels in slowly.",
        "The rail came crashing down. Nobody was in there, thank god.",
    ],
)
def test_the_safe_sentences_are_chosen_without_the_screens_of_cause_and_presence(
    text: str,
) -> None:
    # What the hazard classifier is fitted on does not move with those two screens.
    assert screen_spans(text, causes=False) == sentence_spans(text)
    assert screen_spans(text) != sentence_spans(text)


@pytest.mark.parametrize(
    ("sentence", "parts"),
    [
        ("The lid burned my wife, avoid.", ["The lid burned my wife", "avoid."]),
        ("Nice design; the blade slipped: cut me", ["Nice design", "the blade slipped", "cut me"]),
        ("It tipped onto my toddler - never again.", ["It tipped onto my toddler", "never again."]),
        ("A well-made, sturdy chair.", ["A well-made", "sturdy chair."]),
        ("The lid burned my wife.", []),
        ("Ten-year-old me would love it.", []),
    ],
)
def test_clauses_split_at_commas_semicolons_colons_and_spaced_dashes(
    sentence: str, parts: list[str]
) -> None:
    assert clauses(sentence) == parts
