"""Variants over HTTP: create, read, patch, lifecycle, the product's pull on them, and events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.catalog.events import registry
from shared.pagination import encode_cursor
from tests.catalog.conftest import (
    READ,
    WRITE,
    make_product,
    make_type,
    outbox_events,
    product_body,
    walk,
)
from tests.support import assert_problem, auth

MISSING = "0190f0e8-0000-7000-8000-000000000000"


@pytest.fixture
async def product(client: httpx.AsyncClient) -> dict[str, Any]:
    """A tee whose type requires material, colour and size; the product has no size."""
    await make_type(client, "tee", ("material", "colour", "size"))
    return await make_product(
        client,
        sku="TEE-1",
        name="Tee",
        product_type="tee",
        description="Soft cotton.",
        attributes={"material": "cotton", "colour": "white", "fit": "regular"},
    )


def variant_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": "TEE-1-L-RED", "axes": {"size": "L", "colour": "red"}}
    body.update(overrides)
    return body


async def make_variant(
    client: httpx.AsyncClient, product_id: str, **overrides: Any
) -> dict[str, Any]:
    resp = await client.post(
        f"/v1/products/{product_id}/variants", json=variant_body(**overrides), headers=WRITE
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def move(
    client: httpx.AsyncClient, path: str, to: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(f"{path}/lifecycle", json={"to": to}, headers=headers or WRITE)


# --- create and read ---------------------------------------------------------------------------


async def test_create_and_read_a_variant(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    body = variant_body(sku=" TEE-1-L-RED ", attributes={"fit": "slim", "weight_g": 180})
    resp = await client.post(url, json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    variant = resp.json()
    assert resp.headers["Location"] == f"{url}/{variant['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert variant["product_id"] == product["id"]
    assert variant["sku"] == "TEE-1-L-RED"
    assert variant["axes"] == {"colour": "red", "size": "L"}
    assert variant["attributes"] == {"fit": "slim", "weight_g": 180}
    assert variant["effective_attributes"] == {
        "material": "cotton",
        "colour": "red",
        "fit": "slim",
        "size": "L",
        "weight_g": 180,
    }
    # The size axis fills in what the product lacks.
    assert variant["completeness"] == {"score": 100, "missing": []}
    assert product["completeness"]["missing"] == ["attributes.size"]
    assert variant["lifecycle"] == "draft"
    assert variant["version"] == 1
    assert variant["created_at"].endswith("Z")

    fetched = await client.get(resp.headers["Location"], headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == variant
    assert fetched.headers["ETag"] == '"1"'
    # The product itself is untouched.
    assert (await client.get(f"/v1/products/{product['id']}", headers=READ)).json() == product


async def test_list_variants_pages_and_filters_by_lifecycle(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    made = [
        await make_variant(client, product["id"], sku=f"TEE-{size}", axes={"size": size})
        for size in ("XS", "S", "M", "L", "XL")
    ]
    other = await make_product(client, sku="TEE-2", product_type="tee")
    await make_variant(client, other["id"], sku="TEE-2-S", axes={"size": "S"})
    url = f"/v1/products/{product['id']}/variants"
    assert await walk(client, url, limit=2) == made
    assert (await move(client, f"/v1/products/{product['id']}", "incoming")).is_success
    await move(client, f"{url}/{made[1]['id']}", "incoming")
    await move(client, f"{url}/{made[3]['id']}", "discontinued")
    incoming = await walk(client, url, lifecycle="incoming")
    assert [v["sku"] for v in incoming] == ["TEE-S"]
    drafts = await walk(client, url, limit=1, lifecycle="draft")
    assert [v["sku"] for v in drafts] == ["TEE-XS", "TEE-M", "TEE-XL"]
    empty = await make_product(client, sku="TEE-3", product_type="tee")
    assert await walk(client, f"/v1/products/{empty['id']}/variants") == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"lifecycle": "retired"}, "query.lifecycle"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"cursor": "!!"}, "cursor is malformed"),
        ({"cursor": encode_cursor([7])}, "cursor is malformed"),
    ],
)
async def test_invalid_variant_queries_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], params: dict[str, Any], detail: str
) -> None:
    resp = await client.get(f"/v1/products/{product['id']}/variants", params=params, headers=READ)
    assert_problem(resp, 422, detail_has=detail)


async def test_unknown_products_and_variants_are_not_found(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    base = f"/v1/products/{MISSING}/variants"
    assert_problem(await client.post(base, json=variant_body(), headers=WRITE), 404)
    assert_problem(await client.get(base, headers=READ), 404, detail_has="no product with id")
    assert_problem(await client.get(f"{base}/v1", headers=READ), 404)
    assert_problem(await client.patch(f"{base}/v1", json={}, headers=WRITE), 404)
    assert_problem(await move(client, f"{base}/v1", "incoming"), 404)

    variant = await make_variant(client, product["id"])
    other = await make_product(client, sku="TEE-2", product_type="tee")
    # A variant is only found under its own product.
    wrong = f"/v1/products/{other['id']}/variants/{variant['id']}"
    assert_problem(await client.get(wrong, headers=READ), 404, detail_has="has no variant")
    assert_problem(await client.patch(wrong, json={"attributes": {"a": 1}}, headers=WRITE), 404)
    assert_problem(await move(client, wrong, "discontinued"), 404)


# --- create errors -----------------------------------------------------------------------------


async def test_sku_is_unique_across_products_and_variants(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    # A product's SKU.
    resp = await client.post(url, json=variant_body(sku="TEE-1"), headers=WRITE)
    problem = assert_problem(resp, 409, detail_has="a product with SKU 'TEE-1' already exists")
    assert problem["product_id"] == product["id"]
    # Another variant's SKU, on this product or another.
    first = await make_variant(client, product["id"])
    resp = await client.post(
        url, json=variant_body(axes={"size": "S", "colour": "red"}), headers=WRITE
    )
    problem = assert_problem(resp, 409, detail_has="a variant with SKU 'TEE-1-L-RED'")
    assert problem["variant_id"] == first["id"]
    assert problem["product_id"] == product["id"]
    other = await make_product(client, sku="TEE-2", product_type="tee")
    resp = await client.post(
        f"/v1/products/{other['id']}/variants", json=variant_body(), headers=WRITE
    )
    assert_problem(resp, 409, detail_has="a variant with SKU")
    # And a new product cannot take a variant's SKU either.
    resp = await client.post(
        "/v1/products", json=product_body(sku="TEE-1-L-RED", product_type="tee"), headers=WRITE
    )
    problem = assert_problem(resp, 409, detail_has="a variant with SKU 'TEE-1-L-RED'")
    assert problem["variant_id"] == first["id"]


async def test_axis_values_are_unique_within_a_product(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    await make_variant(client, product["id"])
    url = f"/v1/products/{product['id']}/variants"
    body = variant_body(sku="TEE-OTHER", axes={"colour": "Red", "size": " l "})
    problem = assert_problem(
        await client.post(url, json=body, headers=WRITE),
        409,
        detail_has="already has a variant with colour=red, size=L",
    )
    assert problem["axes"] == {"colour": "red", "size": "L"}
    # Same values on another product are fine.
    other = await make_product(client, sku="TEE-2", product_type="tee")
    await make_variant(client, other["id"], sku="TEE-2-L-RED")


async def test_variants_of_a_product_share_their_axes(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    await make_variant(client, product["id"])
    url = f"/v1/products/{product['id']}/variants"
    resp = await client.post(url, json=variant_body(sku="T-2", axes={"size": "S"}), headers=WRITE)
    problem = assert_problem(resp, 409, detail_has="variants vary by colour, size")
    assert problem["axes"] == ["colour", "size"]


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"sku": None}, "body.sku"),
        ({"sku": "bad sku!"}, "invalid SKU"),
        ({"axes": None}, "body.axes"),
        ({"axes": {}}, "at least one axis value"),
        ({"axes": ["size"]}, "body.axes"),
        ({"axes": {"size": 42}}, "body.axes.size"),
        ({"axes": {"size": ""}}, "cannot be empty"),
        ({"axes": {"1size": "L"}}, "invalid axis name"),
        ({"axes": {f"a{i}": "x" for i in range(6)}}, "at most 5 axes"),
        ({"axes": {"size": "L" * 101}}, "at most 100 characters"),
        ({"attributes": {"bad key": 1}}, "body.attributes"),
        ({"attributes": "slim"}, "body.attributes"),
        ({"attributes": {f"a{i}": i for i in range(201)}}, "body.attributes"),
        ({"lifecycle": "active"}, "body.lifecycle: Extra inputs"),
        ({"version": 3}, "body.version: Extra inputs"),
    ],
)
async def test_invalid_variant_bodies_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], overrides: dict[str, Any], detail: str
) -> None:
    body = {k: v for k, v in variant_body(**overrides).items() if v is not None}
    url = f"/v1/products/{product['id']}/variants"
    problem = assert_problem(
        await client.post(url, json=body, headers=WRITE), 422, detail_has=detail
    )
    assert problem["errors"]
    assert await walk(client, url) == []


@pytest.mark.parametrize(
    ("attributes", "detail", "loc"),
    [
        ({"size": "XL"}, "attributes.size is an axis", ["body", "attributes", "size"]),
        ({"fit": None}, "override 'fit' is null", ["body", "attributes", "fit"]),
    ],
)
async def test_overrides_cannot_contradict_axes_or_be_null(
    client: httpx.AsyncClient,
    product: dict[str, Any],
    attributes: dict[str, Any],
    detail: str,
    loc: list[str],
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    resp = await client.post(url, json=variant_body(attributes=attributes), headers=WRITE)
    problem = assert_problem(resp, 422, detail_has=detail)
    assert problem["errors"][0]["loc"] == loc


async def test_a_discontinued_product_takes_no_new_variants(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    await move(client, f"/v1/products/{product['id']}", "discontinued")
    resp = await client.post(
        f"/v1/products/{product['id']}/variants", json=variant_body(), headers=WRITE
    )
    problem = assert_problem(resp, 409, detail_has="cannot add a variant to a discontinued")
    assert problem["product_lifecycle"] == "discontinued"


async def test_idempotent_variant_create_replays(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    headers = {**WRITE, "Idempotency-Key": "variant-1"}
    first = await client.post(url, json=variant_body(), headers=headers)
    again = await client.post(url, json=variant_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await walk(client, url)) == 1


async def test_concurrent_creates_of_one_sku_make_one_thing(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    calls = [
        client.post(url, json=variant_body(sku="RACE", axes={"size": s}), headers=WRITE)
        for s in ("S", "M", "L")
    ] + [
        client.post(
            "/v1/products", json=product_body(sku="RACE", product_type="tee"), headers=WRITE
        )
        for _ in range(3)
    ]
    responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    for resp in responses:
        if resp.status_code == 409:
            assert_problem(resp, 409, detail_has="SKU 'RACE' already exists")


async def test_concurrent_creates_of_one_axis_value_make_one_variant(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/variants"
    responses = await asyncio.gather(
        *(
            client.post(url, json=variant_body(sku=f"T-{i}", axes={"size": "L"}), headers=WRITE)
            for i in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 4
    assert len(await walk(client, url)) == 1


# --- completeness follows the product ----------------------------------------------------------


async def test_variant_completeness_follows_product_changes(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"], attributes={"fit": "slim"})
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    assert variant["completeness"] == {"score": 100, "missing": []}

    # The product loses its description and material: the variant's completeness follows.
    patched = await client.patch(
        f"/v1/products/{product['id']}",
        json={"description": None, "attributes": {"material": None, "fit": "loose"}},
        headers=WRITE,
    )
    assert patched.status_code == 200, patched.text
    fetched = (await client.get(url, headers=READ)).json()
    assert fetched["completeness"] == {
        "score": 67,
        "missing": ["description", "attributes.material"],
    }
    # The override still wins over the product's new value.
    assert fetched["effective_attributes"]["fit"] == "slim"
    assert fetched["version"] == 1

    # Another product type with other required attributes.
    await make_type(client, "shirt", ("collar",))
    await client.patch(
        f"/v1/products/{product['id']}", json={"product_type": "shirt"}, headers=WRITE
    )
    listed = await walk(client, f"/v1/products/{product['id']}/variants")
    assert listed[0]["completeness"] == {
        "score": 50,
        "missing": ["description", "attributes.collar"],
    }


# --- patch -------------------------------------------------------------------------------------


async def test_patch_merges_axes_and_overrides(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"], attributes={"fit": "slim", "w": 1})
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    resp = await client.patch(
        url,
        json={"axes": {"size": "XL"}, "attributes": {"w": None, "material": ""}},
        headers={**WRITE, "If-Match": '"1"'},
    )
    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert resp.headers["ETag"] == '"2"'
    assert patched["version"] == 2
    assert patched["axes"] == {"colour": "red", "size": "XL"}
    assert patched["attributes"] == {"fit": "slim", "material": ""}
    assert patched["completeness"] == {"score": 83, "missing": ["attributes.material"]}
    assert patched["updated_at"] > variant["updated_at"]
    assert (await client.get(url, headers=READ)).json() == patched

    # null attributes clears every override.
    resp = await client.patch(url, json={"attributes": None}, headers=WRITE)
    assert resp.json()["attributes"] == {}
    assert resp.json()["version"] == 3


async def test_patch_that_changes_nothing_bumps_nothing(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"], attributes={"fit": "slim"})
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    for body in (
        {},
        {"axes": {"size": " L "}},
        {"attributes": {"fit": "slim", "absent": None}},
    ):
        resp = await client.patch(url, json=body, headers={**WRITE, "If-Match": "1"})
        assert resp.status_code == 200, resp.text
        assert resp.json() == variant


async def test_patch_with_stale_version_fails(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"])
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    assert (await client.patch(url, json={"attributes": {"a": 1}}, headers=WRITE)).is_success
    resp = await client.patch(
        url, json={"attributes": {"a": 2}}, headers={**WRITE, "If-Match": "1"}
    )
    problem = assert_problem(resp, 412, detail_has="version 2, not 1")
    assert problem["current_version"] == 2
    resp = await client.patch(
        url, json={"attributes": {"a": 2}}, headers={**WRITE, "If-Match": "x"}
    )
    assert_problem(resp, 422, detail_has="If-Match")
    assert (await client.get(url, headers=READ)).json()["attributes"] == {"a": 1}


async def test_patch_respects_the_axis_rules(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    first = await make_variant(client, product["id"])
    second = await make_variant(
        client, product["id"], sku="T-2", axes={"size": "M", "colour": "red"}
    )
    url = f"/v1/products/{product['id']}/variants/{second['id']}"
    resp = await client.patch(url, json={"axes": {"size": "l"}}, headers=WRITE)
    assert_problem(resp, 409, detail_has="already has a variant with colour=red, size=L")
    resp = await client.patch(url, json={"axes": {"colour": None}}, headers=WRITE)
    assert_problem(resp, 409, detail_has="variants vary by colour, size")
    resp = await client.patch(url, json={"axes": {"size": None, "colour": None}}, headers=WRITE)
    assert_problem(resp, 422, detail_has="at least one axis value")
    resp = await client.patch(url, json={"attributes": {"colour": "blue"}}, headers=WRITE)
    assert_problem(resp, 422, detail_has="attributes.colour is an axis")
    # A variant may move to axis values no sibling has.
    assert (await client.patch(url, json={"axes": {"size": "S"}}, headers=WRITE)).is_success
    assert (await client.get(url, headers=READ)).json()["axes"] == {"colour": "red", "size": "S"}
    first_url = f"/v1/products/{product['id']}/variants/{first['id']}"
    assert (await client.get(first_url, headers=READ)).json() == first


async def test_the_only_variant_may_change_its_axes(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"])
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    resp = await client.patch(url, json={"axes": {"colour": None, "fit": "slim"}}, headers=WRITE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["axes"] == {"fit": "slim", "size": "L"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"sku": "NEW"}, "sku cannot be patched"),
        ({"lifecycle": "active"}, "lifecycle cannot be patched: use POST"),
        ({"version": 4}, "version cannot be patched"),
        ({"product_id": "p"}, "product_id cannot be patched"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"axes": None}, "axes cannot be null"),
        ({"axes": {"size": 3}}, "body.axes.size"),
        ({"axes": "L"}, "body.axes"),
        ({"attributes": {"bad key": 1}}, "body.attributes"),
    ],
)
async def test_invalid_variant_patches_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], body: dict[str, Any], detail: str
) -> None:
    variant = await make_variant(client, product["id"])
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    assert_problem(await client.patch(url, json=body, headers=WRITE), 422, detail_has=detail)
    assert (await client.get(url, headers=READ)).json() == variant


async def test_patch_cannot_exceed_the_override_cap(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"], attributes={f"a{i}": i for i in range(150)})
    url = f"/v1/products/{product['id']}/variants/{variant['id']}"
    resp = await client.patch(
        url, json={"attributes": {f"b{i}": i for i in range(100)}}, headers=WRITE
    )
    problem = assert_problem(resp, 422, detail_has="at most 200 attribute overrides")
    assert problem["field"] == "attributes"


# --- lifecycle ---------------------------------------------------------------------------------


async def test_a_variant_moves_behind_its_product(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"])
    purl = f"/v1/products/{product['id']}"
    vurl = f"{purl}/variants/{variant['id']}"
    problem = assert_problem(
        await move(client, vurl, "incoming"),
        409,
        detail_has="cannot be incoming while its product is draft",
    )
    assert problem["product_lifecycle"] == "draft"
    assert (await move(client, purl, "incoming")).is_success

    resp = await client.post(
        f"{vurl}/lifecycle", json={"to": "incoming"}, headers={**WRITE, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["lifecycle"] == "incoming"
    assert resp.json()["version"] == 2
    assert resp.headers["ETag"] == '"2"'
    assert_problem(
        await move(client, vurl, "active"), 409, detail_has="active while its product is incoming"
    )
    assert (await move(client, purl, "active")).is_success
    resp = await move(client, vurl, "active")
    assert resp.status_code == 200, resp.text
    assert resp.json()["lifecycle"] == "active"
    assert resp.json()["version"] == 3
    # The product's own version is not touched by its variants.
    assert (await client.get(purl, headers=READ)).json()["version"] == 3


async def test_variant_lifecycle_errors(client: httpx.AsyncClient, product: dict[str, Any]) -> None:
    variant = await make_variant(client, product["id"])
    vurl = f"/v1/products/{product['id']}/variants/{variant['id']}"
    problem = assert_problem(
        await move(client, vurl, "draft"), 409, detail_has="cannot move a variant from draft"
    )
    assert problem["allowed"] == ["incoming", "discontinued"]
    stale = await client.post(
        f"{vurl}/lifecycle", json={"to": "discontinued"}, headers={**WRITE, "If-Match": "5"}
    )
    assert_problem(stale, 412, detail_has="version 1, not 5")
    for body, detail in (
        ({"to": "gone"}, "body.to"),
        ({}, "body.to"),
        ({"to": "draft", "x": 1}, "body.x"),
    ):
        resp = await client.post(f"{vurl}/lifecycle", json=body, headers=WRITE)
        assert_problem(resp, 422, detail_has=detail)
    assert (await client.get(vurl, headers=READ)).json() == variant
    # Discontinued on its own, and terminal.
    assert (await move(client, vurl, "discontinued")).is_success
    assert_problem(
        await move(client, vurl, "incoming"), 409, detail_has="allowed from discontinued: none"
    )


async def test_a_rejected_product_keeps_its_variants_out_of_active(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    purl = f"/v1/products/{product['id']}"
    variant = await make_variant(client, product["id"])
    vurl = f"{purl}/variants/{variant['id']}"
    await move(client, purl, "incoming")
    await move(client, vurl, "incoming")
    await move(client, purl, "active")
    case = {"stance": "against", "summary": "Recalls."}
    assert (await client.post(f"{purl}/cases", json=case, headers=WRITE)).is_success
    decision = {"outcome": "reject", "rationale": "Recall risk."}
    assert (await client.post(f"{purl}/decision", json=decision, headers=WRITE)).is_success
    problem = assert_problem(
        await move(client, vurl, "active"), 409, detail_has="cannot make the variant active"
    )
    assert problem["decision"]["outcome"] == "reject"
    assert problem["decision"]["rationale"] == "Recall risk."


async def test_discontinuing_the_product_discontinues_its_variants(
    app: FastAPI, client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    purl = f"/v1/products/{product['id']}"
    sizes = ("S", "M", "L")
    made = [
        await make_variant(client, product["id"], sku=f"T-{s}", axes={"size": s}) for s in sizes
    ]
    await move(client, purl, "incoming")
    await move(client, f"{purl}/variants/{made[1]['id']}", "incoming")
    await move(client, f"{purl}/variants/{made[2]['id']}", "discontinued")
    other = await make_product(client, sku="TEE-2", product_type="tee")
    bystander = await make_variant(client, other["id"], sku="T2-S", axes={"size": "S"})

    resp = await move(client, purl, "discontinued")
    assert resp.status_code == 200, resp.text
    after = await walk(client, f"{purl}/variants")
    assert [(v["lifecycle"], v["version"]) for v in after] == [
        ("discontinued", 2),
        ("discontinued", 3),
        ("discontinued", 2),  # already discontinued: untouched
    ]
    untouched = f"/v1/products/{other['id']}/variants/{bystander['id']}"
    assert (await client.get(untouched, headers=READ)).json() == bystander

    events = await outbox_events(app)
    product_moved = next(
        i
        for i, e in enumerate(events)
        if e.type == "catalog.product.lifecycle_changed.v1" and e.data["to"] == "discontinued"
    )
    followers = events[product_moved + 1 :]
    assert [e.type for e in followers] == ["catalog.variant.lifecycle_changed.v1"] * 2
    assert [e.data for e in followers] == [
        {
            "variant_id": made[0]["id"],
            "product_id": product["id"],
            "sku": "T-S",
            "from": "draft",
            "to": "discontinued",
            "version": 2,
            "reason": "product_discontinued",
        },
        {
            "variant_id": made[1]["id"],
            "product_id": product["id"],
            "sku": "T-M",
            "from": "incoming",
            "to": "discontinued",
            "version": 3,
            "reason": "product_discontinued",
        },
    ]
    assert all(e.subject == product["id"] and e.sequence is None for e in followers)


# --- events ------------------------------------------------------------------------------------


async def test_variant_changes_write_their_events(
    app: FastAPI, client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    variant = await make_variant(client, product["id"], attributes={"fit": "slim"})
    vurl = f"/v1/products/{product['id']}/variants/{variant['id']}"
    patch = {"axes": {"size": "XL"}, "attributes": {"fit": None, "material": "linen"}}
    assert (await client.patch(vurl, json=patch, headers=WRITE)).is_success
    assert (await client.patch(vurl, json={}, headers=WRITE)).is_success  # no change, no event
    assert (await move(client, vurl, "incoming")).status_code == 409  # refused, no event
    assert (await move(client, vurl, "discontinued")).is_success

    events = [e for e in await outbox_events(app) if e.type.startswith("catalog.variant.")]
    assert [e.type for e in events] == [
        "catalog.variant.created.v1",
        "catalog.variant.updated.v1",
        "catalog.variant.lifecycle_changed.v1",
    ]
    for event in events:
        assert event.source == "/catalog"
        assert event.subject == product["id"]
        assert event.sequence is None
        assert event.type in registry
        registry.payload(event)
    created, updated, moved = events
    assert created.data == {
        "variant_id": variant["id"],
        "product_id": product["id"],
        "sku": "TEE-1-L-RED",
        "axes": {"colour": "red", "size": "L"},
        "attributes": {"fit": "slim"},
        "lifecycle": "draft",
        "completeness": {"score": 100, "missing": []},
        "version": 1,
        "created_at": variant["created_at"],
    }
    assert updated.data == {
        "variant_id": variant["id"],
        "product_id": product["id"],
        "sku": "TEE-1-L-RED",
        "version": 2,
        "changes": [
            {"field": "attributes.fit", "old": "slim", "new": None},
            {"field": "attributes.material", "old": None, "new": "linen"},
            {"field": "axes.size", "old": "L", "new": "XL"},
        ],
        "completeness": {"score": 100, "missing": []},
    }
    assert moved.data == {
        "variant_id": variant["id"],
        "product_id": product["id"],
        "sku": "TEE-1-L-RED",
        "from": "draft",
        "to": "discontinued",
        "version": 3,
        "reason": "requested",
    }


# --- auth --------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/products/p1/variants", None, "catalog:read"),
    ("GET", "/v1/products/p1/variants/v1", None, "catalog:read"),
    ("POST", "/v1/products/p1/variants", variant_body(), "catalog:write"),
    ("PATCH", "/v1/products/p1/variants/v1", {"attributes": {"a": 1}}, "catalog:write"),
    ("POST", "/v1/products/p1/variants/v1/lifecycle", {"to": "incoming"}, "catalog:write"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_every_route_checks_the_caller(
    client: httpx.AsyncClient, method: str, path: str, body: Any, scope: str
) -> None:
    async def call(headers: dict[str, str] | None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=headers)

    assert_problem(await call(None), 401, detail_has="Authorization: Bearer")
    other = "catalog:write" if scope == "catalog:read" else "catalog:read"
    problem = assert_problem(await call(auth(other)), 403, detail_has=scope)
    assert problem["required_scope"] == scope
    # Past auth, the product p1 does not exist.
    assert_problem(await call(auth("admin")), 404, detail_has="'p1'")
