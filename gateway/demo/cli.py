"""`productops demo`: load the demo store, then optionally run the storefront simulator.

`shared/stack/cli.py` parses the options and calls `run` by its dotted path (the kernel
imports no gateway code).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from gateway.demo.client import DemoError, Gateway
from gateway.demo.loader import Loader, summary
from gateway.demo.simulator import Simulation
from shared.settings import Settings


def run(
    settings: Settings,
    *,
    gateway: str | None,
    api_key: str | None,
    load: bool,
    simulate: bool,
    rate: float,
    duration_s: float | None,
) -> int:
    """Run the demo against a running stack; the exit code."""
    url = gateway or settings.base_url("gateway")
    key = api_key or _admin_key(settings)
    if key is None:
        print(
            f"productops demo: no API key: pass --api-key, set PRODUCTOPS_ADMIN_KEY, or start "
            f"the stack (`make run`), which writes {settings.data_dir / 'admin.key'}",
            file=sys.stderr,
        )
        return 2
    admin = Gateway(url, key)
    try:
        if load:
            _say(summary(Loader(admin, say=_say).run(), url))
        if simulate:
            with _stop_on_signals() as stop:
                _say(f"simulating a storefront at {rate:g} events/s; Ctrl-C stops")
                Simulation(admin, rate=rate, duration_s=duration_s, stop=stop, say=_say).run()
    except DemoError as exc:
        print(f"productops demo: {exc}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    return 0


def _say(line: str) -> None:
    # Flushed: progress shows as it happens even when the output goes to a pipe or a file.
    print(line, flush=True)


def _admin_key(settings: Settings) -> str | None:
    """PRODUCTOPS_ADMIN_KEY, else the key `productops up` wrote into the data dir (never a
    new one: a key the gateway does not know would only fail later)."""
    if settings.admin_key is not None:
        return settings.admin_key.get_secret_value()
    path = settings.data_dir / "admin.key"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs; the old handlers after it."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
