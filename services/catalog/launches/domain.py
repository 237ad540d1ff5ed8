"""What a launch does to a product's lifecycle, as plain Python."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from services.catalog.domain import Lifecycle

# DESIGN.md loop 4: a launched product becomes active, through incoming when it is still a
# draft. A launch never brings a discontinued product back.
_MOVES: Mapping[Lifecycle, tuple[Lifecycle, ...]] = MappingProxyType(
    {
        Lifecycle.DRAFT: (Lifecycle.INCOMING, Lifecycle.ACTIVE),
        Lifecycle.INCOMING: (Lifecycle.ACTIVE,),
        Lifecycle.ACTIVE: (),
        Lifecycle.DISCONTINUED: (),
    }
)


def moves_to_active(current: Lifecycle) -> tuple[Lifecycle, ...]:
    """The lifecycle moves, in order, that a launch makes from `current`; none when there is
    nothing to do or nothing allowed."""
    return _MOVES[Lifecycle(current)]
