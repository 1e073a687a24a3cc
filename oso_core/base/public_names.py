"""The table behind the library's public face: each name ``flows/`` and the scaffold's templates import from
``oso_core``, and the module that defines it.

Why a table: a source imports ``from oso_core import Source, source_flow``, never a module path, so a later move
inside the library changes this table and nothing in ``flows/``. ``oso_core/__init__.py`` imports a name's module
on first use (PEP 562), so ``--help`` still imports neither Prefect nor Polars; ``oso_core.engine.declarations``
reads the same table to follow an import from ``oso_core`` without running it. Plain data, importing nothing:
``tests/test_structure.py`` checks that ``flows/`` and the templates import only names listed here.
"""

from __future__ import annotations

# name -> the module that defines it (or, for a constant, the module it is read from)
NAMES: dict[str, str] = {
    # oso_core.errors
    "BadFileError": "oso_core.errors",
    "MalformedResponse": "oso_core.errors",
    "PageFailed": "oso_core.errors",
    "RecordError": "oso_core.errors",
    "SourceError": "oso_core.errors",
    # oso_core.base.naming
    "snake_case": "oso_core.base.naming",
    # oso_core.config.secrets.base
    "SecretInaccessibleError": "oso_core.config.secrets.base",
    "SecretReference": "oso_core.config.secrets.base",
    # oso_core.config.settings.models
    "MaintenanceSettings": "oso_core.config.settings.models",
    "SourceSettings": "oso_core.config.settings.models",
    # oso_core.warehouse
    "Warehouse": "oso_core.warehouse",
    # oso_core.warehouse.catalog
    "open_catalog": "oso_core.warehouse.catalog",
    # oso_core.warehouse.errors
    "WarehouseError": "oso_core.warehouse.errors",
    # oso_core.warehouse.lake_inputs
    "PROJECTS_TABLE": "oso_core.warehouse.lake_inputs",
    "column_values": "oso_core.warehouse.lake_inputs",
    "project_urls": "oso_core.warehouse.lake_inputs",
    # oso_core.warehouse.lake_migration
    "drop_table": "oso_core.warehouse.lake_migration",
    "rename_table": "oso_core.warehouse.lake_migration",
    # oso_core.warehouse.load_state
    "FAULTY": "oso_core.warehouse.load_state",
    "LOADED": "oso_core.warehouse.load_state",
    "LoadState": "oso_core.warehouse.load_state",
    # oso_core.warehouse.maintenance
    "DEFAULT_KEEP_LAST": "oso_core.warehouse.maintenance",
    "DEFAULT_ORPHAN_AGE_HOURS": "oso_core.warehouse.maintenance",
    "DEFAULT_RETENTION_DAYS": "oso_core.warehouse.maintenance",
    "DEFAULT_TARGET_FILE_MIB": "oso_core.warehouse.maintenance",
    "MIB": "oso_core.warehouse.maintenance",
    "MaintenancePolicy": "oso_core.warehouse.maintenance",
    "TableReport": "oso_core.warehouse.maintenance",
    "all_tables": "oso_core.warehouse.maintenance",
    "check_orphan_age": "oso_core.warehouse.maintenance",
    "maintain_table": "oso_core.warehouse.maintenance",
    # oso_core.warehouse.quality
    "NotNull": "oso_core.warehouse.quality",
    "Unique": "oso_core.warehouse.quality",
    "accepting": "oso_core.warehouse.quality",
    # oso_core.transport.archive
    "WRITE_BATCH_BYTES": "oso_core.transport.archive",
    "coalesce": "oso_core.transport.archive",
    "csv_batches": "oso_core.transport.archive",
    "iter_members": "oso_core.transport.archive",
    "jsonl_batches": "oso_core.transport.archive",
    "parquet_batches": "oso_core.transport.archive",
    # oso_core.transport.archive_staging
    "stage_archive_csvs": "oso_core.transport.archive_staging",
    # oso_core.transport.download
    "downloaded": "oso_core.transport.download",
    # oso_core.transport.fanout
    "FanOutResult": "oso_core.transport.fanout",
    "fan_out": "oso_core.transport.fanout",
    # oso_core.transport.git_checkout
    "CheckoutError": "oso_core.transport.git_checkout",
    "Revision": "oso_core.transport.git_checkout",
    "checkout": "oso_core.transport.git_checkout",
    # oso_core.transport.github
    "GitHubClient": "oso_core.transport.github",
    "repositories_frame": "oso_core.transport.github",
    "repository_row": "oso_core.transport.github",
    "resolve_repositories": "oso_core.transport.github",
    # oso_core.transport.github_urls
    "parse_github_url": "oso_core.transport.github_urls",
    # oso_core.transport.graphql
    "GraphQLClient": "oso_core.transport.graphql",
    "PageRetry": "oso_core.transport.graphql",
    "configured_retry": "oso_core.transport.graphql",
    "fetch_count": "oso_core.transport.graphql",
    "paginate_graphql_keyset": "oso_core.transport.graphql",
    "paginate_graphql_offset": "oso_core.transport.graphql",
    # oso_core.transport.graphql_frames
    "JSON": "oso_core.transport.graphql_frames",
    "NodeSchema": "oso_core.transport.graphql_frames",
    "frame_from_pages": "oso_core.transport.graphql_frames",
    # oso_core.transport.http
    "HttpClient": "oso_core.transport.http",
    # oso_core.transport.jsonrpc
    "JsonRpcClient": "oso_core.transport.jsonrpc",
    "RpcError": "oso_core.transport.jsonrpc",
    "describe_call": "oso_core.transport.jsonrpc",
    # oso_core.transport.records
    "Where": "oso_core.transport.records",
    "concat_frames": "oso_core.transport.records",
    "from_unix": "oso_core.transport.records",
    "json_text": "oso_core.transport.records",
    "records_to_frame": "oso_core.transport.records",
    # oso_core.model.migrations
    "CallFunction": "oso_core.model.migrations",
    "DropColumnsUnless": "oso_core.model.migrations",
    "RenameColumns": "oso_core.model.migrations",
    "RenameTable": "oso_core.model.migrations",
    # oso_core.model.sources
    "Source": "oso_core.model.sources",
    "TableSpec": "oso_core.model.sources",
    "WindowGrid": "oso_core.model.sources",
    "discover_sources": "oso_core.model.sources",
    # oso_core.engine.cli
    "run_source_cli": "oso_core.engine.cli",
    "source_parser": "oso_core.engine.cli",
    # oso_core.engine.declarations
    "declared_sources": "oso_core.engine.declarations",
    "find_source": "oso_core.engine.declarations",
    # oso_core.engine.flow
    "SourceRun": "oso_core.engine.flow",
    "source_flow": "oso_core.engine.flow",
    # oso_core.engine.flow_guard
    "guarded_flow": "oso_core.engine.flow_guard",
    # oso_core.engine.prefect_api
    "use_local_server": "oso_core.engine.prefect_api",
    "use_local_server_as_command": "oso_core.engine.prefect_api",
    # oso_core.engine.summary
    "LoadSummary": "oso_core.engine.summary",
    # oso_core.engine.windows
    "DEFAULT_MAX_WINDOWS": "oso_core.engine.windows",
    "FaultyWindowsError": "oso_core.engine.windows",
    "Window": "oso_core.engine.windows",
    "windows_between": "oso_core.engine.windows",
    # oso_core.kinds.rest_source
    "Call": "oso_core.kinds.rest_source",
    "described": "oso_core.kinds.rest_source",
    "dynamic_attribute": "oso_core.kinds.rest_source",
    # oso_core.kinds.sql_source
    "replicated": "oso_core.kinds.sql_source",
    # oso_core.transform.gateway
    "GatewayFiles": "oso_core.transform.gateway",
    # oso_core.transform.publish
    "Published": "oso_core.transform.publish",
    "Publisher": "oso_core.transform.publish",
    # oso_core.transform.runner
    "TransformOptions": "oso_core.transform.runner",
    "run_transform": "oso_core.transform.runner",
    # oso_core.ops.alerts
    "WEEKLY_PART_PREFIX": "oso_core.ops.alerts",
    "alert_on_failure": "oso_core.ops.alerts",
    "failure_state_message": "oso_core.ops.alerts",
    "first_error_line": "oso_core.ops.alerts",
    # oso_core.ops.freshness
    "FRESH": "oso_core.ops.freshness",
    "model_ages": "oso_core.ops.freshness",
    "summary_line": "oso_core.ops.freshness",
    "table_ages": "oso_core.ops.freshness",
    # oso_core.ops.pipeline
    "TASK_RUNNERS": "oso_core.ops.pipeline",
    "build_task_runner": "oso_core.ops.pipeline",
    "configured_concurrency": "oso_core.ops.pipeline",
    "render_summary": "oso_core.ops.pipeline",
    "run_sources": "oso_core.ops.pipeline",
    "select_sources": "oso_core.ops.pipeline",
}

# modules the face hands out whole (``from oso_core import settings``: ``settings.source("npm")``)
MODULES: dict[str, str] = {
    "alerts": "oso_core.ops.alerts",
    "settings": "oso_core.config.settings",
}
