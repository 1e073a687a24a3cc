"""``python -m oso_core secrets``: check that sources' secrets resolve, and push a ``.env`` into Prefect blocks.

``check [SOURCE ...]`` prints, per source, each declared secret and where it resolved from (env var, ``.env``,
block, GCP secret id) or every place tried; it also flags flow parameters that would carry a secret value into
Prefect's stored parameters. ``push`` creates or updates one Prefect ``Secret`` block per ``PREFIX__GROUP__KEY``
variable of the env file, so deployments on workers without a ``.env`` resolve the same secrets. Neither
command ever prints a value. Exit status: 0 all good, 1 something missing or refused, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from oso_core.config import settings
from oso_core.config.secrets.base import SecretInaccessibleError, SecretResolver, check_snake_case
from oso_core.config.secrets.default import backend_names, default_resolver
from oso_core.config.secrets.env import parse_env_name
from oso_core.config.secrets.prefect_blocks import push_secret
from oso_core.config.secrets.runtime import secret_like_parameters
from oso_core.model.sources import Source, discover_sources

OK, MISSING, USAGE = 0, 1, 2


def _out(line: str = "") -> None:
    print(line, flush=True)


def check_source(source: Source, resolver: SecretResolver) -> bool:
    """Print one source's secrets and where each resolves; ``True`` when all resolve and no parameter leaks."""
    good = True
    _out(f"{source.name}: {len(source.secrets)} secret(s)")
    width = max((len(str(ref)) for ref in source.secrets), default=0)
    for ref in source.secrets:
        try:
            found = resolver.lookup(ref)
        except SecretInaccessibleError as exc:
            good = False
            _out(f"  MISSING  {str(ref):<{width}}  tried: {'; '.join(exc.tried)}")
        else:
            _out(f"  ok       {str(ref):<{width}}  from {found.origin}")
    try:
        suspects = secret_like_parameters(source.load_flow(), source)
    except (AttributeError, ImportError) as exc:
        good = False
        _out(f"  ERROR    flow {source.flow!r} of {source.module} cannot be loaded: {type(exc).__name__}")
    else:
        for name in suspects:
            good = False
            _out(
                f"  PARAM    flow parameter {name!r} of {source.flow} would store a secret value on the Prefect "
                "server; take a SecretReference or nothing and resolve inside the run"
            )
    return good


def run_check(names: Sequence[str], package: str) -> int:
    try:
        resolver = default_resolver()
    except ValueError as exc:
        _out(f"error: {exc}")
        return USAGE
    sources = discover_sources(package)
    unknown = [name for name in names if name not in sources]
    if unknown:
        _out(f"error: no source named {', '.join(unknown)} in {package}; known: {', '.join(sources)}")
        return USAGE
    chosen = [sources[name] for name in names] if names else list(sources.values())
    _out(f"secrets backends: {', '.join(backend_names())} (prefix {settings.secret_prefix()})")
    results = [check_source(source, resolver) for source in chosen]
    missing = results.count(False)
    _out(f"{len(results) - missing} of {len(results)} source(s) ready")
    return OK if not missing else MISSING


def run_push(env_file: Path, prefix: str, dry_run: bool) -> int:
    from prefect.settings import PREFECT_API_URL

    try:
        prefix = check_snake_case(prefix, "secret prefix")
    except ValueError as exc:
        _out(f"error: {exc}")
        return USAGE
    if not env_file.is_file():
        _out(f"error: env file {env_file} does not exist")
        return USAGE
    if not PREFECT_API_URL.value():
        _out("error: push writes Prefect blocks and needs a server; set PREFECT_API_URL")
        return USAGE
    status = OK
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    verb = "would be " if dry_run else ""
    _out(f"push {env_file} -> Prefect Secret blocks (prefix {prefix}){' [dry run]' if dry_run else ''}")
    for name, value in dotenv_values(env_file).items():
        try:
            ref = parse_env_name(name, prefix)
        except ValueError as exc:
            status = MISSING
            _out(f"  SKIPPED    {name}: {exc}")
            continue
        if ref is None:
            continue
        if not value:
            _out(f"  SKIPPED    {name}: empty")
            continue
        result = push_secret(ref, value, prefix, dry_run=dry_run)
        counts[result.action] += 1
        _out(f"  {verb}{result.action:<10} {result.block} <- {name}")
    _out(", ".join(f"{count} {verb}{action}" for action, count in counts.items()))
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m oso_core secrets", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="does every declared secret resolve, and from where")
    check.add_argument("sources", nargs="*", metavar="SOURCE", help="source names (default: all)")
    check.add_argument("--package", default="flows", help="package whose modules declare SOURCE (default: flows)")
    push = commands.add_parser("push", help="copy PREFIX__GROUP__KEY variables of an env file into Prefect blocks")
    push.add_argument("--env-file", type=Path, default=None, help="default: OSO_ENV_FILE or the project's .env")
    push.add_argument("--prefix", default=None, help="default: OSO_SECRET_PREFIX or dagster")
    push.add_argument("--dry-run", action="store_true", help="report created/updated/unchanged, write nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return run_check(args.sources, args.package)
    return run_push(args.env_file or settings.env_file(), args.prefix or settings.secret_prefix(), args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
