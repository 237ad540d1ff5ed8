"""The events the gateway publishes (on `gateway.events`), through its outbox."""

from __future__ import annotations

from shared.events import EventRegistry
from shared.revocation import KEY_REVOKED, ApiKeyRevoked

__all__ = ["ApiKeyRevoked", "registry"]

registry = EventRegistry()
# The payload lives in the kernel: every service reads it, and no service imports the gateway.
registry.register(KEY_REVOKED)(ApiKeyRevoked)
