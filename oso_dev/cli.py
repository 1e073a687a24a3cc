"""``--replay`` and ``--record`` for the command lines: what they add, and what they change for a run.

Both work by handing the flow different parameter values (a local base URL) and, for secrets, stand-in
environment values; the flow's code is the production code, unchanged.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from oso_core.model.sources import Source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("development (oso_dev)")
    modes = group.add_mutually_exclusive_group()
    modes.add_argument(
        "--replay", action="store_true", help="serve the recorded fixtures from a local server and load those"
    )
    modes.add_argument(
        "--record",
        action="store_true",
        help="call the live API and save its answers (secrets masked, long lists cut) as this source's fixtures",
    )
    group.add_argument(
        "--record-max-items",
        type=int,
        default=5,
        metavar="N",
        help="with --record: cut every JSON list longer than N items to its first N (default 5)",
    )
    group.add_argument(
        "--record-max-pages",
        type=int,
        default=3,
        metavar="N",
        help="with --record: answer the same request shape at most N times with data, then end its paging (default 3)",
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "replay", False) or getattr(args, "record", False))


@contextmanager
def session(source: Source, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The parameter overrides of a ``--replay`` or ``--record`` run, valid while the block runs."""
    if getattr(args, "record", False):
        from oso_dev.record import record_parameters

        with record_parameters(
            source,
            base_url=getattr(args, "base_url", None),
            max_items=getattr(args, "record_max_items", 5),
            max_pages=getattr(args, "record_max_pages", 3),
        ) as params:
            yield params
        return
    from oso_dev.replay import replay_parameters

    with replay_parameters(source) as params:
        yield params
