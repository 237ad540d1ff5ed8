"""The `spec_improvements` gate: recommended improvements and the change requests they become.

The recommended improvements are the product's unresolved defect and modification-request
findings. The product manager accepts or declines each; an accepted one becomes a change
request to the vendor or the development team, with an owner, a due date and a status. The
gate passes once it is signed off and every accepted improvement is verified. A decision can
be changed until work on its change request has started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from services.launch.errors import field_error, required_text
from services.launch.evidence import signoff_missing
from services.launch.facts import FindingFacts, FindingStatus, finding_data, short_quote
from services.launch.gates import Gate, GateResult, Reason, ReasonCode, result_of
from shared.errors import Conflict

IMPROVEMENT_KINDS = frozenset({"defect", "modification_request"})


class ImprovementDecision(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Addressee(StrEnum):
    """Who is asked to make the change."""

    VENDOR = "vendor"
    DEVELOPMENT = "development"


class ChangeStatus(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"


CHANGE_TRANSITIONS: Mapping[ChangeStatus, frozenset[ChangeStatus]] = MappingProxyType(
    {
        ChangeStatus.REQUESTED: frozenset({ChangeStatus.IN_PROGRESS, ChangeStatus.IMPLEMENTED}),
        ChangeStatus.IN_PROGRESS: frozenset({ChangeStatus.IMPLEMENTED}),
        # A change that fails verification goes back to work.
        ChangeStatus.IMPLEMENTED: frozenset({ChangeStatus.VERIFIED, ChangeStatus.IN_PROGRESS}),
        ChangeStatus.VERIFIED: frozenset(),
    }
)
# Overdue means not delivered by the due date; verifying a delivered change is our own work.
_UNDELIVERED = frozenset({ChangeStatus.REQUESTED, ChangeStatus.IN_PROGRESS})


class InvalidChangeTransition(Conflict):
    """A change request status move the transition map does not allow."""

    title, slug = "Invalid change request transition", "invalid-change-transition"

    def __init__(self, current: ChangeStatus, to: ChangeStatus) -> None:
        current, to = ChangeStatus(current), ChangeStatus(to)
        allowed = [s.value for s in ChangeStatus if s in CHANGE_TRANSITIONS[current]]
        super().__init__(
            f"a {current.value} change request cannot become {to.value}",
            current=current.value,
            to=to.value,
            allowed=allowed,
        )


@dataclass(frozen=True)
class ChangeRequest:
    """What an accepted improvement asks of the vendor or the development team."""

    addressee: Addressee
    owner: str
    due_date: date
    status: ChangeStatus = ChangeStatus.REQUESTED
    updated_at: datetime | None = None

    def overdue(self, today: date) -> bool:
        """Past its due date and not yet delivered."""
        return self.status in _UNDELIVERED and today > self.due_date


@dataclass(frozen=True)
class Improvement:
    """The product manager's decision on one recommended improvement (a finding)."""

    finding_id: str
    decision: ImprovementDecision
    decided_by: str
    decided_at: datetime
    reason: str | None = None
    change_request: ChangeRequest | None = None


def recommended(findings: Iterable[FindingFacts]) -> tuple[FindingFacts, ...]:
    """The product's unresolved defect and modification-request findings."""
    return tuple(
        finding
        for finding in findings
        if finding.kind in IMPROVEMENT_KINDS and finding.status != FindingStatus.RESOLVED
    )


def undecided(
    findings: Iterable[FindingFacts], improvements: Iterable[Improvement]
) -> tuple[FindingFacts, ...]:
    """Recommended improvements nobody has accepted or declined yet."""
    decided = {improvement.finding_id for improvement in improvements}
    return tuple(f for f in recommended(findings) if f.finding_id not in decided)


def _check_redecide(existing: Improvement | None) -> None:
    request = existing.change_request if existing else None
    if request is not None and request.status != ChangeStatus.REQUESTED:
        raise Conflict(
            f"work on this change request has started ({request.status}); "
            "it can no longer be declined or re-planned",
            status_now=str(request.status),
        )


def accept(
    finding_id: str,
    *,
    addressee: Addressee,
    owner: str,
    due_date: date,
    by: str,
    now: datetime,
    today: date,
    existing: Improvement | None = None,
) -> Improvement:
    """An accepted improvement with its new change request (due today or later)."""
    _check_redecide(existing)
    owner = required_text("owner", owner)
    if due_date < today:
        raise field_error("due_date", f"due_date {due_date} is in the past")
    request = ChangeRequest(Addressee(addressee), owner, due_date, updated_at=now)
    return Improvement(finding_id, ImprovementDecision.ACCEPTED, by, now, None, request)


def decline(
    finding_id: str, *, reason: str, by: str, now: datetime, existing: Improvement | None = None
) -> Improvement:
    """A declined improvement; the reason is kept for whoever asks later why."""
    _check_redecide(existing)
    text = required_text("reason", reason)
    return Improvement(finding_id, ImprovementDecision.DECLINED, by, now, text)


def move(improvement: Improvement, to: ChangeStatus, *, now: datetime) -> Improvement:
    """The improvement with its change request moved to `to`, or the error that says no."""
    request = improvement.change_request
    if request is None:
        raise Conflict(
            "a declined improvement has no change request", finding_id=improvement.finding_id
        )
    to = ChangeStatus(to)
    if to not in CHANGE_TRANSITIONS[request.status]:
        raise InvalidChangeTransition(request.status, to)
    return replace(improvement, change_request=replace(request, status=to, updated_at=now))


def overdue(improvements: Iterable[Improvement], today: date) -> tuple[Improvement, ...]:
    """The accepted improvements whose change request is overdue."""
    return tuple(
        improvement
        for improvement in improvements
        if improvement.change_request is not None and improvement.change_request.overdue(today)
    )


def spec_improvements_gate(
    gate: Gate,
    *,
    findings: Sequence[FindingFacts],
    improvements: Iterable[Improvement],
    today: date,
) -> GateResult:
    """Pending while an improvement is undecided, an accepted one is not verified, or the
    gate is not signed off; it never fails on its own."""
    pending = [
        Reason(
            ReasonCode.IMPROVEMENT_UNDECIDED,
            finding.finding_id,
            f"{finding.kind} finding {finding.finding_id} is neither accepted nor declined: "
            f'"{short_quote(finding.quote)}"',
            finding_data(finding),
        )
        for finding in undecided(findings, improvements)
    ]
    for improvement in improvements:
        request = improvement.change_request
        if request is None or request.status == ChangeStatus.VERIFIED:
            continue
        late = request.overdue(today)
        pending.append(
            Reason(
                ReasonCode.CHANGE_REQUEST_OPEN,
                improvement.finding_id,
                f"the change request for finding {improvement.finding_id} is "
                f"{request.status} ({request.owner}, due {request.due_date}"
                f"{', overdue' if late else ''})",
                {
                    "addressee": str(request.addressee),
                    "owner": request.owner,
                    "status": str(request.status),
                    "due_date": request.due_date,
                    "overdue": late,
                },
            )
        )
    if gate.signoff is None:
        pending.append(signoff_missing(gate))
    return result_of(pending=pending)
