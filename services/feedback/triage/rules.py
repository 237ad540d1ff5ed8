"""The rules triage applies on top of the classifier, in this order.

Category (the classifier proposes, the text can overrule):
1. A search miss is a REQUIREMENT: the customer looked for something the store lacks.
2. A safety hazard (see `safety`) is a DEFECT.
3. A return whose reason code says the product failed ("defective", "damaged"...) and that the
   classifier called OTHER or PRAISE is a DEFECT.
4. PRAISE that asks something (a sentence ending in "?") is a QUESTION: "Love these! Are they
   ok for trail running?" needs an answer.
Praise that reports a fault or wishes for a change (a mixed review), a question without a
question mark and sarcasm are the classifier's to read, from the examples of the development
sets: phrase rules for them (a failure cue, a sentence starting "does", "wish") overruled it
wrongly more often than rightly there ("Does exactly what it says on the tin").

Severity:
1. A safety hazard is CRITICAL, whatever the rating, kind or category.
2. A DEFECT is HIGH when the product failed at its job (a failure cue that is not negated,
   unless the text says it still works), else LOW when the rating is 4-5 or the text plays
   it down ("slight", "a bit", "minor"), else MEDIUM.
3. A MODIFICATION_REQUEST is MEDIUM when its sentiment is strongly negative, else LOW.
   REQUIREMENT, QUESTION, PRAISE and OTHER are LOW.
4. Floors by kind: a support ticket of priority "urgent" is at least HIGH, of priority "high"
   at least MEDIUM; a returned defect is at least MEDIUM.
"""

from __future__ import annotations

import re

from services.feedback.triage.labels import Category, Severity, TriageInput, rank
from services.feedback.triage.safety import negated

FAILURE = re.compile(
    r"\bstopped (?:working|heating|charging|playing|turning on)\b|\bfail(?:ed|s|ure)\b"
    r"|\bdead\b(?! (?:simple|easy|quiet|silent|comfy|comfortable|on|good|set))"
    r"|\b(?:doesn't|does not|don't|do not|won't|will not|didn't|no longer|isn't) (?:\w+ ){0,2}"
    r"(?:work|turn on|start|charge|heat|fit|stay|(?:switch|turn|shut)\w* (?:itself )?off)\w*"
    r"|\bleak\w*|\bpuddle\b|\bseeps?\b|\bbroke(?:n)?\b|\bsnapp?ed\b|\bcrack(?:ed|s)?\b"
    r"|\bshatter\w*|\bbent\b|\bpeel\w*|\bdetach\w*|\bseparat\w*|\bcame off\b|\bfell apart\b"
    r"|\bcom(?:ing|e) apart\b|\bfalling apart\b|\bhole\b|\bmissing\b|\bunusable\b|\buseless\b"
    r"|\b(?:seat|chair|it|height) (?:\w+ )?sinks\b|\bsinking\b"
    r"|\bno (?:sound|audio|power|heat)\b|\bone ear\b|\bone side\b"
    r"|\bcut(?:s|ting)? out\b|\bcan't (?:assemble|put it together|use)\b"
)
# A failure that leaves the product usable is not HIGH.
STILL_WORKS = re.compile(r"\bstill (?:works|boils|blends|plays|usable|does the job)\b")
MILD = re.compile(
    r"\b(?:slight(?:ly)?|a bit|a little|minor|tiny|does the job|not a big deal|only issue)\b"
)
# A sentence that ends in a question mark, before the next sentence or the end of the text.
_ASKED = re.compile(r"\?(?:\s|$)")
DEFECT_REASONS = frozenset(
    {"defective", "damaged", "faulty", "broken", "not_working", "doesnt_work", "dead_on_arrival"}
)
MODIFICATION_UPSET = -0.5


def compose_text(item: TriageInput) -> str:
    """The text triage reads: a ticket's subject, then the text; a bare return reason else."""
    parts = [item.subject, item.text]
    text = ". ".join(part.strip() for part in parts if part and part.strip())
    if not text and item.reason:
        text = item.reason.replace("_", " ")
    return text


def has_failure(text: str) -> bool:
    """Whether the text says the product failed at its job."""
    lowered = text.lower()
    return any(not negated(lowered[: match.start()]) for match in FAILURE.finditer(lowered))


def decide_category(predicted: Category, *, item: TriageInput, text: str, hazard: bool) -> Category:
    """The category after the rules of the module docstring."""
    if item.kind == "search_miss":
        return Category.REQUIREMENT
    if hazard:
        return Category.DEFECT
    reason = (item.reason or "").strip().lower().replace(" ", "_")
    if predicted in (Category.OTHER, Category.PRAISE) and reason in DEFECT_REASONS:
        return Category.DEFECT
    if predicted == Category.PRAISE and _ASKED.search(text):
        return Category.QUESTION
    return predicted


def decide_severity(
    category: Category, *, item: TriageInput, text: str, sentiment: float, hazard: bool
) -> Severity:
    """The severity after the rules of the module docstring."""
    if hazard:
        return Severity.CRITICAL
    lowered = text.lower()
    severity = Severity.LOW
    if category == Category.DEFECT:
        if has_failure(text) and not STILL_WORKS.search(lowered):
            severity = Severity.HIGH
        elif (item.rating or 0) >= 4 or MILD.search(lowered):
            severity = Severity.LOW
        else:
            severity = Severity.MEDIUM
    elif category == Category.MODIFICATION_REQUEST and sentiment <= MODIFICATION_UPSET:
        severity = Severity.MEDIUM
    return _at_least(severity, _kind_floor(category, item))


def _kind_floor(category: Category, item: TriageInput) -> Severity:
    priority = (item.priority or "").strip().lower()
    if item.kind == "support_ticket" and priority in ("urgent", "critical", "blocker"):
        return Severity.HIGH
    if item.kind == "support_ticket" and priority == "high":
        return Severity.MEDIUM
    if item.kind == "return" and category == Category.DEFECT:
        return Severity.MEDIUM
    return Severity.LOW


def _at_least(severity: Severity, floor: Severity) -> Severity:
    return severity if rank(severity) >= rank(floor) else floor
