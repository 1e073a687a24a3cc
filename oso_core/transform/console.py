"""What sqlmesh did, model by model: a sqlmesh console that records instead of printing.

sqlmesh reports progress only to its console (as ``dagster-sqlmesh`` reads it for OSO's Dagster): each evaluated
batch with its audit counts, the nodes that failed (with the SQL or audit error as their cause) and those skipped
because an upstream failed. ``RecordingConsole`` keeps those per model, so the flow can publish exactly the models
that succeeded and give each its own Prefect task with its audit results; status lines go to the run's log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlmesh.core.console import NoopConsole

logger = logging.getLogger("oso.transform")


def model_name(snapshot_name: str) -> str:
    """``"transform"."oso"."stg_x"`` → ``oso.stg_x`` (the model's name without the gateway's catalog)."""
    table = exp.to_table(snapshot_name, dialect="duckdb")
    return ".".join(part for part in (table.db, table.name) if part)


@dataclass
class ModelRecord:
    """One model's evaluation in this run: batches, audits passed / failed, time, and its error if it failed."""

    name: str
    batches: int = 0
    audits_passed: int = 0
    audits_failed: int = 0
    duration_ms: int = 0
    error: str = ""
    failed_audits: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _error_text(error: BaseException) -> tuple[str, list[str]]:
    """The first useful line of a failed node's cause, and the names of the audits that failed (if that was it)."""
    from sqlmesh.utils.errors import NodeAuditsErrors

    cause = error.__cause__ or error
    if isinstance(cause, NodeAuditsErrors):
        names = [e.audit_name for e in cause.errors]
        return "; ".join(str(e) for e in cause.errors), names
    text = str(cause).strip().splitlines()
    return (f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__), []


class RecordingConsole(NoopConsole):
    """A console keeping, per model, what the evaluation said; thread-safe (sqlmesh evaluates concurrently)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.models: dict[str, ModelRecord] = {}
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def record(self, name: str) -> ModelRecord:
        with self._lock:
            return self.models.setdefault(name, ModelRecord(name))

    def update_snapshot_evaluation_progress(
        self,
        snapshot: Any,
        interval: Any,
        batch_idx: int,
        duration_ms: int | None,
        num_audits_passed: int,
        num_audits_failed: int,
        audit_only: bool = False,
        execution_stats: Any = None,
        auto_restatement_triggers: Any = None,
    ) -> None:
        record = self.record(model_name(snapshot.name))
        with self._lock:
            record.batches += 1
            record.audits_passed += num_audits_passed
            record.audits_failed += num_audits_failed
            record.duration_ms += duration_ms or 0

    def log_failed_models(self, errors: list[Any]) -> None:
        for error in errors:
            node = getattr(error, "node", None)
            name = getattr(node, "snapshot_name", None)
            if name is None:
                self.errors.append(str(error))
                continue
            record = self.record(model_name(name))
            text, audits = _error_text(error)
            with self._lock:
                record.error = record.error or text
                record.failed_audits.extend(a for a in audits if a not in record.failed_audits)

    def log_skipped_models(self, snapshot_names: set[str]) -> None:
        for name in snapshot_names:
            record = self.record(model_name(name))
            with self._lock:
                record.skipped = True

    def log_error(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.errors.append(message)
        logger.error("sqlmesh: %s", message)

    def log_warning(self, short_message: str, long_message: str | None = None, *args: Any, **kwargs: Any) -> None:
        self.warnings.append(short_message)
        logger.warning("sqlmesh: %s", short_message)

    def log_status_update(self, message: str) -> None:
        logger.info("sqlmesh: %s", message)

    def log_success(self, message: str) -> None:
        logger.info("sqlmesh: %s", message)
