"""Opening the sqlmesh project: its own config (models, macros, defaults, variables) on the gateway we build.

The project's ``config.yaml`` / ``config.py`` says how its models are written; where they run is ours: its
gateways are replaced by the one of ``oso_core.transform.gateway`` (OSO's own ``config.py`` points at env-named
DuckDB files and Trino hosts), its cache goes to the lake home (never into the repository), sqlmesh's anonymous
usage analytics are off, Python requirements are not inferred (unless the project says so), and the variable
``oso_source_schema`` tells a macro the rule ``@oso_source`` names follow on this gateway (OSO's own macros read
``oso_source_rewrite`` and their engine's dialect instead).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from sqlglot import exp

from oso_core.transform.errors import TransformError
from oso_core.transform.gateway import GATEWAY_NAME

CONFIG_FILES = ("config.yaml", "config.yml", "config.py")
PROJECT_SETTING = "DAGSTER__TRANSFORM__PROJECT"


def check_project(path: Path) -> None:
    """A clear error for a project folder that is missing or holds no sqlmesh project."""
    if not path.exists():
        raise TransformError(f"the sqlmesh project {path} does not exist (setting {PROJECT_SETTING})")
    if not path.is_dir():
        raise TransformError(f"the sqlmesh project {path} is a file, not a folder (setting {PROJECT_SETTING})")
    if not any((path / name).is_file() for name in CONFIG_FILES):
        raise TransformError(
            f"{path} is not a sqlmesh project: it has none of {', '.join(CONFIG_FILES)} (setting {PROJECT_SETTING})"
        )
    if not (path / "models").is_dir():
        raise TransformError(f"{path} is not a sqlmesh project: it has no models/ folder (setting {PROJECT_SETTING})")


def project_config(path: Path, gateway: Any, variables: dict[str, Any], cache_dir: Path) -> Any:
    """The project's own sqlmesh ``Config`` with our gateway, cache folder and variables."""
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_configs

    try:
        config = load_configs(None, Config, [path])[path.absolute()]
    except Exception as error:  # noqa: BLE001 - sqlmesh's ConfigError, or a config.py that raised
        raise TransformError(f"the sqlmesh project {path}: its config cannot be read: {error}") from None
    update = {
        "gateways": {GATEWAY_NAME: gateway},
        "default_gateway": GATEWAY_NAME,
        "variables": {**config.variables, **variables},
        "cache_dir": str(cache_dir),
        "disable_anonymized_analytics": True,
    }
    if "infer_python_dependencies" not in config.model_fields_set:
        # sqlmesh would scan every installed distribution (importlib's packages_distributions, ~1.5 s) on each plan
        # to list the Python packages macros import, for a requirements lock we never use: the run stays in this
        # process. A project that sets the option keeps its own choice.
        update["infer_python_dependencies"] = False
    return config.model_copy(update=update)


@functools.cache
def lake_context_class() -> type:
    """sqlmesh's ``Context`` without its usage-analytics wrappers.

    ``Context.plan``, ``plan_builder``, ``run``, ``test`` (which ``plan`` calls for the project's unit tests) and
    the other public methods are wrapped by ``python_api_analytics``, which calls ``inspect.stack()`` on every call
    (reading a source line for every frame of the caller's stack, deep under a Prefect flow: ~0.15 s each, and the
    first call imports sqlmesh's notebook magics) only to decide whether to report the call, even with analytics
    disabled, as ours always are (``project_config``). ``functools.wraps`` keeps each wrapped function on
    ``__wrapped__``; the subclass takes those, so a method sqlmesh stops wrapping is simply inherited.
    """
    from sqlmesh import Context

    unwrapped = {}
    for name in dir(Context):
        method = getattr(Context, name)
        code = getattr(method, "__code__", None)  # wraps() copies the name, not the code, of the wrapped function
        if hasattr(method, "__wrapped__") and code and code.co_qualname.startswith("python_api_analytics."):
            unwrapped[name] = method.__wrapped__
    return type("LakeContext", (Context,), {**unwrapped, "__doc__": lake_context_class.__doc__})


def open_context(path: Path, config: Any) -> Any:
    """A sqlmesh ``Context`` over the project; a model that does not parse is an error naming its file."""
    try:
        return lake_context_class()(paths=[path], config={path.absolute(): config}, gateway=GATEWAY_NAME)
    except TransformError:
        raise
    except Exception as error:  # noqa: BLE001 - sqlmesh's ConfigError / ParsetimeError name the file
        raise TransformError(f"the sqlmesh project {path} cannot be loaded: {error}") from None


def external_tables(context: Any) -> dict[str, set[str]]:
    """Per model, the tables it reads that are not models of the project (``schema.table``)."""
    models = {m.fqn for m in context.models.values()}
    reads: dict[str, set[str]] = {}
    for model in context.models.values():
        for dependency in model.depends_on:
            if dependency in models:
                continue
            table = exp.to_table(dependency, dialect="duckdb")
            reads.setdefault(model.name, set()).add(f"{table.db}.{table.name}")
    return reads


def namespace_of(schema: str, rule: str) -> str:
    """The lake namespace a schema stands for: ``sources__bigquery__ossd`` → ``ossd`` under OSO's rule, else the
    schema itself (``ossd``)."""
    pattern = re.escape(rule).replace(re.escape("{catalog}"), "[A-Za-z0-9_]+").replace(re.escape("{db}"), "(?P<db>.+)")
    match = re.fullmatch(pattern, schema)
    return match.group("db") if match else schema


def check_inputs(context: Any, views: dict[str, str], rule: str) -> None:
    """Every table a model reads outside the project is one the lake has; else an error naming the model and the
    table, with the tables the lake has in that namespace (``views``: ``{schema.table: lake table}``)."""
    namespaces = sorted({lake.split(".", 1)[0] for lake in views.values()})
    for model, tables in sorted(external_tables(context).items()):
        for name in sorted(tables):
            if name in views:
                continue
            namespace = namespace_of(name.split(".", 1)[0], rule)
            have = sorted({lake for lake in views.values() if lake.startswith(f"{namespace}.")})
            if not have:
                raise TransformError(
                    f"model {model} reads {name}, but the lake has no namespace {namespace!r}; "
                    f"its namespaces: {', '.join(namespaces) or 'none'}"
                )
            raise TransformError(
                f"model {model} reads {name}, which the lake does not have; "
                f"namespace {namespace} has: {', '.join(have)}"
            )
