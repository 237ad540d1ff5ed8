"""Launch a `Supervisor` whose children are fake components (see fake_component.py).

`python run_supervisor.py catalog,pricing,gateway [--not-ready NAME] [--ready-timeout S]`;
configuration comes from the same `PRODUCTOPS_*` variables as `productops up`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.settings import Settings
from shared.stack.supervisor import Supervisor

FAKE = Path(__file__).with_name("fake_component.py")


def main() -> int:
    """Run the supervisor over fake children; its exit code is ours."""
    parser = argparse.ArgumentParser()
    parser.add_argument("components")
    parser.add_argument("--not-ready", default="")
    parser.add_argument("--ready-timeout", type=float, default=30.0)
    args = parser.parse_args()
    settings = Settings()
    tag = str(settings.data_dir.resolve())

    def command_for(name: str) -> list[str]:
        flags = ["--not-ready"] if name == args.not_ready else []
        return [sys.executable, str(FAKE), name, "--tag", tag, *flags]

    supervisor = Supervisor(
        settings,
        components=args.components.split(","),
        command_for=command_for,
        ready_timeout_s=args.ready_timeout,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
