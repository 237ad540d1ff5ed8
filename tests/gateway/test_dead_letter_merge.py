"""The merged dead-letter list's paging without I/O: services' lists held in memory and paged
as the services page them, so every mix of consumer letters and parked events, every page
size and a service down for a while can be walked (the real processes: test_dead_letters)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pytest

from gateway.upstream import Answer, Failure, Outcome, ServiceCalls, Trouble
from gateway.views.dead_letters import MergedDeadLetters, Source, merged_dead_letters
from shared.dead_letters import LETTERS
from shared.pagination import decode_cursor
from shared.parked import PARKED_ROWS

BOTH = [Source.CONSUMER, Source.OUTBOX]


class ServiceLists(ServiceCalls):
    """Each service's dead letters (ids) and parked events ((seq, id)), answered as its
    `GET /v1/dead-letters` answers: newest first, after the cursor's key, `limit` at most.
    A service in `down` does not answer."""

    def __init__(
        self, letters: Mapping[str, list[str]], parked: Mapping[str, list[tuple[int, str]]]
    ) -> None:
        self.letters = letters
        self.parked = parked
        self.down: set[str] = set()

    async def get(
        self,
        service: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        credentials: bool = True,
        also_ok: Collection[int] = (),
    ) -> Outcome:
        assert path == "/v1/dead-letters"
        assert params is not None
        if service in self.down:
            return Failure(service, Trouble.TIMEOUT)
        limit = int(params["limit"])
        position = decode_cursor(str(params["cursor"])) if "cursor" in params else None
        after = position[1] if position else None
        if params["source"] == Source.CONSUMER:
            ids = sorted(self.letters.get(service, []), reverse=True)
            rows: list[dict[str, str | int]] = [
                {"id": i, "source": "consumer"} for i in ids if after is None or i < after
            ]
            keys = [row["id"] for row in rows]
            keyset = LETTERS
        else:
            held = sorted(self.parked.get(service, []), reverse=True)
            rows = [
                {"id": i, "seq": seq, "source": "outbox"}
                for seq, i in held
                if after is None or seq < after
            ]
            keys = [row["seq"] for row in rows]
            keyset = PARKED_ROWS
        more = len(rows) > limit
        return Answer(
            service,
            {
                "items": rows[:limit],
                "next_cursor": keyset.cursor_at(keys[limit - 1]) if more else None,
            },
        )


SERVICES = ["catalog", "feedback", "launch"]


async def page(
    calls: ServiceLists, limit: int, cursor: str | None, sources: list[Source] = BOTH
) -> MergedDeadLetters:
    return await merged_dead_letters(
        calls=calls, services=SERVICES, sources=sources, filters={}, limit=limit, cursor=cursor
    )


def keys(merged: MergedDeadLetters) -> list[tuple[str, str, str]]:
    return [(item["service"], item["source"], item["id"]) for item in merged.items]


async def walk(
    calls: ServiceLists, limit: int, cursor: str | None = None, sources: list[Source] = BOTH
) -> list[tuple[str, str, str]]:
    """(service, source, id) of every item, page after page from `cursor`."""
    shown: list[tuple[str, str, str]] = []
    for _ in range(100):
        merged = await page(calls, limit, cursor, sources)
        shown += keys(merged)
        if (cursor := merged.next_cursor) is None:
            return shown
    raise AssertionError("the walk did not end")


def lists() -> ServiceLists:
    # Ids stand for UUIDv7s: they sort as their time does.
    return ServiceLists(
        letters={"catalog": ["a03", "a07"], "feedback": ["a01", "a04", "a05", "a09"]},
        parked={"catalog": [(1, "a02"), (2, "a06")], "launch": [(7, "a08")]},
    )


def everything_newest_first(calls: ServiceLists) -> list[tuple[str, str, str]]:
    held = [(s, "consumer", i) for s, ids in calls.letters.items() for i in ids]
    held += [(s, "outbox", i) for s, rows in calls.parked.items() for _, i in rows]
    return sorted(held, key=lambda item: item[2], reverse=True)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 9, 50])
async def test_every_page_size_walks_every_item_once_newest_first(limit: int) -> None:
    calls = lists()

    assert await walk(calls, limit) == everything_newest_first(calls)


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_one_source_walks_only_its_kind(limit: int) -> None:
    calls = lists()

    shown = await walk(calls, limit, sources=[Source.OUTBOX])

    assert shown == [item for item in everything_newest_first(calls) if item[1] == "outbox"]


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_parked_events_keep_their_outbox_order_whatever_their_ids(limit: int) -> None:
    # Events made in one batch carry ids in no particular order; the outbox order stands.
    calls = ServiceLists(
        letters={"feedback": ["a05"]}, parked={"catalog": [(1, "a09"), (2, "a01")]}
    )

    shown = await walk(calls, limit)

    assert sorted(shown) == sorted(
        [
            ("feedback", "consumer", "a05"),
            ("catalog", "outbox", "a01"),
            ("catalog", "outbox", "a09"),
        ]
    )
    assert [i for s, _, i in shown if s == "catalog"] == ["a01", "a09"]


async def test_a_service_down_for_a_page_keeps_its_place_for_the_next() -> None:
    calls = lists()
    first = await page(calls, 2, None)
    calls.down.add("catalog")
    second = await page(calls, 2, first.next_cursor)
    calls.down.clear()
    rest = await walk(calls, 2, second.next_cursor)

    assert (first.degraded, second.degraded) == ([], ["catalog"])
    assert keys(second) == [("feedback", "consumer", "a05"), ("feedback", "consumer", "a04")]
    shown = keys(first) + keys(second) + rest
    assert sorted(shown) == sorted(everything_newest_first(calls))
    assert len(shown) == len(set(shown))


async def test_the_walk_ends_when_only_a_service_down_is_left() -> None:
    calls = lists()
    calls.down.add("feedback")

    shown = await walk(calls, 2)

    assert shown == [item for item in everything_newest_first(calls) if item[0] != "feedback"]
