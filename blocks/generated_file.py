"""The ``--write PATH`` / ``--check PATH`` / stdout convention of the project's generated files (``prefect.yaml``
from ``blocks.deployments``, ``.env.example`` from ``blocks.env_example``): one implementation, so both commands take
the same flags and word their verdicts alike, and CI's ``--check`` fails the same way for either."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_write_check(parser: argparse.ArgumentParser, file: str, made_from: str) -> None:
    """``--write PATH`` and ``--check PATH`` (exclusive); neither prints the text to stdout."""
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="PATH", type=Path, help=f"write {file} here")
    action.add_argument("--check", metavar="PATH", type=Path, help=f"exit 1 if PATH differs from {made_from}")


def write_or_check(args: argparse.Namespace, text: str, *, command: str, made_from: str, contents: str) -> int:
    """Do what ``add_write_check``'s flags asked with the rendered ``text``; the exit code of the command.

    ``command`` is how a user regenerates the file (named when a check finds it stale); ``contents`` says what was
    written (``12 deployments``)."""
    if args.check:
        if not args.check.is_file() or args.check.read_text() != text:
            print(f"{args.check} is stale: run {command} --write {args.check}", file=sys.stderr)
            return 1
        print(f"{args.check} matches {made_from}")
        return 0
    if args.write:
        args.write.write_text(text)
        print(f"wrote {args.write} ({contents})")
        return 0
    sys.stdout.write(text)
    return 0
