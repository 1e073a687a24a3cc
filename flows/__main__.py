"""``python -m flows <source> [options]``: run one source's load from the command line (``--help`` lists options).

Without a source name it lists the sources. The options come from the source's flow parameters
(``oso_core.cli``), so every source has the same command, and a new source folder has one with no code.
"""

from __future__ import annotations

import sys

from oso_core.cli import run_source_cli
from oso_core.sources import discover_sources


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sources = discover_sources()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m flows SOURCE [options]   (python -m flows SOURCE --help for its options)\n")
        width = max(map(len, sources), default=0)
        for name, source in sources.items():
            print(f"  {name:<{width}}  {source.description}")
        return 0
    name, *rest = argv
    if name not in sources:
        print(f"unknown source {name!r}; known: {', '.join(sources)}", file=sys.stderr)
        return 2
    source = sources[name]
    return run_source_cli(source, source.load_flow(), rest)


if __name__ == "__main__":
    sys.exit(main())
