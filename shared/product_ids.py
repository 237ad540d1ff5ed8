"""The one rule for a product id wherever a service accepts one from outside (security issue
12, finding 4): the catalog issues them (UUIDs, 36 characters) and keeps them in 36-character
columns, so an id another service takes in must fit there too, or an event it publishes
about that id fails in the catalog."""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict, StringConstraints

MAX_LENGTH = 36
PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_LENGTH - 1}}}$"
RULE = f"must be 1-{MAX_LENGTH} of A-Z, a-z, 0-9, '.', '_', ':' or '-'"

ProductId = Annotated[str, Strict(), StringConstraints(pattern=PATTERN)]
"""A product id as a client or another service's event gives it."""
