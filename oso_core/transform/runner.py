"""One transform: pin the lake, open the sqlmesh project on our gateway, plan the environment with auto-apply, run
it, and say per model what happened (the flow publishes from that, ``oso_core.transform.publish``).

The steps, in order, each failing with a ``TransformError`` that names what to fix before anything changes:

1. the project folder (setting ``transform.project``) is a sqlmesh project;
2. the gateway and state connection are built from the settings (``oso_core.transform.gateway``);
3. every lake table is pinned and exposed as a view (``oso_core.transform.lake_views``, DuckDB gateway);
4. the project loads (a model that does not parse names its file), and every table a model reads outside the
   project is a lake table (else the model, the table and the namespace's tables are named);
5. ``Context.plan(environment, auto_apply=True)`` then ``Context.run(environment)``, as OSO's Dagster asset did
   through ``dagster-sqlmesh``. A model whose inputs moved since its published snapshot (the lake snapshots it was
   published from are in its properties) is restated, so a FULL model on a daily cron still sees this week's load.
   A model that fails (SQL error, failed blocking audit) is recorded with its error; sqlmesh skips its downstream.

``--dry-run`` stops after building the plan and returns its text; nothing is applied.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oso_core.base.masking import mask_secrets
from oso_core.config import settings
from oso_core.transform.console import ModelRecord, RecordingConsole
from oso_core.transform.errors import TransformError
from oso_core.transform.gateway import GatewayFiles, GatewayPlan, build_gateway, source_rule
from oso_core.transform.lake_views import Pin, input_tables, pin_tables, write_views
from oso_core.transform.project import (
    check_inputs,
    check_project,
    external_tables,
    namespace_of,
    open_context,
    project_config,
)
from oso_core.transform.provenance import published_inputs

logger = logging.getLogger("oso.transform")

UNPUBLISHED_KINDS = {"EXTERNAL", "EMBEDDED"}


@dataclass(frozen=True)
class TransformOptions:
    """What one run does; ``None`` fields take the settings' values."""

    project: Path | None = None
    environment: str | None = None
    select: tuple[str, ...] = ()
    restate: tuple[str, ...] = ()
    dry_run: bool = False


@dataclass
class ModelOutcome:
    """One model after sqlmesh's plan and run: what to publish from (``table``) and what to report."""

    model: str
    kind: str
    tags: tuple[str, ...]
    audits: tuple[str, ...]
    state: str  # evaluated | current | failed | skipped | not in environment
    error: str = ""
    failed_audits: tuple[str, ...] = ()
    table: str = ""  # the environment's physical table in the gateway database
    snapshot: str = ""  # sqlmesh snapshot id: <name>:<fingerprint identifier>
    version: str = ""
    inputs: dict[str, int | None] = field(default_factory=dict)  # lake table → pinned snapshot id read
    upstream: tuple[str, ...] = ()  # the project models it reads
    duration_ms: int = 0

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "skipped")

    def audit_text(self) -> str:
        if not self.audits:
            return "-"
        if self.state == "evaluated" or self.failed_audits:
            return ", ".join(f"{a} {'failed' if a in self.failed_audits else 'ok'}" for a in self.audits)
        return ", ".join(f"{a} (not run)" for a in self.audits)


@dataclass
class TransformRun:
    """A whole run: where it ran, what it read (the pins), the plan, and every model's outcome."""

    project: Path
    environment: str
    gateway: str
    state: str
    pins: dict[str, Pin]
    plan_id: str = ""
    models: list[ModelOutcome] = field(default_factory=list)
    restated: tuple[str, ...] = ()
    plan_text: str = ""
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ModelOutcome]:
        return [m for m in self.models if m.failed]


def run_transform(options: TransformOptions, warehouse: Any = None) -> TransformRun:
    """Plan and run the project over the lake as the settings and ``options`` say; see the module's steps."""
    from oso_core.warehouse import Warehouse

    typed = settings.transform()
    project = (options.project or typed.project).expanduser().resolve()
    environment = options.environment or typed.environment
    check_project(project)
    files = GatewayFiles.in_home()
    gateway = build_gateway(typed, files)
    rule = source_rule(typed)
    warehouse = warehouse or Warehouse()
    pins = pin_tables(warehouse.catalog, input_tables(warehouse.catalog, typed.output_namespace))
    run = TransformRun(project, environment, gateway.kind, gateway.state, pins, dry_run=options.dry_run)
    config = project_config(project, gateway.gateway, {"oso_source_schema": rule}, files.folder / "cache")
    console = RecordingConsole()
    with _sqlmesh_errors(gateway, files), _console(console), ThreadPoolExecutor(1, "oso-lake-views") as side:
        # The views are written while the project loads: loading the iceberg extension (DuckDB, no GIL held) and
        # parsing the models (Python) overlap, ~0.2 s of every run.
        exposing = side.submit(_expose_lake, gateway, pins, rule) if gateway.kind == "duckdb" else None
        try:
            context = open_context(project, config)
        except BaseException:
            if exposing is not None:
                with contextlib.suppress(Exception):
                    exposing.result()
            _forget_adapters((files.database, files.state), close=True)
            raise
        try:
            views = exposing.result() if exposing is not None else {}
            if gateway.kind == "duckdb":
                check_inputs(context, views, rule)
            inputs = model_inputs(context, views, pins, rule)
            restate = tuple(options.restate) + tuple(
                m for m in moved_inputs(warehouse, context, inputs, typed.output_namespace) if m not in options.restate
            )
            run.restated = restate
            plan_options: dict[str, Any] = {
                "restate_models": list(restate) or None,
                "select_models": list(options.select) or None,
            }
            if options.dry_run:
                run.plan_text = describe_plan(context.plan_builder(environment, **plan_options).build())
                return run
            _plan_and_run(context, console, environment, plan_options, options.select)
            run.models = outcomes(context, console, environment, inputs)
            env = context.state_sync.get_environment(environment)
            run.plan_id = env.plan_id if env else ""
            run.errors = [e for e in console.errors if e]
        finally:
            context.close()
            _forget_adapters((files.database, files.state))
    return run


def _plan_and_run(
    context: Any,
    console: RecordingConsole,
    environment: str,
    plan_options: dict[str, Any],
    select: tuple[str, ...],
) -> None:
    """Plan with auto-apply, then run; a model failing in either is recorded by the console, not raised.

    A plan that fails with no model failed (a selection matching no model, an invalid plan) is raised as a
    ``TransformError`` naming the selections: nothing ran, and a run reporting success would hide it."""
    from sqlmesh.utils.errors import PlanError

    try:
        context.plan(environment, auto_apply=True, no_prompts=True, **plan_options)
    except PlanError as error:
        if not any(record.failed for record in console.models.values()):
            flags = (("--select", plan_options["select_models"]), ("--restate", plan_options["restate_models"]))
            chosen = "; ".join(f"{flag} {' '.join(models)}" for flag, models in flags if models)
            where = f" ({chosen})" if chosen else ""
            raise TransformError(f"sqlmesh could not plan environment {environment}{where}: {error}") from None
        logger.error("sqlmesh: plan for %s failed: %s", environment, error)
        return  # the environment keeps its previous models; the failed ones are in the console's record
    context.run(environment, select_models=list(select) or None)


def describe_plan(plan: Any) -> str:
    """The plan's changes and missing intervals, in a few lines by model name (``--dry-run``)."""
    from oso_core.transform.console import model_name

    def names(items: Any) -> list[str]:
        return sorted(model_name(getattr(item, "name", item)) for item in items)

    lines = [f"plan for environment {plan.environment.name}:"]
    changes = plan.context_diff
    for title, found in (
        ("added", names(changes.new_snapshots.values())),
        ("directly modified", names(plan.directly_modified)),
        ("indirectly modified", names(plan.indirectly_modified)),
        ("removed", names(changes.removed_snapshots.values())),
        ("restated", names(plan.restatements)),
    ):
        if found:
            lines.append(f"  {title}: {', '.join(found)}")
    missing = plan.missing_intervals
    if missing:
        lines.append("  to evaluate:")
        lines.extend(f"    {model_name(m.snapshot_id.name)}: {len(m.intervals)} interval(s)" for m in missing)
    if len(lines) == 1:
        lines.append("  no changes, nothing to evaluate")
    return "\n".join(lines)


def model_inputs(context: Any, views: dict[str, str], pins: dict[str, Pin], rule: str) -> dict[str, dict[str, Any]]:
    """Per model, the lake snapshots it reads, directly or through the models it reads (transitive)."""
    direct = external_tables(context)
    by_fqn = {m.fqn: m for m in context.models.values()}
    result: dict[str, dict[str, Any]] = {}
    for fqn in context.dag.sorted:
        model = by_fqn.get(fqn)
        if model is None:
            continue
        reads: dict[str, Any] = {}
        for name in sorted(direct.get(model.name, ())):
            lake = views.get(name) or _lake_name(name, rule)
            if lake in pins:
                reads[lake] = pins[lake].snapshot_id
        for parent in context.dag.upstream(fqn):
            if parent in by_fqn:
                reads.update(result.get(by_fqn[parent].name, {}))
        result[model.name] = dict(sorted(reads.items()))
    return result


def _lake_name(name: str, rule: str) -> str:
    schema, table = name.split(".", 1)
    return f"{namespace_of(schema, rule)}.{table}"


def published_name(model: str, namespace: str) -> str:
    """``oso.stg_x`` → ``<namespace>.stg_x``; a model of another schema keeps it as a prefix (``a.b`` → ``a__b``)."""
    schema, _, table = model.rpartition(".")
    return f"{namespace}.{table}" if schema in ("", "oso") else f"{namespace}.{schema}__{table}"


def moved_inputs(warehouse: Any, context: Any, inputs: dict[str, dict[str, Any]], namespace: str) -> list[str]:
    """The published models whose lake inputs have a newer snapshot than the one they were published from: sqlmesh
    does not know a lake table changed, so these are restated (their downstream follow)."""
    moved = []
    for model in context.models.values():
        if model.kind.name.name in UNPUBLISHED_KINDS:
            continue
        before = published_inputs(warehouse.catalog, published_name(model.name, namespace))
        if before is not None and before != {k: v for k, v in inputs.get(model.name, {}).items()}:
            moved.append(model.name)
    return sorted(moved)


def outcomes(context: Any, console: RecordingConsole, environment: str, inputs: dict[str, dict[str, Any]]) -> list:
    """Every model of the project, in dependency order, with what sqlmesh did to it in this run."""
    env = context.state_sync.get_environment(environment)
    promoted = {s.name: s for s in env.snapshots} if env else {}
    by_fqn = {m.fqn: m for m in context.models.values()}
    local = context.snapshots
    results: list[ModelOutcome] = []
    broken: dict[str, str] = {}  # model fqn → the failed model it is (or descends from)
    for fqn in context.dag.sorted:
        model = by_fqn.get(fqn)
        if model is None or model.kind.name.name in UNPUBLISHED_KINDS:
            continue
        record = console.models.get(model.name) or ModelRecord(model.name)
        upstream = tuple(sorted(by_fqn[p].name for p in context.dag.upstream(fqn) if p in by_fqn))
        failed_parent = next((broken[p] for p in context.dag.upstream(fqn) if p in broken), None)
        info = promoted.get(fqn)
        outcome = ModelOutcome(
            model=model.name,
            kind=model.kind.name.name,
            tags=tuple(model.tags),
            audits=tuple(name for name, _ in model.audits),
            state="evaluated" if record.batches else "current",
            failed_audits=tuple(record.failed_audits),
            inputs=inputs.get(model.name, {}),
            upstream=upstream,
            duration_ms=record.duration_ms,
        )
        # What this run evaluated is what is published, even if a failure elsewhere kept the plan from promoting
        # it; a model not evaluated now publishes what the environment shows.
        evaluated = local.get(fqn) if record.batches and not record.failed else None
        if evaluated is not None or info is not None:
            chosen = evaluated or info
            outcome.table = chosen.table_name()
            outcome.snapshot = f"{model.name}:{chosen.fingerprint.to_identifier()}"
            outcome.version = chosen.version
        if record.failed:
            outcome.state, outcome.error = "failed", record.error
            broken[fqn] = model.name
        elif failed_parent is not None or record.skipped:
            outcome.state = "skipped"
            outcome.error = f"not run: upstream model {failed_parent or '?'} failed"
            broken[fqn] = failed_parent or model.name
        elif not outcome.table:
            outcome.state = "not in environment"
        results.append(outcome)
    return results


@contextlib.contextmanager
def _console(console: RecordingConsole) -> Iterator[None]:
    """sqlmesh's console is process-wide: ours for the run, the previous one after."""
    from sqlmesh.core.console import get_console, set_console

    previous = get_console()
    set_console(console)
    try:
        yield
    finally:
        set_console(previous)


def _expose_lake(gateway: GatewayPlan, pins: dict[str, Pin], rule: str) -> dict[str, str]:
    """The pinned views, written through the gateway's engine adapter: sqlmesh keeps one DuckDB adapter per data
    file, so the context that opens next gets this same adapter (one connection, the extension loaded once)."""
    adapter = gateway.gateway.connection.create_engine_adapter()
    return write_views(adapter.cursor, adapter.default_catalog, pins, rule)


def _forget_adapters(data_files: tuple[Path, ...], close: bool = False) -> None:
    """sqlmesh keeps one DuckDB adapter per data file for the process (the gateway's and the state's); the next run
    must open each file afresh (its views were rewritten, and a closed adapter must not be handed out again), and a
    long-lived process must not keep one per lake home it ever ran in. ``close``: close them first (no context
    took them, so nothing else will)."""
    from sqlmesh.core.config.connection import BaseDuckDBConnectionConfig

    cached = BaseDuckDBConnectionConfig._data_file_to_adapter
    for key in [k for k in cached if Path(k) in data_files]:
        adapter = cached.pop(key, None)
        if close and adapter is not None:
            with contextlib.suppress(Exception):
                adapter.close()


@contextlib.contextmanager
def _sqlmesh_errors(gateway: GatewayPlan, files: GatewayFiles) -> Iterator[None]:
    """sqlmesh's and the drivers' errors about the state database turned into errors naming what to fix."""
    try:
        yield
    except TransformError as error:
        raise TransformError(mask_secrets(str(error), gateway.secrets)) from None
    except Exception as error:
        text = mask_secrets(f"{type(error).__name__}: {error}", gateway.secrets)
        lowered = text.lower()
        if "could not set lock" in lowered or "conflicting lock" in lowered:
            raise TransformError(
                f"the sqlmesh state or gateway database is locked by another process ({gateway.state}; gateway "
                f"{files.database}): wait for the other transform to end, or stop it. {text.splitlines()[0]}"
            ) from None
        if "operationalerror" in lowered or "connection refused" in lowered or "could not connect" in lowered:
            raise TransformError(
                f"the sqlmesh state database is unreachable ({gateway.state}; DAGSTER__TRANSFORM__STATE_URI or "
                f"DAGSTER__ICEBERG__CATALOG_URI): {text.splitlines()[0]}"
            ) from None
        raise
