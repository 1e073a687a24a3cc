"""``python -m oso_core <command>``: the library's development commands.

``new-source NAME --kind rest|graphql|sql|archive`` creates a runnable source folder (``oso_core.tools.scaffold``).
``secrets check|push`` says which secrets each source needs and where each resolves (``oso_core.tools.secrets_cli``).
The lake has its own command: ``python -m oso_core.warehouse.query``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

USAGE = """usage: python -m oso_core COMMAND [options]

commands:
  new-source NAME --kind rest|graphql|sql|archive
                 create flows/NAME/ (declaration, flow, fixtures, a passing test) and refresh the README table,
                 prefect.yaml and .env.example; python -m oso_core new-source --help for its options
  secrets check [SOURCE ...] | push
                 which secrets each source needs and where each resolves (never its value); copy .env's
                 PREFIX__ variables into Prefect Secret blocks; python -m oso_core secrets --help

also: python -m flows SOURCE (run a source), python -m oso_core.warehouse.query (the lake)
"""


def _new_source(argv: list[str]) -> int:
    from oso_core.tools.scaffold import main

    return main(argv)


def _secrets(argv: list[str]) -> int:
    from oso_core.tools.secrets_cli import main

    return main(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {"new-source": _new_source, "secrets": _secrets}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    command, *rest = argv
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    return COMMANDS[command](rest)


if __name__ == "__main__":
    sys.exit(main())
