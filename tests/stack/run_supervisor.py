"""Launch a `Supervisor` whose children are fake components (see fake_component.py).

`python run_supervisor.py catalog,pricing,gateway [--not-ready NAME] [--ready-timeout S]
[--catch-up CONSUMER=PRODUCER+PRODUCER [--republish-fails]]`; configuration comes from the
same `PRODUCTOPS_*` variables as `productops up`. Catch-up runs a fake republish that appends
the producer's name to `<data dir>/republished`, or exits 3 with `--republish-fails`; without
`--catch-up` no service needs one.
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
    parser.add_argument("--catch-up", default="")
    parser.add_argument("--republish-fails", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    tag = str(settings.data_dir.resolve())

    def command_for(name: str) -> list[str]:
        flags = ["--not-ready"] if name == args.not_ready else []
        return [sys.executable, str(FAKE), name, "--tag", tag, *flags]

    def republish_for(name: str) -> list[str]:
        if args.republish_fails:
            return [sys.executable, "-c", "raise SystemExit(3)"]
        log = str(settings.data_dir.resolve() / "republished")
        append = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"
        return [sys.executable, "-c", append, log, name]

    consumer, _, producers = args.catch_up.partition("=")
    supervisor = Supervisor(
        settings,
        components=args.components.split(","),
        command_for=command_for,
        ready_timeout_s=args.ready_timeout,
        catch_up_from={consumer: producers.split("+")} if consumer else {},
        republish_for=republish_for,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
