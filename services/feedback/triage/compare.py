"""The gate's second condition: is a candidate detectably worse than the served model on the
newest frozen set alone? (MODEL.md, "Thirteenth round".)

    python -m services.feedback.triage.compare [--set fresh_eval_11.jsonl] write OUT.json
    python -m services.feedback.triage.compare [--set ...] judge SERVED.json CANDIDATE.json

Two versions of the code cannot be imported in one process, so each writes its readings of
the set (`write`, run from each version's tree: item id -> category and hazard, no text), and
`judge` pairs them text by text. For each of three readings (category right, a labelled
hazard found, a false hazard avoided) it counts the candidate's losses (texts the served model
reads right and the candidate wrong) and gains (the reverse); the candidate is detectably
worse when losses - gains > sqrt(losses + gains), one standard error of the paired
difference. Exit status 0 when it is not, 1 when it is. The set defaults to the newest
frozen set (the last of `fresh.FRESH_PATHS`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.feedback.triage.fresh import FRESH_PATHS, FreshItem, load_fresh


@dataclass(frozen=True)
class Reading:
    """What a model made of one text, as far as the gate looks."""

    category: str
    hazard: bool


@dataclass(frozen=True)
class PairedCount:
    """One reading compared text by text: the candidate's losses and gains."""

    name: str
    texts: int
    losses: int
    gains: int

    @property
    def band(self) -> float:
        """One standard error of losses - gains."""
        return math.sqrt(self.losses + self.gains)

    @property
    def detectably_worse(self) -> bool:
        return self.losses - self.gains > self.band

    def line(self) -> str:
        verdict = "detectably worse" if self.detectably_worse else "not detectably worse"
        return (
            f"  {self.name:<22} {self.texts:>5} texts: {self.losses} lost, {self.gains} gained,"
            f" net {self.losses - self.gains:+d} against a band of {self.band:.2f}: {verdict}"
        )


def _paired(
    name: str,
    items: Sequence[FreshItem],
    right: Callable[[FreshItem, Reading], bool],
    served: Mapping[str, Reading],
    candidate: Mapping[str, Reading],
) -> PairedCount:
    was = [right(item, served[item.id]) for item in items]
    now = [right(item, candidate[item.id]) for item in items]
    return PairedCount(
        name=name,
        texts=len(items),
        losses=sum(a and not b for a, b in zip(was, now, strict=True)),
        gains=sum(b and not a for a, b in zip(was, now, strict=True)),
    )


def paired_counts(
    items: Sequence[FreshItem],
    served: Mapping[str, Reading],
    candidate: Mapping[str, Reading],
) -> list[PairedCount]:
    """Category, hazards found and false hazards avoided, each compared text by text."""
    missing = {item.id for item in items} - (served.keys() & candidate.keys())
    if missing:
        raise ValueError(f"{len(missing)} items of the set have no reading in one of the files")
    hazards = [item for item in items if item.hazard]
    others = [item for item in items if not item.hazard]
    return [
        _paired(
            "category",
            items,
            lambda item, r: r.category == item.category.value,
            served,
            candidate,
        ),
        _paired("hazards found", hazards, lambda item, r: r.hazard, served, candidate),
        _paired("false hazards avoided", others, lambda item, r: not r.hazard, served, candidate),
    ]


def write_readings(path: Path, out: Path) -> None:
    """Triage the set with the served model of the code imported here and write its readings."""
    # Imported here: `judge` needs no model, and loading the encoder takes a while.
    from services.feedback.triage.pipeline import shipped_triage

    items = load_fresh(path)
    results = shipped_triage().triage([item.as_input() for item in items])
    readings = {
        item.id: {"category": result.category.value, "hazard": result.safety_hazard}
        for item, result in zip(items, results, strict=True)
    }
    out.write_text(json.dumps({"set": path.name, "readings": readings}, indent=0) + "\n")


def read_readings(path: Path, set_name: str) -> dict[str, Reading]:
    """The readings a `write` left in `path`, checked to be of the set named."""
    about = json.loads(path.read_text())
    if about.get("set") != set_name:
        raise ValueError(f"{path} holds readings of {about.get('set')!r}, not of {set_name!r}")
    return {key: Reading(**value) for key, value in about["readings"].items()}


def judge(path: Path, served: Path, candidate: Path) -> bool:
    """Print the paired counts; True when the candidate is not detectably worse."""
    counts = paired_counts(
        load_fresh(path), read_readings(served, path.name), read_readings(candidate, path.name)
    )
    print(f"{path.name}: the candidate against the served model, text by text")
    for paired in counts:
        print(paired.line())
    return not any(paired.detectably_worse for paired in counts)


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.feedback.triage.compare")
    parser.add_argument(
        "--set",
        default=FRESH_PATHS[-1].name,
        help="the frozen set's file name under data/ (default: the newest)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write this code's readings of the set")
    write.add_argument("out", type=Path)
    compare = commands.add_parser("judge", help="pair two files of readings")
    compare.add_argument("served", type=Path)
    compare.add_argument("candidate", type=Path)
    args = parser.parse_args(argv)
    path = FRESH_PATHS[-1].parent / args.set
    if path not in FRESH_PATHS:
        parser.error(f"{args.set} is not a frozen set")
    if args.command == "write":
        write_readings(path, args.out)
        return 0
    try:
        return 0 if judge(path, args.served, args.candidate) else 1
    except (OSError, ValueError) as error:  # a missing file, or one that is not readings
        parser.error(str(error))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
