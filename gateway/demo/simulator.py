"""A storefront simulator: believable customer events pushed through the gateway's ingestion
route (`POST /v1/customer-events`) at a chosen rate, in one batch per second, until its time
is up or it is told to stop.

What shoppers do, by weight: buy, search for something the store lacks (the ingestion API
has no page views; a search that finds nothing is what the PM needs to hear of), review,
ask, return. Reviews are mostly praise, with now and then another leaking blender jar, so
the demo's defect finding keeps growing. Only products on sale are talked about: feedback
on a planned product would move its launch plan.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.demo import store
from gateway.demo.client import DemoError, Gateway, Json

# One request a second keeps the gateway's per-caller rate limit out of the way at any rate
# a demo needs; the route takes at most 1,000 events a request.
TICK_S = 1.0
MAX_BATCH = 1000
REPORT_EVERY_S = 5.0
KINDS: tuple[tuple[str, float], ...] = (
    ("purchase", 0.45),
    ("search_miss", 0.2),
    ("review", 0.2),
    ("question", 0.1),
    ("return", 0.05),
)
_KINDS, _WEIGHTS = zip(*KINDS, strict=True)
LEAK_SHARE = 0.1
RETURN_REASONS = ("changed_mind", "too_small", "not_as_pictured", "arrived_late")


class Storefront:
    """Makes one shopper's event at a time, from the store's products on sale."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.products = store.on_sale()

    def event(self, now: datetime) -> dict[str, Json]:
        kind = self.rng.choices(_KINDS, _WEIGHTS)[0]
        item = self.rng.choice(self.products)
        event: dict[str, Json] = {
            "event_id": f"sim-{uuid.UUID(int=self.rng.getrandbits(128)).hex}",
            "kind": kind,
            "occurred_at": now.isoformat(),
            "customer_ref": f"shopper-{self.rng.randint(1, 5000)}",
            "sku": item.sku,
        }
        if kind == "purchase":
            price = {"amount": item.price, "currency": store.CURRENCY}
            event.update(quantity=self.rng.choice((1, 1, 1, 2)), unit_price=price)
        elif kind == "search_miss":
            del event["sku"]
            event["query"] = self.rng.choice(store.SEARCH_MISSES)
        elif kind == "review" and self.rng.random() < LEAK_SHARE:
            event.update(sku=store.CLUSTER_SKU, rating=self.rng.choice((1, 2)),
                         text=self.rng.choice(store.LEAKS))  # fmt: skip
        elif kind == "review":
            event.update(rating=self.rng.choice((4, 5, 5)), text=self.rng.choice(store.PRAISE))
        elif kind == "question":
            event["text"] = self.rng.choice(store.QUESTIONS)
        else:
            event["reason"] = self.rng.choice(RETURN_REASONS)
        return event


@dataclass
class Simulation:
    """Pushes `rate` events a second through `gateway` until `duration_s` (None: until
    `stop` is set), printing what it sent every few seconds."""

    gateway: Gateway
    rate: float
    duration_s: float | None
    stop: threading.Event
    say: Callable[[str], None] = print

    def run(self) -> Counter[str]:
        """Every event kind sent, counted."""
        shop = Storefront(random.Random())
        sent: Counter[str] = Counter()
        reported: Counter[str] = Counter()
        started = last_report = time.monotonic()
        owed = 0.0  # fractional rates: an event is sent once a whole one is owed
        ticks = 0
        while not self.stop.is_set():
            elapsed = time.monotonic() - started
            if self.duration_s is not None and elapsed >= self.duration_s:
                break
            owed += self.rate * TICK_S
            due, owed = int(owed), owed - int(owed)
            now = datetime.now(UTC)
            for start in range(0, due, MAX_BATCH):
                batch = [shop.event(now) for _ in range(min(MAX_BATCH, due - start))]
                try:
                    self.gateway.post("/v1/customer-events", {"events": batch}, ok=(202,))
                except DemoError as exc:
                    if not sent:
                        raise  # nothing ever got through: a wrong URL or key, not a hiccup
                    # A gateway restarting under `productops up` is no reason to stop.
                    self.say(f"could not send {len(batch)} events: {exc}")
                    continue
                sent.update(event["kind"] for event in batch)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                self.say(_report(sent - reported, sent))
                reported, last_report = sent.copy(), time.monotonic()
            ticks += 1
            # Paced on the start time, so slow requests do not lower the rate.
            self.stop.wait(max(0.0, started + ticks * TICK_S - time.monotonic()))
        self.say(_report(sent - reported, sent))
        return sent


def _report(recent: Counter[str], total: Counter[str]) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(recent.items()))
    return f"sent {recent.total()} events ({kinds or 'none'}); {total.total()} in all"
