"""``python flows/<source>.py``: the same command line for every source.

``--replay`` serves the source's fixtures locally and points it there (offline runs, the README's main job);
``--base-url`` points it at any server; source-specific options are added by the source module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from oso_core.secret_params import SecretParameterError, check_parameters
from oso_core.sources import Source


def source_parser(source: Source, description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python flows/{source.name}.py",
        description=description or source.description or f"Load {source.name} into the lake.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Tables: " + ", ".join(f"{source.lake_namespace}.{t.name} ({t.mode})" for t in source.tables),
    )
    parser.add_argument(
        "--replay", action="store_true", help="serve the recorded fixtures from a local server and load those"
    )
    if source.base_url is not None:
        parser.add_argument(
            "--base-url",
            default=None,
            help=f"API base URL (default: setting {source.name}.base_url, else {source.base_url})",
        )
    return parser


def run_source_cli(
    source: Source,
    flow_fn: Callable[..., Any],
    argv: list[str] | None = None,
    *,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    to_parameters: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
    replay: Callable[[], Any] | None = None,
) -> int:
    """Parse arguments, run the source's flow (against replayed fixtures with ``--replay``), return an exit code.

    Parameters are checked for secret values before the flow is called (exit code 2): Prefect stores a run's
    parameters on the server as it creates the run, so a refusal inside the flow would come too late.
    """
    import importlib

    from oso_core.replay import replay_parameters

    parser = source_parser(source, (flow_fn.__doc__ or "").strip() or None)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    params = to_parameters(args) if to_parameters else {}
    if getattr(args, "base_url", None):
        params["base_url"] = args.base_url
    try:
        check_parameters(source, params)  # before Prefect stores them with the run (and before any replay starts)
    except SecretParameterError as exc:
        print(f"{source.name}: refused: {exc}", file=sys.stderr)
        return 2
    try:
        if args.replay:
            module = importlib.import_module(flow_fn.__module__)
            context = replay() if replay else replay_parameters(source, module)
            with context as replayed:
                merged = {**params, **replayed}
                check_parameters(source, merged)
                flow_fn(**merged)
        else:
            flow_fn(**params)
    except SecretParameterError as exc:
        print(f"{source.name}: refused: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the flow already logged the traceback; say it in one line
        print(f"{source.name}: load failed: {exc}", file=sys.stderr)
        return 1
    return 0
