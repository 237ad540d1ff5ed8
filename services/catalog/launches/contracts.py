"""Tolerant reader of the launch event the catalog consumes (it never imports another service).

The model reads only the fields the catalog needs; unknown fields are ignored
(`EventPayload`), unknown types are skipped by the consumer.

Topic `launch.events` (source "/launch", subject = product id, `sequence` = launch's counter
of its events about the product):

- `launch.launched.v1`: {launch_id, product_id, price_list, owner, target_date, status,
  readiness, launched_at, monitored_until, goals | null, ...}: the plan's product goes
  live. The catalog moves it to active and names the launch in the product's history.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from shared.events import EventPayload

LAUNCHED = "launch.launched.v1"

LAUNCH_TOPIC = "launch.events"

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Launched(EventPayload):
    launch_id: Id
    product_id: Id
