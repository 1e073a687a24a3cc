"""``python flows/<source>.py``: the same command line for every source.

``--replay`` serves the source's fixtures locally and points it there (offline runs, the README's main job);
``--base-url`` points it at any server; source-specific options are added by the source module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from oso_core.sources import Source

# Prefect's analytics, off for the project's own runs unless the environment says otherwise. A run without
# PREFECT_API_URL starts an ephemeral Prefect server in a subprocess that inherits this process's environment; its
# telemetry service POSTs to sens-o-matic.prefect.io at start and, offline, logs "ERROR ... Failed to send
# telemetry" in every run. PREFECT_SERVER_ANALYTICS_ENABLED is that server's setting (Prefect 3.9:
# ServerSettings.analytics_enabled); DO_NOT_TRACK is the client SDK's opt-out, checked when each event is sent.
TELEMETRY_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def quiet_prefect_telemetry() -> None:
    """Set the telemetry opt-outs where the environment has not chosen (``setdefault``: a user's value wins)."""
    for name, value in TELEMETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)


# At import, so it precedes any flow call (every source module, and so the weekly pipeline, imports this module).
quiet_prefect_telemetry()


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
    """Parse arguments, run the source's flow (against replayed fixtures with ``--replay``), return an exit code."""
    import importlib

    quiet_prefect_telemetry()

    from oso_core.replay import replay_parameters

    parser = source_parser(source, (flow_fn.__doc__ or "").strip() or None)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    params = to_parameters(args) if to_parameters else {}
    if getattr(args, "base_url", None):
        params["base_url"] = args.base_url
    try:
        if args.replay:
            module = importlib.import_module(flow_fn.__module__)
            context = replay() if replay else replay_parameters(source, module)
            with context as replayed:
                flow_fn(**{**params, **replayed})
        else:
            flow_fn(**params)
    except Exception as exc:  # noqa: BLE001 - the flow already logged the traceback; say it in one line
        print(f"{source.name}: load failed: {exc}", file=sys.stderr)
        return 1
    return 0
