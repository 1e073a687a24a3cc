"""Data-quality gates: checks a table declares, run on the staged data of a write before anything is committed.

A table declares its checks on its ``TableSpec`` (``checks=(Unique("id"), NotNull("name"), ...)``); every replace
also gets the defaults (``zero_rows``: a replace may not empty a table that has rows; ``row_drop``: nor drop more
than half of them), which a declared check of the same name replaces (``RowCountChange(max_drop=0.9)``).

Writes stream: a check never sees the whole table at once. Each check makes a *tally* that ``add``\\s one staged
frame at a time and keeps only what its verdict needs (counts, null counts, a 64-bit hash per key for uniqueness,
a few example values); the verdict comes once every frame is staged. Row-count checks compare with the previous
snapshot's ``total-records`` from its summary (no scan). A failed check that the run does not accept raises
``QualityGateError``: the writer then deletes the staged files and the table stays at its previous snapshot.

A run accepts a named check once with ``--accept <namespace.table>:<check>`` (every source flow has the
parameter; the engine sets it here with :func:`accepting` for the run's writes); a write let through that way
records it in the snapshot property ``oso.accepted``. Every write records its results in ``oso.checks`` (JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oso_core.warehouse.errors import WarehouseError

if TYPE_CHECKING:  # Polars loads when a check runs, not when a table declares one
    import polars as pl

__all__ = [
    "AcceptedValues",
    "Check",
    "CheckResult",
    "Expression",
    "GateContext",
    "NotEmpty",
    "NotNull",
    "QualityGateError",
    "RowCountChange",
    "Unique",
    "accepting",
    "checks_for",
    "parse_accept",
]

EXAMPLES = 3  # example values a failure message shows
ACCEPT_FORMAT = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*:[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one write: its name, pass/fail, what it found (``detail``) and the counts."""

    check: str
    passed: bool
    detail: str
    counts: dict[str, int] = field(default_factory=dict)
    accepted: bool = False

    @property
    def status(self) -> str:
        return "accepted" if self.accepted else "ok" if self.passed else "failed"

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "detail": self.detail, **self.counts}


@dataclass
class GateContext:
    """What a verdict may need besides the tallies: the table, the mode, the rows staged and the rows before.

    ``staged`` re-reads the staged frames; only a failing check calls it (to show the duplicated key values).
    """

    table: str
    mode: str
    rows: int
    previous_rows: int | None
    staged: Callable[[], Iterator[pl.DataFrame]] = field(default=lambda: iter(()))


class Tally:
    """A check's running state over the frames of one write."""

    def add(self, frame: pl.DataFrame) -> None:  # pragma: no cover - every tally overrides what it needs
        return None

    def result(self, ctx: GateContext) -> CheckResult:  # pragma: no cover
        raise NotImplementedError


class Check:
    """A declared check: a name (what ``--accept`` names) and a fresh tally per write."""

    name: str
    modes: tuple[str, ...] | None = None  # the write modes it applies to (None: every mode)

    def applies_to(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes

    def tally(self) -> Tally:  # pragma: no cover - every check overrides it
        raise NotImplementedError


def _columns_name(prefix: str, columns: Sequence[str]) -> str:
    return f"{prefix}_{'_'.join(columns)}"


def _require(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def _n(value: int) -> str:
    return f"{value:,}"


def _percent(fraction: float) -> str:
    shown = f"{fraction:.0%}"
    return shown if abs(fraction * 100 - round(fraction * 100)) < 1e-9 else f"{fraction:.1%}"


# -- uniqueness ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, init=False)
class Unique(Check):
    """No two rows share the values of ``columns`` (nulls count as a value). Memory: 8 bytes per row (a hash)."""

    columns: tuple[str, ...]
    name: str

    def __init__(self, *columns: str, name: str | None = None):
        if not columns:
            raise ValueError("Unique needs at least one column")
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "name", name or _columns_name("unique", columns))

    def tally(self) -> Tally:
        return _UniqueTally(self)


class _UniqueTally(Tally):
    def __init__(self, check: Unique):

        self.check = check
        self.hashes: list[pl.Series] = []
        self.missing: list[str] = []

    def add(self, frame: pl.DataFrame) -> None:
        missing = _require(frame, self.check.columns)
        if missing:
            self.missing = missing
            return
        self.hashes.append(_key_hashes(frame, self.check.columns))

    def result(self, ctx: GateContext) -> CheckResult:
        import polars as pl

        name, columns = self.check.name, self.check.columns
        if self.missing:
            return CheckResult(name, False, f"key column {self.missing[0]!r} is missing from the data")
        hashes = pl.concat(self.hashes) if self.hashes else pl.Series("hash", [], pl.UInt64)
        repeated = hashes.filter(hashes.is_duplicated()).unique()
        if repeated.is_empty():
            return CheckResult(name, True, f"{_n(ctx.rows)} unique key(s)", {"duplicate_keys": 0})
        duplicates, example = _confirm_duplicates(ctx.staged(), columns, repeated)
        if duplicates == 0:  # every repeat was a hash collision of distinct keys
            return CheckResult(name, True, f"{_n(ctx.rows)} unique key(s)", {"duplicate_keys": 0})
        shown = ", ".join(f"{k}={v!r}" for k, v in example.items())
        columns_shown = ", ".join(columns)
        return CheckResult(
            name,
            False,
            f"{_n(duplicates)} duplicated key(s) of ({columns_shown}) in {_n(ctx.rows)} rows, e.g. ({shown})",
            {"duplicate_keys": duplicates},
        )


def _key_hashes(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """A 64-bit hash per row of the key: the same key hashes alike in every frame of the write (a fixed seed)."""
    return frame.select(columns).hash_rows(seed=0)


def _confirm_duplicates(
    frames: Iterable[pl.DataFrame], columns: Sequence[str], repeated: pl.Series
) -> tuple[int, dict[str, Any]]:
    """The rows behind repeated hashes, re-read from the staged frames: how many keys really repeat, and one."""
    import polars as pl

    candidates = [
        frame.select(columns).filter(_key_hashes(frame, columns).is_in(repeated.implode())) for frame in frames
    ]
    keys = pl.concat(candidates, how="vertical_relaxed") if candidates else pl.DataFrame()
    if keys.is_empty():
        return 0, {}
    dupes = keys.filter(keys.is_duplicated())
    if dupes.is_empty():
        return 0, {}
    return dupes.unique().height, dupes.row(0, named=True)


def duplicate_key_error(identifier: str, duplicates: pl.DataFrame) -> WarehouseError:
    """The merge key check's error (``dedupe="error"``): the key, one duplicated value and how many there are."""
    first = duplicates.row(0, named=True)
    shown = ", ".join(f"{k}={v!r}" for k, v in first.items())
    count = duplicates.unique().height
    return WarehouseError(
        f"{identifier}: duplicate key ({shown}) in the data ({count} duplicated key(s)); "
        "pass dedupe='last' to keep the last row of each key"
    )


# -- not null -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, init=False)
class NotNull(Check):
    """``columns`` have a value in every row (a missing column fails too)."""

    columns: tuple[str, ...]
    name: str

    def __init__(self, *columns: str, name: str | None = None):
        if not columns:
            raise ValueError("NotNull needs at least one column")
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "name", name or _columns_name("not_null", columns))

    def tally(self) -> Tally:
        return _NotNullTally(self)


class _NotNullTally(Tally):
    def __init__(self, check: NotNull):
        self.check = check
        self.nulls = dict.fromkeys(check.columns, 0)
        self.missing: set[str] = set()

    def add(self, frame: pl.DataFrame) -> None:
        for column in self.check.columns:
            if column in frame.columns:
                self.nulls[column] += frame.get_column(column).null_count()
            else:
                self.missing.add(column)
                self.nulls[column] += frame.height

    def result(self, ctx: GateContext) -> CheckResult:
        name = self.check.name
        counts = {f"nulls_{c}": n for c, n in self.nulls.items()}
        if self.missing:
            missing = sorted(self.missing)[0]
            return CheckResult(name, False, f"column {missing!r} is missing from the data", counts)
        bad = [(c, n) for c, n in self.nulls.items() if n]
        if not bad:
            return CheckResult(name, True, f"no nulls in {', '.join(self.check.columns)}", counts)
        shown = ", ".join(f"{c} has {_n(n)} null(s)" for c, n in bad)
        return CheckResult(name, False, f"{shown} in {_n(ctx.rows)} rows", counts)


# -- accepted values ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, init=False)
class AcceptedValues(Check):
    """Every non-null value of ``column`` is one of ``values``."""

    column: str
    values: frozenset[Any]
    name: str

    def __init__(self, column: str, values: Collection[Any], name: str | None = None):
        if not values:
            raise ValueError("AcceptedValues needs at least one value")
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "values", frozenset(values))
        object.__setattr__(self, "name", name or f"accepted_values_{column}")

    def tally(self) -> Tally:
        return _AcceptedTally(self)


class _AcceptedTally(Tally):
    def __init__(self, check: AcceptedValues):
        self.check = check
        self.bad = 0
        self.examples: list[Any] = []
        self.missing = False

    def add(self, frame: pl.DataFrame) -> None:
        import polars as pl

        column = self.check.column
        if column not in frame.columns:
            self.missing = True
            return
        values = frame.get_column(column)
        accepted = pl.Series(sorted(self.check.values, key=repr)).cast(values.dtype, strict=False)
        outside = values.filter(values.is_not_null() & ~values.is_in(accepted.implode()))
        self.bad += outside.len()
        if len(self.examples) < EXAMPLES:
            for value in outside.unique(maintain_order=True).head(EXAMPLES).to_list():
                if value not in self.examples and len(self.examples) < EXAMPLES:
                    self.examples.append(value)

    def result(self, ctx: GateContext) -> CheckResult:
        name, column = self.check.name, self.check.column
        if self.missing:
            return CheckResult(name, False, f"column {column!r} is missing from the data")
        if not self.bad:
            return CheckResult(name, True, f"every {column} is accepted", {"rejected_rows": 0})
        shown = ", ".join(repr(v) for v in self.examples)
        return CheckResult(
            name,
            False,
            f"{_n(self.bad)} of {_n(ctx.rows)} rows have a {column} outside the accepted values, e.g. {shown}",
            {"rejected_rows": self.bad},
        )


# -- custom expression --------------------------------------------------------------------------------------------
Predicate = Any  # str (SQL, read by pl.sql_expr) | pl.Expr | Callable[[pl.DataFrame], pl.Series | pl.Expr]


@dataclass(frozen=True, eq=False)  # a Polars expression's == builds an expression, not a bool
class Expression(Check):
    """Every row satisfies ``predicate``: a SQL expression string (``"amount >= 0"``, read by ``pl.sql_expr``), a
    Polars expression, or a function of the frame returning a boolean Series or expression. A null result passes
    (as in SQL's ``WHERE NOT (...)``); say ``col.is_not_null()`` or use ``NotNull`` to refuse nulls."""

    predicate: Predicate
    name: str = "expression"
    description: str = ""

    def __post_init__(self) -> None:
        import polars as pl

        if isinstance(self.predicate, str):
            pl.sql_expr(self.predicate)  # a typo fails at declaration, not in the first run

    @property
    def shown(self) -> str:
        import polars as pl

        if self.description:
            return self.description
        if isinstance(self.predicate, str):
            return self.predicate
        if isinstance(self.predicate, pl.Expr):
            return str(self.predicate)
        return getattr(self.predicate, "__name__", "the expression")

    def evaluate(self, frame: pl.DataFrame) -> pl.Series:
        import polars as pl

        predicate = self.predicate
        if isinstance(predicate, str):
            predicate = pl.sql_expr(predicate)
        elif not isinstance(predicate, pl.Expr):
            predicate = predicate(frame)
        if isinstance(predicate, pl.Expr):
            return frame.select(predicate.alias("__ok")).to_series()
        return predicate

    def tally(self) -> Tally:
        return _ExpressionTally(self)


class _ExpressionTally(Tally):
    def __init__(self, check: Expression):
        self.check = check
        self.failed = 0
        self.error: str | None = None

    def add(self, frame: pl.DataFrame) -> None:
        import polars as pl

        if self.error is not None:
            return
        try:
            ok = self.check.evaluate(frame)
        except Exception as error:  # noqa: BLE001 - a column the expression names is missing, a type is wrong
            self.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            return
        if ok.len() == 1 and frame.height != 1:
            ok = pl.repeat(ok[0], frame.height, eager=True)
        self.failed += int((ok == False).sum())  # noqa: E712 - null results pass  # type: ignore[arg-type]

    def result(self, ctx: GateContext) -> CheckResult:
        name, shown = self.check.name, self.check.shown
        if self.error is not None:
            return CheckResult(name, False, f"{shown} could not be evaluated: {self.error}")
        if not self.failed:
            return CheckResult(name, True, f"every row satisfies {shown}", {"failed_rows": 0})
        return CheckResult(
            name, False, f"{_n(self.failed)} of {_n(ctx.rows)} rows fail {shown}", {"failed_rows": self.failed}
        )


# -- row counts against the previous snapshot ----------------------------------------------------------------------
@dataclass(frozen=True)
class RowCountChange(Check):
    """A replace may drop at most ``max_drop`` (a fraction) of the rows the table had, and, when ``max_growth`` is
    given, grow by at most that fraction. The default gate of every replace is ``RowCountChange(max_drop=0.5)``."""

    max_drop: float | None = 0.5
    max_growth: float | None = None
    name: str = "row_drop"
    modes: tuple[str, ...] | None = ("replace",)

    def tally(self) -> Tally:
        return _RowCountTally(self)


class _RowCountTally(Tally):
    def __init__(self, check: RowCountChange):
        self.check = check

    def result(self, ctx: GateContext) -> CheckResult:
        check, before, after = self.check, ctx.previous_rows, ctx.rows
        counts = {"rows_before": before or 0, "rows_after": after}
        if not before:
            return CheckResult(check.name, True, f"{_n(after)} rows (the table had none)", counts)
        change = (after - before) / before
        if after and check.max_drop is not None and -change > check.max_drop:
            return CheckResult(
                check.name,
                False,
                f"{ctx.mode} would drop {_percent(-change)} of {_n(before)} rows (to {_n(after)}; "
                f"at most {_percent(check.max_drop)} allowed)",
                counts,
            )
        if check.max_growth is not None and change > check.max_growth:
            return CheckResult(
                check.name,
                False,
                f"{ctx.mode} would grow {_n(before)} rows by {_percent(change)} (to {_n(after)}; "
                f"at most {_percent(check.max_growth)} allowed)",
                counts,
            )
        return CheckResult(check.name, True, f"{_n(before)} → {_n(after)} rows", counts)


@dataclass(frozen=True)
class NotEmpty(Check):
    """A replace may not leave a table that has rows empty (the default gate ``zero_rows`` of every replace)."""

    name: str = "zero_rows"
    modes: tuple[str, ...] | None = ("replace",)

    def tally(self) -> Tally:
        return _NotEmptyTally(self)


class _NotEmptyTally(Tally):
    def __init__(self, check: NotEmpty):
        self.check = check

    def result(self, ctx: GateContext) -> CheckResult:
        before = ctx.previous_rows or 0
        counts = {"rows_before": before, "rows_after": ctx.rows}
        if ctx.rows or not before:
            return CheckResult(self.check.name, True, f"{_n(ctx.rows)} rows", counts)
        return CheckResult(
            self.check.name, False, f"{ctx.mode} would drop 100% of {_n(before)} rows, leaving the table empty", counts
        )


DEFAULT_CHECKS: tuple[Check, ...] = (NotEmpty(), RowCountChange())


def checks_for(mode: str, declared: Iterable[Check] = ()) -> list[Check]:
    """The checks a write runs: the defaults, each replaced by a declared check of its name, then the declared."""
    declared = list(declared)
    names = [c.name for c in declared]
    repeated = {n for n in names if names.count(n) > 1}
    if repeated:
        raise ValueError(f"checks named twice: {sorted(repeated)}; give one a name=")
    chosen = [c for c in DEFAULT_CHECKS if c.name not in names] + declared
    return [c for c in chosen if c.applies_to(mode)]


# -- accepting a failed check once ---------------------------------------------------------------------------------
class QualityGateError(WarehouseError):
    """A write's data failed checks the run did not accept: nothing was committed.

    ``table``, ``failures`` (the failed ``CheckResult``s), ``results`` (every check's), ``mode`` and ``rows`` (staged)
    are there for alerts and the run summary.
    """

    def __init__(
        self, table: str, failures: list[CheckResult], results: list[CheckResult], mode: str = "", rows: int = 0
    ):
        self.table = table
        self.failures = failures
        self.results = results
        self.mode = mode
        self.rows = rows
        lines = [
            f"{table}: {f.detail} (check {f.check}; to let this run through once: --accept {table}:{f.check})"
            for f in failures
        ]
        super().__init__("; ".join(lines))

    @property
    def check(self) -> str:
        """The first failed check's name."""
        return self.failures[0].check

    @property
    def counts(self) -> dict[str, int]:
        return self.failures[0].counts


@dataclass
class Acceptance:
    """The checks a run accepts (``table:check``) and those that it let through."""

    names: frozenset[str]
    used: set[str] = field(default_factory=set)

    def accepts(self, table: str, check: str) -> bool:
        return f"{table}:{check}" in self.names

    @property
    def unused(self) -> list[str]:
        return sorted(self.names - self.used)


_ACCEPTANCE: ContextVar[Acceptance | None] = ContextVar("oso_accepted_checks", default=None)


def parse_accept(names: Iterable[str] | str | None) -> frozenset[str]:
    """``["npm.manifests:row_drop", ...]`` (or one comma-separated string) checked for shape."""
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = [names]
    parsed = {part.strip() for name in names for part in str(name).split(",") if part.strip()}
    wrong = sorted(n for n in parsed if not ACCEPT_FORMAT.match(n))
    if wrong:
        raise ValueError(f"accept takes <namespace>.<table>:<check> (e.g. npm.manifests:row_drop), not {wrong}")
    return frozenset(parsed)


@contextmanager
def accepting(names: Iterable[str] | str | None) -> Iterator[Acceptance]:
    """The writes inside accept the named failed checks (each write that uses one records it)."""
    acceptance = Acceptance(parse_accept(names))
    token = _ACCEPTANCE.set(acceptance)
    try:
        yield acceptance
    finally:
        _ACCEPTANCE.reset(token)


def current_acceptance() -> Acceptance | None:
    return _ACCEPTANCE.get()


# -- running a gate ------------------------------------------------------------------------------------------------
class Gate:
    """The checks of one write: ``add`` each staged frame, then ``verdict`` before the commit."""

    def __init__(self, table: str, mode: str, checks: Iterable[Check]):
        self.table = table
        self.mode = mode
        self.checks = checks_for(mode, checks)
        self.tallies = [check.tally() for check in self.checks]

    def add(self, frame: pl.DataFrame) -> None:
        for tally in self.tallies:
            tally.add(frame)

    def verdict(self, ctx: GateContext) -> list[CheckResult]:
        """Every check's result; raises ``QualityGateError`` if one failed and the run does not accept it."""
        acceptance = current_acceptance()
        results: list[CheckResult] = []
        for tally in self.tallies:
            result = tally.result(ctx)
            if not result.passed and acceptance is not None and acceptance.accepts(self.table, result.check):
                acceptance.used.add(f"{self.table}:{result.check}")
                result = CheckResult(result.check, False, result.detail, result.counts, accepted=True)
            results.append(result)
        failures = [r for r in results if not r.passed and not r.accepted]
        if failures:
            raise QualityGateError(self.table, failures, results, self.mode, ctx.rows)
        return results


def snapshot_properties(results: Sequence[CheckResult]) -> dict[str, str]:
    """``oso.checks`` (every result, JSON) and ``oso.accepted`` (the checks let through) for the snapshot."""
    props = {"oso.checks": json.dumps([r.as_json() for r in results], separators=(",", ":"))}
    accepted = [r.check for r in results if r.accepted]
    if accepted:
        props["oso.accepted"] = ",".join(accepted)
    return props


def describe(results: Sequence[CheckResult]) -> str:
    """One line for the summary table: ``unique_name ok, row_drop accepted (...)``."""
    return ", ".join(f"{r.check} {r.status}" + (f" ({r.detail})" if not r.passed else "") for r in results)
