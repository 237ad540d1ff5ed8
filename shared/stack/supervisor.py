"""`productops up`: the broker, every service and the gateway as supervised processes."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import httpx

from shared.broker import EmbeddedBroker, port_open
from shared.files import private_dir
from shared.settings import Settings
from shared.stack.catch_up import catch_up_needs, pending, record, registered_specs
from shared.stack.components import GATEWAY, service_names
from shared.stack.process import ChildProcess, RestartDelay

_TICK_S = 0.2
_STOP_GRACE_S = 10.0


class StartupError(Exception):
    """The stack could not be brought up; the message says what to look at."""


def serve_command(name: str) -> list[str]:
    """The default child command: `python -m shared.stack serve NAME`."""
    return [sys.executable, "-m", "shared.stack", "serve", name]


def republish_command(name: str) -> list[str]:
    """The default catch-up command: `python -m shared.stack republish NAME`."""
    return [sys.executable, "-m", "shared.stack", "republish", name]


def _say(message: str, *, error: bool = False) -> None:
    print(f"productops: {message}", file=sys.stderr if error else sys.stdout, flush=True)


class Supervisor:
    """Starts the stack, restarts what dies, and stops everything on SIGINT or SIGTERM."""

    def __init__(
        self,
        settings: Settings,
        components: list[str] | None = None,
        command_for: Callable[[str], list[str]] | None = None,
        *,
        ready_timeout_s: float = 60.0,
        catch_up_from: Mapping[str, Sequence[str]] | None = None,
        republish_for: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.components = components if components is not None else _default_components()
        self.command_for = command_for or serve_command
        self.ready_timeout_s = ready_timeout_s
        # Consumer -> the producers it needs snapshots from; None: the registered services'
        # `ServiceSpec.catch_up_from` (shared/stack/catch_up.py).
        self.catch_up_from = catch_up_from
        self.republish_for = republish_for or republish_command
        self.data_dir = settings.data_dir.resolve()
        self.log_dir = self.data_dir / "logs"
        self.children: list[ChildProcess] = []
        self.broker: EmbeddedBroker | None = None
        self._broker_backoff = RestartDelay()
        self._broker_restart_at: float | None = None
        self._broker_started_at = 0.0
        self._stop_signal: int | None = None
        self._admin_key_generated = False

    @property
    def admin_key_path(self) -> Path:
        return self.data_dir / "admin.key"

    def run(self) -> int:
        """Run until SIGINT or SIGTERM; 0 after a clean stop, 1 if the stack did not come up."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._start()
            if self._stop_signal is None:
                self._print_banner()
                self._monitor()
            return 0
        except StartupError as exc:
            _say(str(exc), error=True)
            return 1
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only set a flag: printing from a signal handler can re-enter a buffered write.
        self._stop_signal = signum

    def _start(self) -> None:
        private_dir(self.data_dir)
        private_dir(self.log_dir)
        # The admin key is shown once, when it is made here; after that it is in the file.
        self._admin_key_generated = (
            self.settings.admin_key is None and not self.admin_key_path.exists()
        )
        # Create the generated secrets before any child starts, so all of them read the same.
        _ = self.settings.signing_secret, self.settings.bootstrap_admin_key
        self._check_ports_free()
        if self.settings.embedded_broker:
            self.broker = EmbeddedBroker(
                self.settings.broker_port, log_path=self.log_dir / "broker.log"
            )
            self._start_broker()
        env = self._child_env()
        self._catch_up(env)
        for name in self.components:
            if self._stop_signal is not None:
                return
            child = ChildProcess(
                name, self.command_for(name), log_path=self.log_dir / f"{name}.log", env=env
            )
            child.start()
            self.children.append(child)
            _say(f"started {name} pid={child.pid} log={child.log_path}")
        self._wait_ready()

    def _catch_up(self, env: dict[str, str]) -> None:
        """Republish, before any service starts, the snapshots a consumer needs and has not
        had in this data dir; a failure stops the start-up (the next `up` tries again)."""
        needs = self.catch_up_from
        if needs is None:
            needs = catch_up_needs(registered_specs(self.settings, self.components))
        wanted = pending(self.data_dir, needs)
        for producer in sorted({p for producers in wanted.values() for p in producers}):
            if self._stop_signal is not None:
                return
            child = ChildProcess(
                f"republish {producer}",
                self.republish_for(producer),
                log_path=self.log_dir / "catch-up.log",
                env=env,
            )
            child.start()
            while (code := child.exit_code()) is None:
                if self._stop_signal is not None:
                    child.terminate()
                    if not child.wait(_STOP_GRACE_S):
                        child.kill()
                    return
                time.sleep(_TICK_S)
            if code != 0:
                raise StartupError(_not_ready(child, f"exited with code {code}"))
            consumers = sorted(c for c, producers in wanted.items() if producer in producers)
            for consumer in consumers:
                record(self.data_dir, consumer, producer)
            _say(f"republished {producer}'s snapshots for {', '.join(consumers)}")

    def _check_ports_free(self) -> None:
        # A port already answering would make an old process look like a ready new one.
        where = {
            name: (self.settings.bind_host(name), self.settings.port(name))
            for name in self.components
        }
        taken = [
            f"{name} ({host}:{port})"
            for name, (host, port) in where.items()
            if port_open(host, port)
        ]
        if self.settings.embedded_broker and port_open("127.0.0.1", self.settings.broker_port):
            taken.append(f"broker (127.0.0.1:{self.settings.broker_port})")
        if taken:
            raise StartupError(
                f"ports already in use: {', '.join(taken)}; stop the other process or set"
                " PRODUCTOPS_<NAME>_PORT / PRODUCTOPS_BROKER_PORT"
            )

    def _start_broker(self) -> None:
        assert self.broker is not None
        try:
            self.broker.start()
        except (RuntimeError, TimeoutError) as exc:
            raise StartupError(f"the embedded broker did not start: {exc}") from exc
        self._broker_started_at = time.monotonic()
        _say(f"started broker pid={self.broker.pid} bootstrap={self.broker.bootstrap}")

    def _child_env(self) -> dict[str, str]:
        """The parent's environment, pinned to this supervisor's settings."""
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PRODUCTOPS_DATA_DIR"] = str(self.data_dir)
        env["PRODUCTOPS_HOST"] = self.settings.host
        if self.settings.service_host is not None:
            env["PRODUCTOPS_SERVICE_HOST"] = self.settings.service_host
        # Children must never start a broker of their own.
        env["PRODUCTOPS_KAFKA_BOOTSTRAP"] = self.settings.bootstrap_servers
        for name in self.components:
            env[f"PRODUCTOPS_{name.upper().replace('-', '_')}_PORT"] = str(self.settings.port(name))
        for field, secret in (
            ("ADMIN_KEY", self.settings.admin_key),
            ("JWT_SECRET", self.settings.jwt_secret),
        ):
            if secret is not None:
                env[f"PRODUCTOPS_{field}"] = secret.get_secret_value()
        return env

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        pending = {child.name: child for child in self.children}
        last_answer = dict.fromkeys(pending, "no answer yet")
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while pending and self._stop_signal is None:
                for name, child in list(pending.items()):
                    if (code := child.exit_code()) is not None:
                        raise StartupError(_not_ready(child, f"exited with code {code}"))
                    try:
                        response = client.get(f"{self.settings.base_url(name)}/readyz")
                        last_answer[name] = f"HTTP {response.status_code}"
                        if response.status_code == httpx.codes.OK:
                            del pending[name]
                            _say(f"{name} ready at {self.settings.base_url(name)}")
                    except httpx.HTTPError as exc:
                        last_answer[name] = type(exc).__name__
                if pending and time.monotonic() > deadline:
                    child = next(iter(pending.values()))
                    waited = (
                        f"not ready after {self.ready_timeout_s:g}s ({last_answer[child.name]})"
                    )
                    raise StartupError(_not_ready(child, waited, also=sorted(pending)))
                if pending:
                    time.sleep(_TICK_S)

    def _print_banner(self) -> None:
        gateway = self.settings.base_url(GATEWAY)
        kind = "embedded" if self.settings.embedded_broker else "external"
        lines = ["", "ProductOps is up"]
        if GATEWAY in self.components:
            lines += [
                f"  gateway    {gateway}",
                f"  dashboard  {gateway}/dashboard  (sign in with the admin key)",
                "  demo       productops demo  (loads a sample store through the gateway)",
                "  simulator  productops demo --no-load --simulate --rate 5  (until Ctrl-C)",
            ]
        # The key itself only when it was generated now; later starts say where it is.
        if self.settings.admin_key is not None:
            lines.append("  admin key  from PRODUCTOPS_ADMIN_KEY")
            source = "$PRODUCTOPS_ADMIN_KEY"
        else:
            if self._admin_key_generated:
                lines.append(f"  admin key  {self.settings.bootstrap_admin_key} (generated now)")
            lines.append(f"  key file   {self.admin_key_path}")
            source = f"$(cat {self.admin_key_path})"
        lines += [
            f"  data dir   {self.data_dir}",
            f"  broker     {self.settings.bootstrap_servers} ({kind})",
            f"  logs       {self.log_dir}",
            f"  token      curl -s -X POST {gateway}/v1/auth/token"
            f' -H \'content-type: application/json\' -d "{{\\"api_key\\": \\"{source}\\"}}"',
            "Ctrl-C stops everything.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def _monitor(self) -> None:
        while self._stop_signal is None:
            now = time.monotonic()
            for child in self.children:
                self._tend_child(child, now)
            if self.broker is not None:
                self._tend_broker(now)
            time.sleep(_TICK_S)
        _say(f"stopping ({signal.Signals(self._stop_signal).name})")

    def _tend_child(self, child: ChildProcess, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.start()
                _say(f"restarted {child.name} pid={child.pid}")
            return
        if (code := child.exit_code()) is not None:
            delay = child.backoff.delay(child.uptime_s)
            child.restart_at = now + delay
            _say(f"{child.name} exited with code {code}; restarting in {delay:g}s", error=True)

    def _tend_broker(self, now: float) -> None:
        assert self.broker is not None
        if self._broker_restart_at is None:
            if not self.broker.alive():
                delay = self._broker_backoff.delay(now - self._broker_started_at)
                self._broker_restart_at = now + delay
                _say(f"broker exited; restarting in {delay:g}s (topics start empty)", error=True)
        elif now >= self._broker_restart_at:
            self._broker_restart_at = None
            try:
                self._start_broker()
            except StartupError as exc:
                self._broker_started_at = now
                _say(str(exc), error=True)  # alive() is False again: the next tick retries

    def _stop_all(self) -> None:
        """SIGTERM every child (gateway first), SIGKILL what outlives the grace, then the broker."""
        for child in reversed(self.children):
            child.terminate()
        deadline = time.monotonic() + _STOP_GRACE_S
        for child in reversed(self.children):
            if not child.wait(deadline - time.monotonic()):
                _say(f"{child.name} did not stop within {_STOP_GRACE_S:g}s; killing it", error=True)
                child.kill()
        if self.broker is not None:
            self.broker.stop()
        _say("stopped")


def _default_components() -> list[str]:
    return [*(name for name in service_names() if name != GATEWAY), GATEWAY]


def _not_ready(child: ChildProcess, why: str, also: list[str] | None = None) -> str:
    others = f" (not ready: {', '.join(also)})" if also and len(also) > 1 else ""
    tail = child.log_tail() or "(empty)"
    return f"{child.name} {why}{others}; last lines of {child.log_path}:\n{tail}"
