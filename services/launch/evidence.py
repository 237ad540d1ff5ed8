"""Evidence for the manual gates: documents, the plan's goals, QA reports and sign-offs.

Rules (issue 10):
- A sign-off needs evidence text; `regulatory_compliance` also needs documents.
- `business_documents` is signed only once the plan has goals (units, revenue, margin for
  the first 90 days), which stay on the plan so later actuals can be compared.
- `spec_improvements` is not signed while a listed improvement is undecided.
- `qa_signoff` is decided by its reports, never by a sign-off: the latest report of each
  kind the template requires must have passed.
- A document names a URL or an archive id (`ref`), and a sha256 whenever the reference
  names a file (its last path segment has an extension, e.g. `declaration.pdf`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from services.launch.errors import NotSignable, field_error, required_text
from services.launch.gates import (
    PASSED,
    Document,
    Gate,
    GateKind,
    GateName,
    GateResult,
    QaKind,
    Reason,
    ReasonCode,
    result_of,
)
from shared.money import check_scale, decimals_of

GOALS_PERIOD_DAYS = 90
MAX_DOCUMENTS = 20
MAX_TITLE = 200
MAX_REFERENCE = 2048
MAX_NOTES = 5000
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A file name ends in an extension that starts with a letter, so an id like "DOC-1.2" is not one.
_FILE_NAME = re.compile(r"[^/]+\.[A-Za-z][A-Za-z0-9]{0,7}")
_WHITESPACE = re.compile(r"\s")


# --- documents -----------------------------------------------------------------------------------


def names_a_file(reference: str) -> bool:
    """True when the URL's path or the archive id ends in a file name such as `report.pdf`."""
    path = urlsplit(reference).path if "://" in reference else reference
    return bool(_FILE_NAME.fullmatch(path.rsplit("/", 1)[-1]))


def _url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or _WHITESPACE.search(value):
        raise field_error(field, "url must be an absolute http(s) URL without spaces")
    return value


def check_document(document: Document, *, field: str = "documents.0") -> Document:
    """The document with its text trimmed and its sha256 lowercased, or a 422."""
    title = required_text(f"{field}.title", document.title)
    if len(title) > MAX_TITLE:
        raise field_error(f"{field}.title", f"title has at most {MAX_TITLE} characters")
    url = (document.url or "").strip() or None
    ref = (document.ref or "").strip() or None
    if (url is None) == (ref is None):
        raise field_error(field, "a document names either a url or a ref, exactly one")
    reference = url or ref or ""
    if len(reference) > MAX_REFERENCE:
        raise field_error(field, f"a url or ref has at most {MAX_REFERENCE} characters")
    if url is not None:
        _url(url, f"{field}.url")
    sha256 = (document.sha256 or "").strip().lower() or None
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise field_error(f"{field}.sha256", "sha256 is 64 hexadecimal digits")
    if sha256 is None and names_a_file(reference):
        raise field_error(f"{field}.sha256", "a reference to a file needs the file's sha256")
    return Document(title=title, url=url, ref=ref, sha256=sha256)


def check_documents(
    documents: Sequence[Document], *, required: bool = False, field: str = "documents"
) -> tuple[Document, ...]:
    """Every document checked; at least one when `required`."""
    if required and not documents:
        raise field_error(field, "at least one document is required")
    if len(documents) > MAX_DOCUMENTS:
        raise field_error(field, f"at most {MAX_DOCUMENTS} documents")
    return tuple(
        check_document(document, field=f"{field}.{index}")
        for index, document in enumerate(documents)
    )


# --- goals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Goals:
    """What the first 90 days after launch should bring."""

    units: int
    revenue: Money
    margin_pct: Decimal


def check_goals(goals: Goals) -> Goals:
    """The goals, or a 422: whole positive units, a revenue the currency can express, and a
    margin between -100 and 100 percent with at most 2 decimals."""
    if isinstance(goals.units, bool) or not isinstance(goals.units, int) or goals.units < 1:
        raise field_error("goals.units", "units is a whole number of at least 1")
    amount = goals.revenue.amount
    if not amount.is_finite() or amount < 0:
        raise field_error("goals.revenue.amount", "revenue is a non-negative amount")
    try:
        check_scale(amount, goals.revenue.currency)
    except ValueError as error:
        raise field_error("goals.revenue", str(error)) from None
    margin = goals.margin_pct
    if not margin.is_finite() or not Decimal(-100) <= margin <= Decimal(100):
        raise field_error("goals.margin_pct", "margin_pct is between -100 and 100")
    if decimals_of(margin) > 2:
        raise field_error("goals.margin_pct", "margin_pct has at most 2 decimals")
    return goals


# --- QA reports ----------------------------------------------------------------------------------


class QaResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class QaReport:
    """A test report: qa, usability or market viability, with its result."""

    id: str
    kind: QaKind
    result: QaResult
    notes: str
    recorded_by: str
    recorded_at: datetime
    documents: tuple[Document, ...] = ()


def check_report(report: QaReport) -> QaReport:
    """The report with its notes trimmed and documents checked, or a 422."""
    notes = report.notes.strip()
    if len(notes) > MAX_NOTES:
        raise field_error("notes", f"notes have at most {MAX_NOTES} characters")
    documents = check_documents(report.documents)
    return QaReport(
        report.id,
        QaKind(report.kind),
        QaResult(report.result),
        notes,
        report.recorded_by,
        report.recorded_at,
        documents,
    )


def latest_reports(reports: Iterable[QaReport]) -> Mapping[QaKind, QaReport]:
    """The latest report of each kind; of two at the same moment, the one recorded last."""
    latest: dict[QaKind, QaReport] = {}
    for report in reports:
        current = latest.get(report.kind)
        if current is None or report.recorded_at >= current.recorded_at:
            latest[report.kind] = report
    return latest


def qa_gate(reports: Iterable[QaReport], *, required: Iterable[QaKind]) -> GateResult:
    """Passes when the latest report of every required kind passed; a failed one fails it."""
    latest = latest_reports(reports)
    failing: list[Reason] = []
    pending: list[Reason] = []
    for kind in required:
        report = latest.get(kind)
        if report is None:
            pending.append(Reason(ReasonCode.QA_REPORT_MISSING, str(kind), f"no {kind} report yet"))
        elif report.result == QaResult.FAILED:
            failing.append(
                Reason(
                    ReasonCode.QA_REPORT_FAILED,
                    report.id,
                    f"the latest {kind} report failed",
                    {"kind": str(kind), "notes": report.notes},
                )
            )
    return result_of(failing=failing, pending=pending)


# --- sign-offs -----------------------------------------------------------------------------------


def signoff_gate(gate: Gate) -> GateResult:
    """A gate that passes once signed off; a revoked sign-off says who revoked it and why."""
    if gate.signoff is not None:
        return PASSED
    return result_of(pending=[signoff_missing(gate)])


def signoff_missing(gate: Gate) -> Reason:
    revocation = gate.revocation
    if revocation is None:
        return Reason(ReasonCode.SIGNOFF_MISSING, gate.name, f"{gate.name} is not signed off")
    return Reason(
        ReasonCode.SIGNOFF_MISSING,
        gate.name,
        f"{gate.name}'s sign-off was revoked by {revocation.by}: {revocation.reason}",
        {"revoked_by": revocation.by, "revoked_at": revocation.at, "reason": revocation.reason},
    )


def business_documents_gate(gate: Gate, goals: Goals | None) -> GateResult:
    """Passes with goals on the plan and a sign-off."""
    pending = [] if gate.signoff is not None else [signoff_missing(gate)]
    if goals is None:
        pending.insert(
            0, Reason(ReasonCode.GOALS_MISSING, "goals", "the plan has no goals for 90 days")
        )
    return result_of(pending=pending)


def check_signoff(
    gate: Gate,
    *,
    evidence: str,
    documents: Sequence[Document],
    goals: Goals | None,
    undecided: Sequence[str],
) -> tuple[str, tuple[Document, ...]]:
    """The checked evidence and documents for signing `gate` off, or the error that says no.

    `undecided` is the finding ids of the improvements nobody has accepted or declined.
    """
    if gate.kind == GateKind.AUTO:
        raise NotSignable(
            f"{gate.name} follows the other services' facts and cannot be signed off",
            gate=gate.name,
        )
    if gate.name == GateName.QA_SIGNOFF:
        raise NotSignable(
            "qa_signoff passes from its test reports: record a passed report of each required "
            "kind instead",
            gate=gate.name,
        )
    if gate.signoff is not None:
        raise NotSignable(
            f"{gate.name} is already signed off by {gate.signoff.by}; revoke that first",
            gate=gate.name,
        )
    text = required_text("evidence", evidence)
    checked = check_documents(documents, required=gate.name == GateName.REGULATORY_COMPLIANCE)
    if gate.name == GateName.BUSINESS_DOCUMENTS and goals is None:
        raise NotSignable(
            "set the plan's goals (units, revenue, margin_pct) before signing off "
            "business_documents",
            gate=gate.name,
        )
    if gate.name == GateName.SPEC_IMPROVEMENTS and undecided:
        raise NotSignable(
            f"{len(undecided)} improvements are still undecided: accept or decline each first",
            gate=gate.name,
            undecided=list(undecided),
        )
    return text, checked
