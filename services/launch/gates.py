"""Readiness gates: their names and kinds, gate templates, reasons, waivers and readiness.

A plan has the default gates of DESIGN.md plus the extra manual gates of its product type's
template. Every gate that is not passing explains itself with a chain of `Reason`s, each
naming the thing it is about (`ref`: an attribute, a finding id, a price id, a task id ...),
so "why is it blocked" has an answer a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from services.launch.errors import field_error


class GateName(StrEnum):
    """The default gates every plan has."""

    CATALOG_COMPLETE = "catalog_complete"
    PRICE_APPROVED = "price_approved"
    NO_CRITICAL_DEFECTS = "no_critical_defects"
    SPEC_IMPROVEMENTS = "spec_improvements"
    BUSINESS_DOCUMENTS = "business_documents"
    REGULATORY_COMPLIANCE = "regulatory_compliance"
    QA_SIGNOFF = "qa_signoff"
    MARKETING_PLAN = "marketing_plan"


class GateKind(StrEnum):
    """`auto` gates follow other services' facts; `manual` gates follow people's evidence."""

    AUTO = "auto"
    MANUAL = "manual"


class GateStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a gate status, not a password)
    FAIL = "fail"
    PENDING = "pending"


class Readiness(StrEnum):
    READY = "ready"
    BLOCKED = "blocked"
    PENDING = "pending"


class QaKind(StrEnum):
    """The kinds of test report `qa_signoff` can require."""

    QA = "qa"
    USABILITY = "usability"
    MARKET_VIABILITY = "market_viability"


AUTOMATIC_GATES: tuple[GateName, ...] = (
    GateName.CATALOG_COMPLETE,
    GateName.PRICE_APPROVED,
    GateName.NO_CRITICAL_DEFECTS,
)
MANUAL_GATES: tuple[GateName, ...] = (
    GateName.SPEC_IMPROVEMENTS,
    GateName.BUSINESS_DOCUMENTS,
    GateName.REGULATORY_COMPLIANCE,
    GateName.QA_SIGNOFF,
    GateName.MARKETING_PLAN,
)
DEFAULT_GATES: Mapping[str, GateKind] = MappingProxyType(
    {
        **dict.fromkeys(AUTOMATIC_GATES, GateKind.AUTO),
        **dict.fromkeys(MANUAL_GATES, GateKind.MANUAL),
    }
)
# Without a template a product still needs its functional test report.
DEFAULT_QA_KINDS: tuple[QaKind, ...] = (QaKind.QA,)


class ReasonCode(StrEnum):
    """Why a gate is not passing; `Reason.ref` names the thing each code is about."""

    PRODUCT_UNKNOWN = "product_unknown"  # ref: product id
    PRODUCT_DISCONTINUED = "product_discontinued"  # ref: product id
    DECISION_REJECTED = "decision_rejected"  # ref: product id
    MISSING_ATTRIBUTE = "missing_attribute"  # ref: attribute name
    INCOMPLETE = "incomplete"  # ref: product id (score below 100, nothing named missing)
    NO_PRICE = "no_price"  # ref: price list
    PRICE_NOT_APPROVED = "price_not_approved"  # ref: price id
    PRICE_NOT_VALID = "price_not_valid"  # ref: price id
    CRITICAL_FINDING = "critical_finding"  # ref: finding id
    SIGNOFF_MISSING = "signoff_missing"  # ref: gate name
    GOALS_MISSING = "goals_missing"  # ref: "goals"
    IMPROVEMENT_UNDECIDED = "improvement_undecided"  # ref: finding id
    CHANGE_REQUEST_OPEN = "change_request_open"  # ref: finding id
    QA_REPORT_MISSING = "qa_report_missing"  # ref: report kind
    QA_REPORT_FAILED = "qa_report_failed"  # ref: report id
    NO_MARKETING_TASKS = "no_marketing_tasks"  # ref: phase
    MARKETING_TASK_OPEN = "marketing_task_open"  # ref: task id


_NO_DATA: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Reason:
    """One link of a gate's reason chain: what, about which thing, and its facts."""

    code: ReasonCode
    ref: str
    detail: str
    data: Mapping[str, Any] = field(default_factory=lambda: _NO_DATA)

    @property
    def key(self) -> tuple[str, str]:
        """What the reason is about, without the details that change as facts accrue."""
        return str(self.code), self.ref


@dataclass(frozen=True)
class GateResult:
    """A gate's evaluation: fail when any failing reason, else pending when any pending one."""

    status: GateStatus
    reasons: tuple[Reason, ...] = ()


PASSED = GateResult(GateStatus.PASS)


def result_of(*, failing: Iterable[Reason] = (), pending: Iterable[Reason] = ()) -> GateResult:
    """The gate's status from its reasons, failing ones first."""
    fails, waits = tuple(failing), tuple(pending)
    if fails:
        return GateResult(GateStatus.FAIL, fails + waits)
    if waits:
        return GateResult(GateStatus.PENDING, waits)
    return PASSED


# --- sign-offs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A reference to a document: a URL or an id in some archive, and the file's sha256."""

    title: str
    url: str | None = None
    ref: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class SignOff:
    """Who vouched for a manual gate, when, and on which evidence."""

    by: str
    at: datetime
    evidence: str
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class Revocation:
    """A withdrawn sign-off, kept so the gate can say why it is pending again."""

    by: str
    at: datetime
    reason: str
    signoff: SignOff


# --- gates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """A gate as last evaluated. `waived` is true while a live waiver covers it."""

    name: str
    kind: GateKind
    status: GateStatus = GateStatus.PENDING
    reasons: tuple[Reason, ...] = ()
    waived: bool = False
    updated_at: datetime | None = None
    signoff: SignOff | None = None
    revocation: Revocation | None = None

    @property
    def effective(self) -> GateStatus:
        """What readiness counts: a waived gate counts as passing."""
        return GateStatus.PASS if self.waived else self.status

    def same_state(self, other: Gate) -> bool:
        """Whether a re-evaluation changed anything a reader of gate events cares about."""
        return (
            self.status == other.status
            and self.waived == other.waived
            and [r.key for r in self.reasons] == [r.key for r in other.reasons]
        )


def readiness_of(gates: Iterable[Gate]) -> Readiness:
    """Blocked if any gate fails unwaived, ready if every gate passes or is waived."""
    statuses = {gate.effective for gate in gates}
    if GateStatus.FAIL in statuses:
        return Readiness.BLOCKED
    if statuses <= {GateStatus.PASS}:
        return Readiness.READY
    return Readiness.PENDING


def blocking(gates: Iterable[Gate]) -> tuple[Gate, ...]:
    """The gates that keep a plan from approval: not passing and not waived."""
    return tuple(gate for gate in gates if gate.effective != GateStatus.PASS)


# --- waivers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    """A person's decision to launch despite a gate, until `expires_at` (exclusive)."""

    id: str
    gate: str
    by: str
    reason: str
    created_at: datetime
    expires_at: datetime

    def live_at(self, now: datetime) -> bool:
        """True from its creation up to, not including, its expiry."""
        return self.created_at <= now < self.expires_at


def waived_gates(waivers: Iterable[Waiver], now: datetime) -> frozenset[str]:
    """The names of the gates a live waiver covers at `now`."""
    return frozenset(waiver.gate for waiver in waivers if waiver.live_at(now))


# --- templates -----------------------------------------------------------------------------------

GATE_NAME = re.compile(r"[a-z][a-z0-9_]{1,62}")
_QA_KINDS = frozenset(QaKind)
MAX_TEMPLATE_GATES = 20


@dataclass(frozen=True)
class GateTemplate:
    """A product type's extra manual gates and the QA report kinds it requires.

    A plan copies its template when it is created: editing a template later changes new
    plans only, so an approved plan's gates never shift under it.
    """

    product_type: str
    gates: tuple[str, ...] = ()
    qa_kinds: tuple[QaKind, ...] = DEFAULT_QA_KINDS


def check_template(
    *, product_type: str, gates: Iterable[str], qa_kinds: Iterable[str]
) -> GateTemplate:
    """A valid template, or a 422 naming the first bad field."""
    names = tuple(gates)
    if len(names) > MAX_TEMPLATE_GATES:
        raise field_error("gates", f"a template has at most {MAX_TEMPLATE_GATES} gates")
    for index, name in enumerate(names):
        if not isinstance(name, str) or not GATE_NAME.fullmatch(name):
            raise field_error(
                f"gates.{index}",
                "a gate name is snake_case: a lowercase letter, then letters, digits or _ "
                "(2 to 63 characters)",
            )
        if name in DEFAULT_GATES:
            raise field_error(f"gates.{index}", f"{name} is a default gate of every plan")
        if name in names[:index]:
            raise field_error(f"gates.{index}", f"{name} is listed twice")
    kinds = tuple(qa_kinds)
    if not kinds:
        raise field_error("qa_kinds", "name at least one QA report kind")
    for index, kind in enumerate(kinds):
        if kind not in _QA_KINDS:
            allowed = ", ".join(QaKind)
            raise field_error(f"qa_kinds.{index}", f"{kind!r} is not one of {allowed}")
        if kind in kinds[:index]:
            raise field_error(f"qa_kinds.{index}", f"{kind} is listed twice")
    return GateTemplate(product_type, names, tuple(QaKind(kind) for kind in kinds))


def initial_gates(template: GateTemplate | None) -> tuple[Gate, ...]:
    """The default gates, then the template's, all pending until first evaluated."""
    extra = dict.fromkeys(template.gates, GateKind.MANUAL) if template else {}
    return tuple(Gate(name, kind) for name, kind in {**DEFAULT_GATES, **extra}.items())
