"""The one rule for an account id (issue 14 part 3): the B2B customer or customer group behind
a sale, as storefronts send it on customer events and as pricing scopes price lists to it.
Both services take it from outside, so both hold it to the same id-like text and the same
128-character columns."""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict, StringConstraints

MAX_LENGTH = 128
PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_LENGTH - 1}}}$"
RULE = f"must be 1-{MAX_LENGTH} of A-Z, a-z, 0-9, '.', '_', ':' or '-'"

Account = Annotated[str, Strict(), StringConstraints(pattern=PATTERN)]
"""An account id as a client or another service's event gives it."""
