"""``python -m flows <source> [options]``: run one source's load from the command line (``--help`` lists options).

Without a source name it lists the sources. The options come from the source's flow parameters
(``oso_core.engine.cli``), so every source has the same command, and a new source folder has one with no code.

Start-up: the source's declaration and flow parameters are read from its file (``oso_core.engine.declarations``), so
the list, ``--help`` and a mistyped option answer without importing Prefect, Polars or the warehouse. Only a run
imports the flow, after :func:`oso_core.engine.prefect_api.use_local_server` has chosen the Prefect API (a configured
one, the project's ``./dev server``, else Prefect's temporary server).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from oso_core import declared_sources, find_source

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sources = declared_sources()
        print("usage: python -m flows SOURCE [options]   (python -m flows SOURCE --help for its options)\n")
        width = max(map(len, sources), default=0)
        for name, source in sources.items():
            print(f"  {name:<{width}}  {source.description}")
        return 0
    name, *rest = argv
    try:
        source, stand_in = find_source(name)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    from oso_core import run_source_cli, source_parser

    if stand_in is not None:
        source_parser(source, stand_in)[0].parse_args(rest)  # --help and usage errors exit here, nothing imported
    from oso_core import use_local_server

    use_local_server()  # before the flow's import reads Prefect's settings
    return run_source_cli(source, source.load_flow(), rest)


if __name__ == "__main__":
    sys.exit(main())
