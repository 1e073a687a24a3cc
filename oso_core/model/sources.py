"""Source declarations: what each source loads, how it writes, and what it needs.

A source module in ``flows/`` declares one ``SOURCE = Source(...)`` beside its flow, like a dlt verified source
declares its resources with keys and write disposition. The weekly pipeline, ``secrets check``, the README's
source table, ``prefect.yaml`` and the tests all read these declarations, so nothing is listed twice.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal, Union

from oso_core.base import cadence as cadences
from oso_core.base.write_modes import WRITE_MODES, WriteMode
from oso_core.config import settings
from oso_core.config.secrets import SecretReference
from oso_core.config.settings import SourceSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from oso_core.model.migrations import Migration as DeclaredMigration
    from oso_core.warehouse.quality import Check

# a declared migration (``oso_core.model.migrations``: data, readable from the source's text) or a plain
# ``catalog -> notes`` function (a source built in code, never read from text)
Migration = Union["DeclaredMigration", Callable[["Catalog"], list[str]]]


@dataclass(frozen=True)
class TableSpec:
    """One table a source writes: ``<source>.<name>`` with its write disposition.

    ``partition_by`` is a transform expression such as ``"day(created_at)"``, ``"month(time)"``,
    ``"truncate(time, 2592000)"`` or ``"date"``; an existing table evolves to it on its next write.
    ``key_determines_partition`` declares that a key's row never moves to another partition (its time column
    never changes): a merge then reads only the partitions its rows fall in, so its cost follows the change, not
    the table. It is implied when the partition column is a key column. A wrong declaration leaves the old row
    of a moved key in place (a duplicate key), so declare it only when the source guarantees it.
    ``max_age``: how old the table may get before the freshness check reports it stale; by default its source's
    cadence plus a grace (``Source.max_age``: weekly → 8 days, daily → 36 hours).
    ``checks`` are its data-quality gate (``oso_core.warehouse.quality``: ``Unique("id")``, ``NotNull("name")``,
    ``AcceptedValues``, ``Expression``, ``RowCountChange``), run on the staged data of every write before the
    commit; a replace also gets the defaults ``zero_rows`` and ``row_drop`` (a declared check of that name wins).
    ``dedupe``: what a write does with rows repeating a key: ``"error"`` (the default) fails it, ``"last"`` keeps
    the last row of each key (the run's summary notes how many rows were dropped).
    """

    name: str
    mode: WriteMode = "replace"
    key: tuple[str, ...] = ()
    partition_by: str | None = None
    description: str = ""
    max_age: timedelta | None = None
    key_determines_partition: bool = False
    checks: tuple[Check, ...] = ()
    dedupe: Literal["error", "last"] = "error"

    def __post_init__(self) -> None:
        if self.dedupe not in ("error", "last"):
            raise ValueError(f"table {self.name}: dedupe must be 'error' or 'last', got {self.dedupe!r}")
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise ValueError(f"table {self.name}: max_age must be positive, got {self.max_age}")
        if self.mode not in WRITE_MODES:
            raise ValueError(f"table {self.name}: unknown write mode {self.mode!r}; one of {WRITE_MODES}")
        if self.mode == "merge" and not self.key:
            raise ValueError(f"table {self.name}: mode 'merge' needs key columns")
        if self.mode == "overwrite_partitions" and not self.partition_by:
            raise ValueError(f"table {self.name}: mode 'overwrite_partitions' needs partition_by")
        if self.key_determines_partition and not self.partition_by:
            raise ValueError(f"table {self.name}: key_determines_partition needs partition_by")
        names = [check.name for check in self.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: two checks share a name in {names}; give one a name=")


@dataclass(frozen=True)
class WindowGrid:
    """A source's grid of weekly (or other fixed-length) load windows from ``start``, as OSO's
    ``WeeklyPartitionsDefinition``; ``oso_core.engine.windows`` cuts it into ``Window``s. (Not the warehouse's
    ``partitioning.Windows``: the partitions that one frame touches.)"""

    start: date
    days: int = 7


@dataclass(frozen=True)
class Source:
    """A source of the lake: its namespace, tables, secrets and the setting that holds its base URL.

    ``flow`` names the flow function in the declaring module; ``module`` is filled in by discovery.
    ``depends_on`` names sources whose tables this one reads (defillama reads ``ossd.projects``): the weekly
    pipeline runs those first.
    ``cadence`` is how often it loads, as OSO scheduled it: ``weekly`` (default: part of the Sunday weekly run),
    ``daily``, or a cron such as ``0 0 * * 2,5``; any cadence but ``weekly`` is a schedule of the source's own
    deployment and the weekly run leaves the source out (``oso_core.base.cadence``).
    The base URL is a setting, ``(name, base_url)`` → ``DAGSTER__<NAME>__BASE_URL``, so the same code hits the
    real API in production and a local replay server in tests. ``settings_model`` is the source's settings model
    (``SourceSettings``, or a subclass for a source with knobs of its own such as npm's ``registry_url``).
    ``api`` names an upstream API whose rate limit several sources share (``github``, ``thegraph``): every load of
    it holds a slot of the Prefect global concurrency limit ``api:<name>`` (``oso_core.engine.api_limits``), so loads
    sharing an API stay within its limit on any worker, and the weekly run does not start two sources of one
    ``api`` at the same time.
    ``migrations`` are one-off changes of a lake written by an older version (a table or column renamed, a column
    dropped), declared as data (``oso_core.model.migrations``: ``RenameTable``, ``RenameColumns``,
    ``DropColumnsUnless``, ``CallFunction``) so the declaration still reads from the source's text: the engine applies
    them before every load, and each finds nothing to do once done (so whichever source sharing one runs first migrates
    the lake).
    """

    name: str
    tables: tuple[TableSpec, ...]
    flow: str
    description: str = ""
    secrets: tuple[SecretReference, ...] = ()
    base_url: str | None = None
    windows: WindowGrid | None = None
    tags: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    namespace: str = ""
    api: str = ""
    module: str = ""
    settings_model: type[SourceSettings] = SourceSettings
    cadence: str = cadences.WEEKLY
    migrations: tuple[Migration, ...] = ()

    def __post_init__(self) -> None:
        try:
            cadences.cron_of(self.cadence)
        except ValueError as exc:
            raise ValueError(f"source {self.name}: {exc}") from exc

    @property
    def cron(self) -> str:
        """The cron of the cadence (``weekly`` → ``0 0 * * 0``, ``daily`` → ``0 0 * * *``)."""
        return cadences.cron_of(self.cadence)

    @property
    def in_weekly_run(self) -> bool:
        """Whether the weekly run loads this source (weekly cadence), rather than its own schedule."""
        return self.cron == cadences.WEEKLY_CRON

    def max_age(self, table: str) -> timedelta:
        """The table's declared ``max_age``, else the cadence's interval plus grace."""
        return self.table(table).max_age or cadences.max_age(self.cadence)

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise KeyError(f"source {self.name} declares no table {name!r}; it has {[t.name for t in self.tables]}")

    @property
    def lake_namespace(self) -> str:
        """Iceberg namespace of the tables: the source name unless two sources share one (``ossd``) or OSO's dataset
        has another name (``ethereum_attestation_service_optimism`` for ``eas_optimism``)."""
        return self.namespace or self.name

    def qualified(self, table: str) -> str:
        return f"{self.lake_namespace}.{self.table(table).name}"

    @property
    def settings(self) -> SourceSettings:
        """This source's settings (``PREFIX__<NAME>__*``), read once per process."""
        return settings.source(self.name, self.settings_model)

    def resolve_base_url(self, override: str | None = None) -> str:
        """The base URL to call: an explicit override (replay, tests), else the setting, else the default."""
        if override:
            return override.rstrip("/")
        value = self.settings.base_url or self.base_url
        if not value:
            name = settings.env_name(settings.group_prefix(self.name), "base_url")
            raise ValueError(f"source {self.name} has no base URL; set {self.name}.base_url ({name})")
        return value.rstrip("/")

    @property
    def entrypoint(self) -> str:
        """``prefect.yaml`` entrypoint, e.g. ``flows/ossd.py:ossd_flow``."""
        return f"{self.module.replace('.', '/')}.py:{self.flow}"

    def load_flow(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.flow)


def source_packages() -> list[str]:
    """Packages whose sources are discovered: ``flows`` unless ``OSO_SOURCE_PACKAGES`` names others."""
    return settings.source_packages()


def _declaring_modules(package: str) -> Iterator[str]:
    """``<package>.<name>.source`` for each source folder, ``<package>.<name>`` for each plain module."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        if info.ispkg:
            if importlib.util.find_spec(f"{package}.{info.name}.source") is not None:
                yield f"{package}.{info.name}.source"
        else:
            yield f"{package}.{info.name}"


def discover_sources(packages: str | Iterable[str] | None = None) -> dict[str, Source]:
    """Every ``SOURCE`` (or ``SOURCES``) declared in the given packages (default: ``source_packages()``), by name,
    in name order."""
    found: dict[str, Source] = {}
    if isinstance(packages, str):
        packages = [packages]
    for package in packages if packages is not None else source_packages():
        for module_name in _declaring_modules(package):
            for source in _declared(importlib.import_module(module_name)):
                if source.name in found:
                    raise ValueError(
                        f"source {source.name} declared twice ({found[source.name].module}, {module_name})"
                    )
                found[source.name] = dataclasses.replace(source, module=module_name)
    return dict(sorted(found.items()))


def _declared(module: Any) -> list[Source]:
    """A module's ``SOURCE``, or its ``SOURCES`` (a mapping or list: ``flows/dynamic.py`` serves one source per
    YAML file of the dynamic sources directory, read when asked; an invalid file fails discovery here)."""
    one = getattr(module, "SOURCE", None)
    many = getattr(module, "SOURCES", None) or ()
    candidates = [one, *(many.values() if isinstance(many, dict) else many)]
    return [source for source in candidates if isinstance(source, Source)]
