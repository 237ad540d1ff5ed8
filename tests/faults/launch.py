"""`python -m tests.faults.launch`: `productops up` for fault tests.

The same `Supervisor` as `make run` (it restarts what dies), configured by the same
`PRODUCTOPS_*` variables, except that the feedback service runs with a triage model a test
can switch off (`tests.faults.flaky_feedback`).
"""

from __future__ import annotations

import sys

from shared.settings import Settings
from shared.stack.supervisor import Supervisor, serve_command


def command_for(name: str) -> list[str]:
    """The child command of one component."""
    if name == "feedback":
        return [sys.executable, "-m", "tests.faults.flaky_feedback"]
    return serve_command(name)


def main() -> int:
    """Run the stack until SIGTERM; the supervisor's exit code is ours."""
    return Supervisor(Settings(), command_for=command_for, ready_timeout_s=120).run()


if __name__ == "__main__":
    sys.exit(main())
