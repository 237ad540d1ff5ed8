"""The `productops` command line: `up`, `serve NAME`, `migrate [NAME]`, `revision NAME MESSAGE`,
`republish NAME`, `topics list|create`, `events tail TOPIC`, `asyncapi`, `demo`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from aiokafka.errors import KafkaError

from shared.settings import Settings

ASYNCAPI_PATH = Path("docs/asyncapi.yaml")
# The demo is a client of the gateway's API and lives with it; the kernel imports no gateway
# code, so it is called by name, like the gateway's app factory (`components.GATEWAY_FACTORY`).
DEMO_COMMAND = "gateway.demo.cli:run"
DEMO_RATE = 5.0


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="productops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the broker, every service and the gateway")
    up.add_argument(
        "--ready-timeout", type=float, default=60.0, metavar="S", help="start-up limit (60)"
    )

    serve = commands.add_parser("serve", help="run one service or the gateway in this process")
    serve.add_argument("name", help="a registered service name, or 'gateway'")

    migrate = commands.add_parser(
        "migrate", help="bring databases to the newest schema revision (all components)"
    )
    migrate.add_argument("name", nargs="?", help="only this service, or 'gateway'")

    revision = commands.add_parser(
        "revision", help="draft a schema revision from what a component's models changed"
    )
    revision.add_argument("name", help="a registered service name, or 'gateway'")
    revision.add_argument("message", help="what the revision does, e.g. 'api keys have an owner'")

    republish = commands.add_parser(
        "republish",
        help="write one current-state snapshot event per entity of a service to its outbox,"
        " for consumers that catch up",
    )
    republish.add_argument("name", help="a registered service name, e.g. catalog")

    topics = commands.add_parser("topics", help="the topics every service writes")
    topic_commands = topics.add_subparsers(dest="topics_command", required=True, metavar="COMMAND")
    topic_commands.add_parser("list", help="print the topics, one a line")
    create = topic_commands.add_parser(
        "create",
        help="create the missing topics with PRODUCTOPS_TOPIC_PARTITIONS partitions (a deploy job)",
    )
    create.add_argument(
        "--replication-factor",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="replicas per partition (1)",
    )
    create.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="limit on reaching the broker (30)"
    )

    events = commands.add_parser("events", help="look at the events on the broker")
    event_commands = events.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    tail = event_commands.add_parser("tail", help="print a topic's events as they arrive")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    tail.add_argument("--bootstrap", metavar="HOST:PORT", help="default: from the settings")
    tail.add_argument("--max", type=int, metavar="N", help="stop after N events")
    tail.add_argument("--timeout", type=float, metavar="S", help="stop after S s without events")

    asyncapi = commands.add_parser(
        "asyncapi", help="write the AsyncAPI 3.0 document of every service's events"
    )
    asyncapi.add_argument(
        "--output", type=Path, default=ASYNCAPI_PATH, metavar="PATH", help=f"({ASYNCAPI_PATH})"
    )
    asyncapi.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is not current"
    )

    demo = commands.add_parser(
        "demo",
        help="load a small, realistic store through the gateway; optionally simulate a storefront",
    )
    demo.add_argument("--gateway", metavar="URL", help="default: the gateway of the settings")
    demo.add_argument(
        "--api-key",
        metavar="KEY",
        help="default: PRODUCTOPS_ADMIN_KEY, else <data dir>/admin.key"
        " (a key that begins with '-' goes as --api-key=KEY)",
    )
    demo.add_argument(
        "--no-load", dest="load", action="store_false", help="do not load the store first"
    )
    demo.add_argument(
        "--simulate", action="store_true", help="then push storefront customer events"
    )
    demo.add_argument(
        "--rate", type=_positive, default=DEMO_RATE, metavar="N", help=f"events/s ({DEMO_RATE:g})"
    )
    demo.add_argument(
        "--duration", type=_positive, metavar="S", help="simulate for S s (default: until Ctrl-C)"
    )
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def _demo(args: argparse.Namespace) -> int:
    if not args.load and not args.simulate:
        print("productops demo: nothing to do: --no-load needs --simulate", file=sys.stderr)
        return 2
    module, _, name = DEMO_COMMAND.partition(":")
    run = getattr(importlib.import_module(module), name)
    code: int = run(
        Settings(),
        gateway=args.gateway,
        api_key=args.api_key,
        load=args.load,
        simulate=args.simulate,
        rate=args.rate,
        duration_s=args.duration,
    )
    return code


def asyncapi_text() -> str:
    """The AsyncAPI document of the registered services' and the gateway's events, as YAML."""
    from importlib.metadata import version

    from shared.asyncapi import build, render
    from shared.stack.components import event_registries, service_names

    broker = f"127.0.0.1:{Settings.model_fields['broker_port'].default}"
    document = build(
        event_registries(), version=version("productops"), broker=broker, groups=service_names()
    )
    return render(document)


def _asyncapi(output: Path, *, check: bool) -> int:
    text = asyncapi_text()
    if check:
        if output.is_file() and output.read_text(encoding="utf-8") == text:
            return 0
        print(f"productops: {output} is not current; run `productops asyncapi`", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; the return value is the exit code."""
    args = _parser().parse_args(argv)
    # Imports are local so each command loads only what it needs (e.g. `serve` skips httpx).
    if args.command == "up":
        from shared.stack.supervisor import Supervisor

        return Supervisor(Settings(), ready_timeout_s=args.ready_timeout).run()
    if args.command == "serve":
        from shared.stack.serve import serve

        try:
            serve(args.name)
        except LookupError as exc:
            print(f"productops: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "asyncapi":
        return _asyncapi(args.output, check=args.check)
    if args.command == "demo":
        return _demo(args)
    if args.command == "republish":
        from shared.stack.republish import run

        return run(Settings(), args.name)
    if args.command == "topics":
        from shared.stack import topics

        if args.topics_command == "list":
            print("\n".join(topics.platform_topics()))
            return 0
        return topics.create(
            Settings(), replication_factor=args.replication_factor, timeout_s=args.timeout
        )
    if args.command in ("migrate", "revision"):
        from shared.stack.migrate import draft, migrate

        try:
            if args.command == "migrate":
                return migrate(Settings(), args.name)
            return draft(args.name, args.message)
        except LookupError as exc:
            print(f"productops: {exc}", file=sys.stderr)
            return 2
    from shared.broker import kafka_security
    from shared.stack.tail import TailOptions, run_tail

    settings = Settings()
    options = TailOptions(
        topic=args.topic,
        bootstrap=args.bootstrap or settings.bootstrap_servers,
        security=kafka_security(settings),
        from_beginning=args.from_beginning,
        max_events=args.max,
        timeout_s=args.timeout,
    )
    try:
        return run_tail(options)
    except KafkaError as exc:
        print(
            f"productops: cannot tail {args.topic} on {options.bootstrap}: {exc}", file=sys.stderr
        )
        return 1
