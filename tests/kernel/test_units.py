"""Pure unit tests of the kernel: events, pagination, concurrency, auth and settings. No I/O
beyond a temporary data directory."""

from __future__ import annotations

import base64
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import jwt
import orjson
import pytest
from pydantic import BaseModel, ValidationError

from shared.auth import (
    ADMIN,
    ALGORITHM,
    ISSUER,
    Principal,
    TokenSigner,
    hash_secret,
    require,
    secret_matches,
)
from shared.concurrency import _parse_if_match, check_version, etag
from shared.errors import Invalid, PreconditionFailed, Unauthorized
from shared.events import (
    CloudEvent,
    EventPayload,
    EventRegistry,
    decode,
    encode,
    new_event,
)
from shared.observability import causation_id_var, correlation_id_var
from shared.pagination import decode_cursor, encode_cursor
from shared.settings import DEFAULT_PORTS, Settings
from tests.support import TEST_SECRET

MALFORMED_CURSOR = [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- CloudEvents -------------------------------------------------------------------------


def test_event_round_trip_keeps_everything_and_drops_nones():
    event = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject="prod-1",
        data={"name": "Lamp", "price": {"amount": "9.90", "currency": "EUR"}},
        sequence=4,
    )
    raw = encode(event)
    envelope = orjson.loads(raw)
    assert envelope["specversion"] == "1.0"
    assert envelope["sequence"] == "4"
    # No causing event in this context: the attribute is left out, not sent as null.
    assert "causationid" not in envelope
    assert None not in envelope.values()

    back = decode(raw)
    assert back == event
    assert back.time == event.time
    assert back.time.tzinfo is not None
    assert back.sequence_number == 4
    assert decode(raw.decode()) == event, "str values decode too"


def test_extension_attributes_survive_a_round_trip():
    event = CloudEvent(
        id="e-1",
        source="/elsewhere",
        type="other.thing.happened.v1",
        time=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        partitionkey="p-7",
    )
    envelope = orjson.loads(encode(event))
    assert envelope["traceparent"].startswith("00-0af7")
    assert envelope["partitionkey"] == "p-7"
    back = decode(encode(event))
    assert back.model_extra == {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "partitionkey": "p-7",
    }
    assert back.data == {}
    assert back.subject is None
    assert back.sequence_number is None


@pytest.mark.parametrize(("sequence", "expected"), [("7", 7), ("0", 0), (None, None), ("x", None)])
def test_sequence_number(sequence, expected):
    event = CloudEvent(id="e", source="/s", type="t", time=datetime.now(UTC), sequence=sequence)
    assert event.sequence_number == expected


@pytest.mark.parametrize(
    "value",
    [
        b"not json at all",
        b"\xff\xfe",
        b"",
        b"[1, 2, 3]",
        b"null",
        b'{"id": "e-1"}',
        b'{"specversion": "0.3", "id": "e", "source": "/s", "type": "t",'
        b' "time": "2024-01-01T00:00:00Z"}',
        b'{"id": "e", "source": "/s", "type": "t", "time": "yesterday-ish"}',
        b'{"id": "e", "source": "/s", "type": "t", "time": "2024-01-01T00:00:00Z", "data": [1]}',
    ],
)
def test_decode_refuses_garbage_with_value_error(value):
    with pytest.raises(ValueError):  # noqa: PT011 - the documented contract is ValueError
        decode(value)


def test_new_event_takes_correlation_and_causation_from_the_context():
    correlation = correlation_id_var.set("corr-123")
    causation = causation_id_var.set("cause-456")
    try:
        event = new_event(source="/s", type="t.v1", subject="x", data={})
    finally:
        causation_id_var.reset(causation)
        correlation_id_var.reset(correlation)
    assert event.correlationid == "corr-123"
    assert event.causationid == "cause-456"
    assert correlation_id_var.get() is None
    assert causation_id_var.get() is None


def test_new_event_starts_its_own_correlation_outside_any_request():
    first = new_event(source="/s", type="t.v1", subject=None, data={})
    second = new_event(source="/s", type="t.v1", subject=None, data={})
    assert first.correlationid == first.id
    assert first.causationid is None
    assert first.sequence is None
    assert first.id != second.id
    assert first.time.tzinfo is not None


def test_new_event_dumps_a_model_payload_as_json() -> None:
    class Price(BaseModel):
        amount: float
        at: datetime

    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = new_event(
        source="/s", type="t.v1", subject="p", data=Price(amount=1.5, at=at), sequence=2
    )
    assert event.data == {"amount": 1.5, "at": "2024-01-02T03:04:05Z"}
    assert event.sequence == "2"
    assert event.sequence_number == 2


# --- Event registry ----------------------------------------------------------------------


def test_registry_registers_validates_and_refuses_duplicates() -> None:
    registry = EventRegistry()

    @registry.register("shop.item.added.v1")
    class ItemAdded(EventPayload):
        sku: str
        quantity: int = 1

    @registry.register("shop.cart.cleared.v1")
    class CartCleared(EventPayload):
        pass

    # Set by `register`, which EventPayload does not declare (shared/events.py).
    assert ItemAdded.event_type == "shop.item.added.v1"
    assert "shop.item.added.v1" in registry
    assert "shop.item.removed.v1" not in registry
    assert registry.types == ["shop.cart.cleared.v1", "shop.item.added.v1"]

    with pytest.raises(ValueError, match="registered twice"):

        @registry.register("shop.item.added.v1")
        class Again(EventPayload):
            pass

    def event(data: dict) -> CloudEvent:
        return new_event(source="/shop", type="shop.item.added.v1", subject="c-1", data=data)

    # A newer producer's extra fields are ignored; lax types still coerce.
    payload = registry.payload(event({"sku": "A-1", "quantity": "3", "added_by": "new-field"}))
    assert isinstance(payload, ItemAdded)
    assert payload.sku == "A-1"
    assert payload.quantity == 3
    assert not hasattr(payload, "added_by")
    assert payload.model_dump() == {"sku": "A-1", "quantity": 3}

    with pytest.raises(ValidationError):
        registry.payload(event({"quantity": 2}))
    with pytest.raises(ValidationError):
        registry.payload(event({"sku": "A-1", "quantity": "lots"}))


def test_event_payload_ignores_unknown_fields() -> None:
    class Renamed(EventPayload):
        name: str

    assert Renamed.model_validate({"name": "n", "unknown": 1}).model_dump() == {"name": "n"}


# --- Pagination --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "position",
    [
        ["2024-01-01T00:00:00+00:00", "0190a1b2-0000-7000-8000-000000000001"],
        [1],
        [],
        ["ü nicode", None, 3.5, True],
    ],
)
def test_cursor_round_trip(position):
    cursor = encode_cursor(position)
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor) == position


def test_no_cursor_means_the_first_page():
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("a", id="bad-base64-length"),
        pytest.param("é-not-ascii", id="non-ascii"),
        pytest.param("!!!!", id="no-base64-chars"),
        pytest.param("", id="empty"),
        pytest.param(b64url(b"not json"), id="not-json"),
        pytest.param(b64url(b"\xff\xfe\x00"), id="not-utf8"),
        pytest.param(b64url(b'{"id": 1}'), id="json-object"),
        pytest.param(b64url(b'"abc"'), id="json-string"),
        pytest.param(b64url(b"42"), id="json-number"),
        pytest.param(b64url(b"null"), id="json-null"),
    ],
)
def test_malformed_cursor_is_invalid(cursor):
    with pytest.raises(Invalid) as caught:
        decode_cursor(cursor)
    assert caught.value.status == 422
    assert "cursor" in caught.value.detail
    assert caught.value.extra == {"field": "cursor", "errors": MALFORMED_CURSOR}


# --- Optimistic concurrency --------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3),
        ('"3"', 3),
        ('W/"3"', 3),
        (" 12 ", 12),
        ("0", 0),
        ("*", None),
        (" * ", None),
        (None, None),
    ],
)
def test_if_match_parses_versions(header, expected):
    assert _parse_if_match(header) == expected


@pytest.mark.parametrize("header", ["abc", "", '"3", "4"', "-1", "3.0", 'W/"abc"', '"v3"'])
def test_if_match_refuses_anything_but_a_version(header):
    with pytest.raises(Invalid) as caught:
        _parse_if_match(header)
    assert caught.value.status == 422
    assert caught.value.extra["errors"] == [
        {"loc": ["header", "If-Match"], "msg": "not a version number"}
    ]


def test_check_version():
    check_version(None, 5)
    check_version(5, 5)
    with pytest.raises(PreconditionFailed) as caught:
        check_version(4, 5)
    assert caught.value.status == 412
    assert caught.value.extra == {"current_version": 5}
    assert "version 5" in caught.value.detail
    assert etag(5) == '"5"'
    assert _parse_if_match(etag(5)) == 5, "an ETag sent back as If-Match names the version"


# --- Tokens and scopes -------------------------------------------------------------------

SIGNER = TokenSigner(TEST_SECRET)


def claims(**overrides) -> dict:
    now = int(time.time())
    values = {
        "iss": ISSUER,
        "sub": "key-1",
        "name": "ops",
        "scope": "catalog:read",
        "iat": now,
        "exp": now + 600,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def assert_refused(token: str, word: str = "invalid", signer: TokenSigner = SIGNER) -> None:
    with pytest.raises(Unauthorized) as caught:
        signer.verify(token)
    assert word in caught.value.detail
    assert caught.value.status == 401
    assert caught.value.extra["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_token_round_trip():
    scopes = frozenset({"catalog:read", "catalog:write"})
    token = SIGNER.issue(subject="key-42", name="robot", owner="ops team", scopes=scopes)
    assert SIGNER.verify(token) == Principal(
        subject="key-42", name="robot", owner="ops team", scopes=scopes
    )

    header = jwt.get_unverified_header(token)
    assert header["alg"] == ALGORITHM == "HS256"
    body = jwt.decode(token, options={"verify_signature": False})
    assert body["iss"] == ISSUER
    assert body["scope"] == "catalog:read catalog:write"
    assert body["owner"] == "ops team"
    assert body["exp"] - body["iat"] == SIGNER.ttl_s == 3600
    assert body["jti"]
    other = SIGNER.issue(subject="key-42", name="robot", owner="ops team", scopes=scopes)
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != body["jti"]


def test_a_token_minted_before_owners_is_owned_by_its_name():
    # Its key was given its name as owner by the gateway's migration.
    principal = SIGNER.verify(jwt.encode(claims(), TEST_SECRET, algorithm="HS256"))
    assert principal.owner == "ops"


def test_token_without_scopes_is_a_principal_with_none():
    principal = SIGNER.verify(SIGNER.issue(subject="k", name="n", owner="o", scopes=frozenset()))
    assert principal.scopes == frozenset()
    assert not principal.has("catalog:read")


def test_expired_token_is_refused_as_expired():
    now = int(time.time())
    assert_refused(
        jwt.encode(claims(iat=now - 120, exp=now - 60), TEST_SECRET, algorithm="HS256"),
        "expired",
    )
    assert_refused(
        TokenSigner(TEST_SECRET, ttl_s=-5).issue(
            subject="k", name="n", owner="o", scopes=frozenset()
        ),
        "expired",
    )


def test_a_verified_token_is_remembered_until_it_expires_and_refused_after():
    signer = TokenSigner(TEST_SECRET)
    now = int(time.time())
    # Expiring at the next whole second but one, so the wait below stays under two seconds.
    token = jwt.encode(claims(iat=now, exp=now + 1), TEST_SECRET, algorithm="HS256")

    first = signer.verify(token)
    assert signer.verify(token) is first, "the second check is answered from memory"

    time.sleep(max(0.0, now + 1 - time.time()) + 0.05)
    assert_refused(token, "expired", signer=signer)


def test_only_tokens_that_verified_are_remembered_and_the_memory_is_bounded():
    signer = TokenSigner(TEST_SECRET)
    signer.VERIFIED_CACHE_SIZE = 3
    forged = jwt.encode(claims(), "another-secret-" + "z" * 40, algorithm="HS256")
    for _ in range(2):
        assert_refused(forged, signer=signer)
    tokens = [jwt.encode(claims(sub=f"key-{n}"), TEST_SECRET, algorithm="HS256") for n in range(5)]

    subjects = [signer.verify(token).subject for token in tokens]

    assert subjects == [f"key-{n}" for n in range(5)]
    assert list(signer._verified) == tokens[2:], "the oldest go first; no forged one is kept"


def test_token_from_another_secret_is_refused():
    token = TokenSigner("another-secret-" + "y" * 40).issue(
        subject="k", name="n", owner="o", scopes=frozenset({ADMIN})
    )
    assert_refused(token)


def test_tampered_payload_is_refused():
    token = SIGNER.issue(subject="k", name="n", owner="o", scopes=frozenset({"catalog:read"}))
    header, payload, signature = token.split(".")
    body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["scope"] = ADMIN
    forged = ".".join([header, b64url(orjson.dumps(body)), signature])
    assert_refused(forged)


def test_unsigned_alg_none_token_is_refused():
    header = b64url(orjson.dumps({"alg": "none", "typ": "JWT"}))
    payload = b64url(orjson.dumps(claims(scope=ADMIN)))
    assert_refused(f"{header}.{payload}.")
    assert_refused(f"{header}.{payload}.{b64url(b'sig')}")


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # PyJWT on HS384/HS512 key length
def test_other_algorithm_with_the_right_secret_is_refused():
    assert_refused(jwt.encode(claims(), TEST_SECRET, algorithm="HS512"))
    assert_refused(jwt.encode(claims(), TEST_SECRET, algorithm="HS384"))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss"])
def test_token_missing_a_required_claim_is_refused(missing):
    assert_refused(jwt.encode(claims(**{missing: None}), TEST_SECRET, algorithm="HS256"))


def test_token_from_another_issuer_is_refused():
    assert_refused(jwt.encode(claims(iss="someone-else"), TEST_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_token_is_refused(garbage):
    assert_refused(garbage)


def test_principal_has_its_scopes_and_admin_has_all():
    reader = Principal(subject="k", name="n", owner="o", scopes=frozenset({"catalog:read"}))
    assert reader.has("catalog:read")
    assert not reader.has("catalog:write")
    assert not reader.has(ADMIN)
    admin = Principal(subject="k", name="n", owner="o", scopes=frozenset({ADMIN}))
    assert admin.has("catalog:write")
    assert admin.has("pricing:approve")
    assert admin.has(ADMIN)


def test_require_refuses_unknown_scopes_at_import_time():
    with pytest.raises(ValueError, match="unknown scope nope"):
        require("nope")
    require("catalog:write")  # a known scope builds a dependency


def test_hash_secret_and_secret_matches():
    secret = "sk_" + "a" * 40
    stored = hash_secret(secret)
    assert stored == hash_secret(secret)
    assert len(stored) == 64
    assert int(stored, 16) >= 0
    assert secret not in stored
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "b", stored)
    assert not secret_matches("", stored)
    assert hash_secret("other") != stored


# --- Settings ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PRODUCTOPS_* variable from the outer environment leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("PRODUCTOPS_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("field", ["jwt_secret", "admin_key"])
def test_weak_secrets_are_refused(field, tmp_path):
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(data_dir=tmp_path, **{field: "s" * 31})
    assert getattr(Settings(data_dir=tmp_path, **{field: "s" * 32}), field) is not None


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("field", ["jwt_secret", "admin_key"])
def test_the_examples_placeholder_secrets_are_refused(field, tmp_path):
    example = Path(__file__).parents[2] / ".env.example"
    name = f"PRODUCTOPS_{field.upper()}="
    (placeholder,) = [
        line.removeprefix(name)
        for line in example.read_text().splitlines()
        if line.startswith(name)
    ]
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(data_dir=tmp_path, **{field: placeholder})


def test_weak_secret_from_the_environment_is_refused(clean_env, tmp_path):
    clean_env.setenv("PRODUCTOPS_JWT_SECRET", "short")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    expected = f"sqlite+aiosqlite:///{(tmp_path / 'catalog.db').resolve()}"
    assert settings.database_url("catalog") == expected
    assert settings.database_url("reports").endswith("/reports.db")


@pytest.mark.usefixtures("clean_env")
def test_relative_data_dir_gives_an_absolute_sqlite_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = Settings(data_dir=Path("var")).database_url("catalog")
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'var' / 'catalog.db'}"


@pytest.mark.usefixtures("clean_env")
def test_explicit_database_urls_win(tmp_path):
    pg = "postgresql+asyncpg://u@db:5432/catalog"
    settings = Settings(
        data_dir=tmp_path,
        catalog_database_url=pg,
        database_urls={
            "reports": "postgresql+asyncpg://u@db:5432/reports",
            "catalog": "postgresql+asyncpg://u@db:5432/ignored",
        },
    )
    assert settings.database_url("catalog") == pg, "the field beats the mapping"
    assert settings.database_url("reports") == "postgresql+asyncpg://u@db:5432/reports"
    assert settings.database_url("launch").startswith("sqlite+aiosqlite:///")


def test_database_urls_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("PRODUCTOPS_DATABASE_URLS", '{"reports": "postgresql+asyncpg://u@db/reports"}')
    clean_env.setenv("PRODUCTOPS_FEEDBACK_DATABASE_URL", "postgresql+asyncpg://u@db/feedback")
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url("reports") == "postgresql+asyncpg://u@db/reports"
    assert settings.database_url("feedback") == "postgresql+asyncpg://u@db/feedback"


@pytest.mark.usefixtures("clean_env")
def test_ports_and_base_urls(tmp_path):
    settings = Settings(data_dir=tmp_path)
    for component, port in DEFAULT_PORTS.items():
        assert settings.port(component) == port
    assert settings.base_url("catalog") == "http://127.0.0.1:8001"

    custom = Settings(data_dir=tmp_path, host="10.0.0.5", pricing_port=9004)
    assert custom.port("pricing") == 9004
    assert custom.base_url("pricing") == "http://10.0.0.5:9004"

    # A service without a settings field still gets a stable port clear of the defaults.
    extra = settings.port("reports")
    assert extra == Settings(data_dir=tmp_path).port("reports")
    assert 8010 <= extra < 8090
    assert extra not in DEFAULT_PORTS.values()
    assert settings.base_url("reports") == f"http://127.0.0.1:{extra}"


@pytest.mark.usefixtures("clean_env")
def test_base_url_calls_a_wildcard_host_on_loopback_and_honours_upstream_hosts(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        host="0.0.0.0",  # noqa: S104 - what a server listening everywhere is given
        upstream_hosts={"pricing": "pricing-svc"},
    )
    assert settings.base_url("catalog") == "http://127.0.0.1:8001"
    assert settings.base_url("pricing") == "http://pricing-svc:8004"


def test_settings_read_productops_env_vars(clean_env, tmp_path):
    clean_env.setenv("PRODUCTOPS_CATALOG_PORT", "9101")
    clean_env.setenv("PRODUCTOPS_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    clean_env.setenv("PRODUCTOPS_TOKEN_TTL_S", "120")
    settings = Settings(data_dir=tmp_path)
    assert settings.catalog_port == 9101
    assert settings.port("catalog") == 9101
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert not settings.embedded_broker
    assert settings.token_ttl_s == 120

    clean_env.setenv("PRODUCTOPS_CATALOG_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_embedded_broker_by_default(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_port=9999)
    assert settings.embedded_broker
    assert settings.bootstrap_servers == "127.0.0.1:9999"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("attribute", "filename"),
    [("signing_secret", "jwt.secret"), ("bootstrap_admin_key", "admin.key")],
)
def test_generated_secrets_are_made_once_and_kept_private(attribute, filename, tmp_path):
    data_dir = tmp_path / "nested" / "data"
    first = getattr(Settings(data_dir=data_dir), attribute)
    path = data_dir / filename
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert path.read_text(encoding="utf-8").strip() == first
    assert getattr(Settings(data_dir=data_dir), attribute) == first, "stable across processes"
    assert [p.name for p in data_dir.iterdir()] == [filename], "no temporary file left behind"


@pytest.mark.usefixtures("clean_env")
def test_secrets_from_the_environment_are_not_written_to_disk(tmp_path):
    settings = Settings(data_dir=tmp_path, jwt_secret=TEST_SECRET, admin_key="k" * 40)
    assert settings.signing_secret == TEST_SECRET
    assert settings.bootstrap_admin_key == "k" * 40
    assert list(tmp_path.iterdir()) == []
    assert TEST_SECRET not in repr(settings)


@pytest.mark.usefixtures("clean_env")
def test_a_generated_admin_key_can_follow_an_option_on_a_command_line(tmp_path):
    # A url-safe key could begin with "-", and `--api-key KEY` would then read as two options
    # (a stack test failed so once).
    for n in range(64):
        key = Settings(data_dir=tmp_path / str(n)).bootstrap_admin_key
        assert len(key) == 64
        assert set(key) <= set("0123456789abcdef")


@pytest.mark.usefixtures("clean_env")
def test_generated_signing_and_admin_secrets_differ(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.signing_secret != settings.bootstrap_admin_key
