"""Finding 10 of issue 12: the bootstrap admin key is a key like any other once used
(listed, revocable once another admin key exists), rotated by giving a new one, printed
only when generated; the data directory is 0700 and its databases, secrets and logs 0600."""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway import keys
from gateway.app import create_app
from shared.settings import Settings
from shared.stack.process import ChildProcess
from tests.stack.helpers import wait_until
from tests.stack.test_supervisor import COMPONENTS, Stack
from tests.support import assert_problem, auth, running

ROTATED = "rotated-admin-key-" + "r" * 40


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def token_for(gateway: httpx.AsyncClient, api_key: str) -> httpx.Response:
    return await gateway.post("/v1/auth/token", json={"api_key": api_key})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_bootstrap_key_is_revocable_once_another_admin_key_exists(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    bootstrap_id = keys.bootstrap_id(settings.bootstrap_admin_key)
    async with running(create_app(settings, services=[])) as gateway:
        first = (await token_for(gateway, settings.bootstrap_admin_key)).json()["access_token"]
        listed = (await gateway.get("/v1/api-keys", headers=bearer(first))).json()["items"]
        assert [(k["id"], k["name"], k["scopes"]) for k in listed] == [
            (bootstrap_id, "bootstrap admin", ["admin"])
        ]

        alone = await gateway.delete(f"/v1/api-keys/{bootstrap_id}", headers=bearer(first))
        assert_problem(alone, 409, detail_has="only admin key")

        made = await gateway.post(
            "/v1/api-keys",
            json={"name": "ops admin", "owner": "pat", "scopes": ["admin"]},
            headers=bearer(first),
        )
        real = (await token_for(gateway, made.json()["api_key"])).json()["access_token"]
        revoked = await gateway.delete(f"/v1/api-keys/{bootstrap_id}", headers=bearer(real))
        assert revoked.status_code == 204

        exchanged = await token_for(gateway, settings.bootstrap_admin_key)
        assert_problem(exchanged, 401, detail_has=keys.INVALID_KEY)
        earlier = await gateway.get("/v1/api-keys", headers=bearer(first))
        assert_problem(earlier, 401, detail_has="revoked")


async def test_a_new_bootstrap_key_is_a_new_key_and_the_old_one_stays_revoked(
    make_settings: Callable[..., Settings],
) -> None:
    old = make_settings()
    async with running(create_app(old, services=[])) as gateway:
        admin = (await token_for(gateway, old.bootstrap_admin_key)).json()["access_token"]
        made = await gateway.post(
            "/v1/api-keys",
            json={"name": "ops admin", "owner": "pat", "scopes": ["admin"]},
            headers=bearer(admin),
        )
        assert made.status_code == 201
        old_id = keys.bootstrap_id(old.bootstrap_admin_key)
        assert (
            await gateway.delete(f"/v1/api-keys/{old_id}", headers=bearer(admin))
        ).status_code == 204

    # The operator sets a new PRODUCTOPS_ADMIN_KEY (or deletes admin.key) and restarts.
    async with running(create_app(make_settings(admin_key=ROTATED), services=[])) as gateway:
        fresh = await token_for(gateway, ROTATED)
        stale = await token_for(gateway, old.bootstrap_admin_key)

    assert fresh.status_code == 200, fresh.text
    assert keys.bootstrap_id(ROTATED) != old_id
    assert_problem(stale, 401, detail_has=keys.INVALID_KEY)


async def test_a_bootstrap_key_is_revocable_before_its_first_use(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    async with running(create_app(settings, services=[])) as gateway:
        # An admin key made by someone else (here: a token signed with the shared secret).
        made = await gateway.post(
            "/v1/api-keys",
            json={"name": "ops admin", "owner": "pat", "scopes": ["admin"]},
            headers=auth("admin"),
        )
        real = (await token_for(gateway, made.json()["api_key"])).json()["access_token"]
        unused = keys.bootstrap_id(settings.bootstrap_admin_key)

        revoked = await gateway.delete(f"/v1/api-keys/{unused}", headers=bearer(real))
        exchanged = await token_for(gateway, settings.bootstrap_admin_key)

    assert revoked.status_code == 204
    assert_problem(exchanged, 401, detail_has=keys.INVALID_KEY)


async def test_the_data_dir_is_0700_and_its_databases_and_secrets_0600(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    data_dir = tmp_path / "fresh" / "var"
    settings = make_settings(data_dir=data_dir, admin_key=None, jwt_secret=None)
    async with running(create_app(settings, services=[])) as gateway:
        answer = await token_for(gateway, settings.bootstrap_admin_key)
        assert answer.status_code == 200

    assert mode(data_dir) == 0o700
    for name in ("admin.key", "jwt.secret", "gateway.db"):
        assert mode(data_dir / name) == 0o600, name
    for sidecar in data_dir.glob("gateway.db-*"):
        assert mode(sidecar) == 0o600, sidecar.name


def test_a_component_log_is_created_0600(tmp_path: Path) -> None:
    child = ChildProcess(
        "noop", [sys.executable, "-c", "print('hello')"], log_path=tmp_path / "noop.log", env={}
    )
    child.start()
    wait_until(lambda: child.exit_code() is not None, 30, "the child to exit")

    assert mode(tmp_path / "noop.log") == 0o600
    assert "hello" in (tmp_path / "noop.log").read_text()


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Callable[[], Stack]]:
    made: list[Stack] = []

    def make() -> Stack:
        made.append(Stack(tmp_path, ",".join(COMPONENTS)))
        return made[-1]

    yield make
    for stack in made:
        stack.kill_all()


@pytest.mark.stack
def test_the_admin_key_is_printed_only_when_generated(stacks: Callable[[], Stack]) -> None:
    first = stacks()
    first.wait_for_output("ProductOps is up")
    key = (first.data_dir / "admin.key").read_text().strip()
    assert f"admin key  {key} (generated now)" in first.output
    assert first.stop() == 0, first.output

    again = stacks()
    again.wait_for_output("ProductOps is up")
    assert key not in again.output
    assert f"key file   {again.data_dir / 'admin.key'}" in again.output
    assert again.stop() == 0, again.output

    logs = again.data_dir / "logs"
    assert mode(again.data_dir) == mode(logs) == 0o700
    assert {mode(log) for log in logs.iterdir()} == {0o600}
    assert mode(again.data_dir / "admin.key") == 0o600
