"""The catalog's consumer of launch's `launch.launched.v1` (contract: `contracts.py`)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.catalog.domain import Lifecycle
from services.catalog.launches.contracts import Launched
from services.catalog.launches.domain import moves_to_active
from services.catalog.notices import CoreNotices, MovingLifecycle
from services.catalog.service import change_lifecycle, lock_product
from shared.auth import Principal
from shared.consumer import Handler
from shared.errors import Conflict
from shared.events import CloudEvent
from shared.faults import InvalidEvent
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# The name the product's history shows for a launch's moves; the subject is the launch id.
LAUNCH_ACTOR_NAME = "launch"


def launch_actor(launch_id: str) -> Principal:
    """The launch, as the actor of the lifecycle moves it causes."""
    return Principal(
        subject=launch_id, name=LAUNCH_ACTOR_NAME, scopes=frozenset(), owner=LAUNCH_ACTOR_NAME
    )


def launched_handler(notices: CoreNotices) -> Handler:
    """The handler of `launch.launched.v1`, sending the core's notices to `notices`."""

    async def handle_launched(event: CloudEvent, uow: UnitOfWork) -> None:
        """Move the launched product to active, through incoming when it is still a draft.

        Each move is the core's lifecycle use case: a history entry and a
        `catalog.product.lifecycle_changed.v1` each, in the transaction in which the kernel
        records the event in the inbox, so a redelivery is a no-op. An active or discontinued
        product changes nothing. A move a sub-domain refuses (a product whose decision is
        reject) changes nothing either and is logged: launch knows the decision and shows
        why, so the event is handled, not dead-lettered. An unreadable event, or one about a
        product this catalog does not know, raises and goes to `dlq.catalog`.
        """
        try:
            data = Launched.model_validate(event.data)
        except ValidationError as exc:
            raise InvalidEvent(f"unreadable {event.type} {event.id}: {exc}") from exc
        row = await lock_product(uow=uow, product_id=data.product_id)
        moves = moves_to_active(Lifecycle(row.lifecycle))
        context = {"launch_id": data.launch_id, "product_id": data.product_id}
        if not moves:
            if row.lifecycle == Lifecycle.DISCONTINUED:
                log.info("a launch leaves a discontinued product as it is", extra=context)
            return
        try:
            # Asked before the first move, under the row lock: a draft must not be left
            # incoming by a refusal of its second move.
            await notices.send(uow, MovingLifecycle(product_id=row.id, to=moves[-1]))
        except Conflict as refused:
            log.info(
                "a launch cannot make the product active",
                extra={**context, "reason": refused.detail},
            )
            return
        actor = launch_actor(data.launch_id)
        for to in moves:
            await change_lifecycle(
                uow=uow,
                product_id=row.id,
                to=to,
                expected_version=None,
                actor=actor,
                notices=notices,
            )

    return handle_launched
