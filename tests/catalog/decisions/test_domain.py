"""Rules of cases and decisions, without database, broker or HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.catalog.decisions.domain import (
    MAX_EVIDENCE,
    Decision,
    Evidence,
    NoCases,
    Outcome,
    ProductRejected,
    Stance,
    check_decision,
    check_lifecycle,
    count_stances,
    normalize_evidence,
    validate_evidence_url,
)
from services.catalog.domain import Lifecycle
from shared.errors import Conflict, Invalid

WHEN = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def decision(outcome: Outcome, rationale: str = "Too costly to source") -> Decision:
    return Decision(
        outcome=outcome,
        rationale=rationale,
        decided_by="key-pm",
        decided_by_name="Pat",
        decided_at=WHEN,
    )


# --- enums -------------------------------------------------------------------------------------


def test_stances_and_outcomes_are_lowercase_strings() -> None:
    assert [s.value for s in Stance] == ["for", "against"]
    assert [o.value for o in Outcome] == ["adopt", "reject", "defer"]


# --- evidence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "http://example.com/review?id=3#top",
        "HTTPS://Example.com/a",
        "https://user@shop.example.org:8443/p/1",
        "http://127.0.0.1:8080/x",
        "https://[::1]/x",
    ],
)
def test_http_and_https_urls_are_valid(url: str) -> None:
    assert validate_evidence_url(url) == url


def test_urls_are_stripped() -> None:
    assert validate_evidence_url("  https://example.com/a \n") == "https://example.com/a"


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("ftp://example.com/file", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("mailto:pm@example.com", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("example.com/page", "only http and https"),
        ("/relative/path", "only http and https"),
        ("https://", "no host"),
        ("https:///path-only", "no host"),
        ("https://exa mple.com", "contains spaces"),
        ("https://example.com/\x00", "contains spaces"),
        ("https://example.com:99999/", "invalid evidence URL"),
        ("https://[::1/", "invalid evidence URL"),
        ("https://example.com/" + "a" * 2100, "at most 2048"),
    ],
)
def test_bad_urls_are_invalid(url: str, detail: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_evidence_url(url)
    assert detail in caught.value.detail
    assert caught.value.extra["field"] == "evidence"


def test_non_string_url_is_invalid() -> None:
    with pytest.raises(Invalid):
        validate_evidence_url(None)  # type: ignore[arg-type]


def test_evidence_is_normalized() -> None:
    result = normalize_evidence(
        [
            Evidence(" https://a.example/review ", "  Lab test  "),
            Evidence("https://b.example", "   "),
            Evidence("https://c.example", None),
        ]
    )
    assert result == (
        Evidence("https://a.example/review", "Lab test"),
        Evidence("https://b.example", None),
        Evidence("https://c.example", None),
    )
    assert normalize_evidence([]) == ()


def test_evidence_has_a_cap_and_no_repeats() -> None:
    links = [Evidence(f"https://e.example/{i}") for i in range(MAX_EVIDENCE)]
    assert len(normalize_evidence(links)) == MAX_EVIDENCE
    with pytest.raises(Invalid, match="at most 20"):
        normalize_evidence([*links, Evidence("https://e.example/x")])
    with pytest.raises(Invalid, match="listed twice"):
        normalize_evidence([Evidence("https://e.example/1"), Evidence(" https://e.example/1")])
    with pytest.raises(Invalid, match="title has at most 200"):
        normalize_evidence([Evidence("https://e.example/1", "t" * 201)])


# --- the decision rule -------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [Outcome.ADOPT, Outcome.REJECT])
def test_adopt_and_reject_need_a_case(outcome: Outcome) -> None:
    with pytest.raises(NoCases) as caught:
        check_decision(outcome, cases_for=0, cases_against=0)
    err = caught.value
    assert isinstance(err, Conflict)
    assert err.status == 409
    assert f"cannot {outcome.value} a product without a case" in err.detail
    assert "POST /v1/products/{id}/cases" in err.detail
    assert err.extra == {"outcome": outcome.value, "cases_for": 0, "cases_against": 0}


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize(("cases_for", "cases_against"), [(1, 0), (0, 1), (3, 2)])
def test_any_case_either_way_allows_every_outcome(
    outcome: Outcome, cases_for: int, cases_against: int
) -> None:
    check_decision(outcome, cases_for=cases_for, cases_against=cases_against)


def test_defer_needs_no_case() -> None:
    check_decision(Outcome.DEFER, cases_for=0, cases_against=0)
    check_decision("defer", cases_for=0, cases_against=0)  # type: ignore[arg-type]


def test_count_stances() -> None:
    assert count_stances({"for": 2, "against": 1}) == (2, 1)
    assert count_stances({"against": 4}) == (0, 4)
    assert count_stances({}) == (0, 0)


# --- rejected products stay out of active ------------------------------------------------------


def test_a_rejected_product_cannot_become_active() -> None:
    with pytest.raises(ProductRejected) as caught:
        check_lifecycle(decision(Outcome.REJECT), Lifecycle.ACTIVE)
    err = caught.value
    assert err.status == 409
    assert err.detail == (
        "cannot make the product active: the product was rejected by Pat on 2025-03-04 "
        "('Too costly to source'); record a new decision (adopt) first"
    )
    assert err.extra["decision"] == {
        "outcome": "reject",
        "rationale": "Too costly to source",
        "decided_by": {"subject": "key-pm", "name": "Pat"},
        "decided_at": "2025-03-04T10:30:00Z",
    }


def test_the_refusal_names_what_was_moved() -> None:
    with pytest.raises(ProductRejected, match="cannot make the variant active"):
        check_lifecycle(decision(Outcome.REJECT), Lifecycle.ACTIVE, what="variant")


def test_the_refusal_falls_back_to_the_subject_without_a_name() -> None:
    nameless = Decision(Outcome.REJECT, "No", "key-pm", "", WHEN)
    with pytest.raises(ProductRejected, match="rejected by key-pm on"):
        check_lifecycle(nameless, Lifecycle.ACTIVE)


@pytest.mark.parametrize("to", [Lifecycle.INCOMING, Lifecycle.DISCONTINUED, Lifecycle.DRAFT])
def test_a_rejected_product_may_make_other_moves(to: Lifecycle) -> None:
    check_lifecycle(decision(Outcome.REJECT), to)


@pytest.mark.parametrize("outcome", [Outcome.ADOPT, Outcome.DEFER])
def test_other_decisions_do_not_block_activation(outcome: Outcome) -> None:
    check_lifecycle(decision(outcome), Lifecycle.ACTIVE)


def test_no_decision_does_not_block_activation() -> None:
    check_lifecycle(None, Lifecycle.ACTIVE)
    check_lifecycle(None, "active")  # type: ignore[arg-type]
