"""``python -m flows <source>``: one command line for every source, derived from its flow's parameters.

Each flow parameter becomes an option (``max_windows`` → ``--max-windows``; a ``bool`` is a switch, a list
takes several values); its help is the ``Annotated[..., "help"]`` text of the parameter, else a shared text for
the common ones (``base_url``, ``start``, ...). Secret-like values are refused here too, before Prefect sees them.
In a checkout, the development package ``oso_dev`` adds ``--replay`` (load the source's recorded fixtures from
a local server) and ``--record`` (call the live API and save its answers as those fixtures); installed code
never needs it.

``python -m flows`` builds the parser first from a stand-in of the flow read from the source's file
(``oso_core.engine.declarations``: same parameters, defaults and docstring, no import of Prefect or Polars), so
``--help`` and usage errors answer at once; only a run imports the real flow, after the Prefect API is chosen
(``oso_core.engine.prefect_api``).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from oso_core.base.extensions import extension_modules
from oso_core.engine.prefect_api import quiet_telemetry
from oso_core.model.sources import Source

COMMON_HELP = {
    "base_url": "API base URL (default: setting <source>.base_url, else the declared URL)",
    "start": "load windows from this date (YYYY-MM-DD), whatever their state",
    "end": "load windows up to this date (exclusive; default now)",
    "max_windows": "without --start/--end: at most this many missing or faulty windows per run",
    "tables": "load only these tables",
    "max_workers": "requests in flight at once",
    "min_interval": "seconds between requests (default: setting <source>.min_interval)",
    "full_refresh": "reload every row instead of only those changed since the last load",
}

# Prefect's analytics, off for the project's own runs unless the environment says otherwise (see
# ``oso_core.engine.prefect_api.quiet_telemetry``). At import, so it precedes any flow call (every source module, and so
# the weekly pipeline, imports this module); the command lines also set it before Prefect is imported.
quiet_telemetry()


def _unwrap(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[T, "help"] | None`` → (T, "help"); ``T | None`` → (T, None)."""
    help_text = None
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        help_text = next((e for e in extra if isinstance(e, str)), None)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else str
    return annotation, help_text


def add_parameter_options(parser: argparse.ArgumentParser, fn: Callable[..., Any], source: Source) -> list[str]:
    """An option per parameter of ``fn``; returns the parameter names in order."""
    hints = typing.get_type_hints(getattr(fn, "fn", fn), include_extras=True)
    names = []
    for name, parameter in inspect.signature(fn).parameters.items():
        kind, help_text = _unwrap(hints.get(name, str))
        help_text = (help_text or COMMON_HELP.get(name, "")).replace("<source>", source.name)
        default = None if parameter.default is inspect.Parameter.empty else parameter.default
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif typing.get_origin(kind) in (list, tuple):
            (item,) = typing.get_args(kind)[:1] or (str,)
            parser.add_argument(flag, nargs="+", type=item, default=default, metavar=name.upper(), help=help_text)
        else:
            shown = f" (default {default})" if default not in (None, "") else ""
            kind = kind if kind in (int, float) else str
            parser.add_argument(flag, type=kind, default=default, help=help_text + shown)
        names.append(name)
    return names


def source_parser(source: Source, fn: Callable[..., Any]) -> tuple[argparse.ArgumentParser, list[str]]:
    doc = inspect.getdoc(getattr(fn, "fn", fn)) or source.description
    parser = argparse.ArgumentParser(
        prog=f"python -m flows {source.name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Tables: " + ", ".join(f"{source.lake_namespace}.{t.name} ({t.mode})" for t in source.tables),
    )
    names = add_parameter_options(parser, fn, source)
    dev = _dev_package()
    if dev is not None:
        dev.add_arguments(parser)
    return parser, names


def _dev_package() -> Any:
    """The extension adding ``--replay``/``--record`` (``oso_dev.cli`` in a checkout), else None."""
    found = extension_modules("add_arguments", "wanted", "session")
    return found[0] if found else None


def run_source_cli(source: Source, flow_fn: Callable[..., Any], argv: list[str] | None = None) -> int:
    """Parse arguments, run the source's flow, return an exit code (the flow logged its own traceback)."""
    quiet_telemetry()
    from oso_core.model.secret_params import SecretParameterError, check_parameters

    parser, names = source_parser(source, flow_fn)
    args = parser.parse_args(argv)
    params = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    try:
        check_parameters(source, params)  # before Prefect stores them with the run (and before any replay starts)
        dev = _dev_package()
        if dev is not None and dev.wanted(args):
            with dev.session(source, args) as overrides:
                flow_fn(**{**params, **overrides})
        else:
            flow_fn(**params)
    except SecretParameterError as exc:
        print(f"{source.name}: refused: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the flow already logged the traceback; say it in one line
        print(f"{source.name}: load failed: {exc}", file=sys.stderr)
        return 1
    return 0
