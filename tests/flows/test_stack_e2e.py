"""The README's walk-through, for real: `productops up`, then curl-like calls via the gateway.

Broker, catalog and gateway run as separate processes, exactly as `make run` starts them.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.broker import free_port
from tests.stack.helpers import ROOT, alive, processes_mentioning, project_env, wait_until

pytestmark = pytest.mark.stack


def test_product_type_and_product_through_the_gateway_with_events(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    ports = {name: free_port() for name in ("gateway", "catalog", "broker")}
    env = project_env(
        PRODUCTOPS_DATA_DIR=str(data_dir),
        PRODUCTOPS_BROKER_PORT=str(ports["broker"]),
        PRODUCTOPS_GATEWAY_PORT=str(ports["gateway"]),
        PRODUCTOPS_CATALOG_PORT=str(ports["catalog"]),
    )
    out_path = tmp_path / "up.out"
    with out_path.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "shared.stack", "up", "--ready-timeout", "90"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:
        wait_until(
            lambda: "ProductOps is up" in out_path.read_text() or stack.poll() is not None,
            120,
            "the stack banner",
        )
        banner = out_path.read_text()
        assert stack.poll() is None, banner
        admin_key = (data_dir / "admin.key").read_text().strip()
        assert admin_key in banner, "the banner shows the admin key"
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        assert f"{gateway}/dashboard" in banner, "the banner links the ops dashboard"

        with httpx.Client(base_url=gateway, timeout=10, trust_env=False) as http:
            assert http.get("/dashboard").status_code == 200
            token = http.post("/v1/auth/token", json={"api_key": admin_key})
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            kind = http.post(
                "/v1/catalog/product-types",
                headers=headers,
                json={
                    "code": "kettle",
                    "name": "Electric kettle",
                    "required_attributes": ["capacity_l", "wattage"],
                },
            )
            assert kind.status_code == 201, kind.text
            made = http.post(
                "/v1/catalog/products",
                headers=headers,
                json={
                    "sku": "KT-100",
                    "name": "Kettle 100",
                    "product_type": "kettle",
                    "brand": "Acme",
                    "attributes": {"capacity_l": 1.7},
                    "cost": {"amount": "12.40", "currency": "EUR"},
                },
            )
            assert made.status_code == 201, made.text
            product = made.json()
            assert product["completeness"] == {
                "score": 60,
                "missing": ["description", "attributes.wattage"],
            }
            assert product["lifecycle"] == "draft"
            listed = http.get("/v1/catalog/products", params={"q": "kettle"}, headers=headers)
            assert [p["sku"] for p in listed.json()["items"]] == ["KT-100"]

        tail = subprocess.run(
            [
                sys.executable,
                "-m",
                "shared.stack",
                "events",
                "tail",
                "catalog.events",
                "--from-beginning",
                "--max",
                "2",
                "--timeout",
                "30",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "catalog.product_type.created.v1 subject=kettle" in tail.stdout
        assert f"catalog.product.created.v1 subject={product['id']}" in tail.stdout

        stack.send_signal(signal.SIGTERM)
        assert stack.wait(60) == 0, out_path.read_text()
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait(10)
    reported = [int(pid) for pid in re.findall(r"pid=(\d+)", out_path.read_text())]
    assert reported, "the supervisor reports the pids it started"
    assert not [pid for pid in reported if alive(pid)], "no orphan process"
    assert not processes_mentioning(str(data_dir))
