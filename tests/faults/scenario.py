"""One fault scenario's tools: the stack, a load driver logged in through its gateway, and
a ledger reading its consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.stack.components import GATEWAY
from tests.faults.ledger import Ledger
from tests.faults.load import LoadDriver
from tests.faults.stack import FaultStack


@dataclass
class Scenario:
    """What a fault test works with."""

    stack: FaultStack
    driver: LoadDriver
    ledger: Ledger


@asynccontextmanager
async def open_scenario(stack: FaultStack) -> AsyncIterator[Scenario]:
    """A logged-in driver and a ledger on a started stack, closed after the block."""
    driver = LoadDriver(stack.url(GATEWAY))
    await driver.login()
    ledger = Ledger(stack, driver.token)
    try:
        yield Scenario(stack, driver, ledger)
    finally:
        await driver.close()
        await ledger.close()
