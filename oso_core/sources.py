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
from datetime import date
from typing import Any, Literal

from oso_core import settings
from oso_core.secrets import SecretReference
from oso_core.settings import SourceSettings

WriteMode = Literal["append", "replace", "merge", "overwrite_partitions"]
WRITE_MODES: tuple[str, ...] = ("append", "replace", "merge", "overwrite_partitions")


@dataclass(frozen=True)
class TableSpec:
    """One table a source writes: ``<source>.<name>`` with its write disposition.

    ``partition_by`` is a transform expression such as ``"day(created_at)"``, ``"week(time)"`` or ``"date"``.
    """

    name: str
    mode: WriteMode = "replace"
    key: tuple[str, ...] = ()
    partition_by: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.mode not in WRITE_MODES:
            raise ValueError(f"table {self.name}: unknown write mode {self.mode!r}; one of {WRITE_MODES}")
        if self.mode == "merge" and not self.key:
            raise ValueError(f"table {self.name}: mode 'merge' needs key columns")
        if self.mode == "overwrite_partitions" and not self.partition_by:
            raise ValueError(f"table {self.name}: mode 'overwrite_partitions' needs partition_by")


@dataclass(frozen=True)
class WindowGrid:
    """A source's grid of weekly (or other fixed-length) load windows from ``start``, as OSO's
    ``WeeklyPartitionsDefinition``; ``oso_core.windows`` cuts it into ``Window``s. (Not the warehouse's
    ``partitioning.Windows``: the partitions that one frame touches.)"""

    start: date
    days: int = 7


@dataclass(frozen=True)
class Source:
    """A source of the lake: its namespace, tables, secrets and the setting that holds its base URL.

    ``flow`` names the flow function in the declaring module; ``module`` is filled in by discovery.
    ``depends_on`` names sources whose tables this one reads (defillama reads ``ossd.projects``): the weekly
    pipeline runs those first.
    The base URL is a setting, ``(name, base_url)`` → ``DAGSTER__<NAME>__BASE_URL``, so the same code hits the
    real API in production and a local replay server in tests. ``settings_model`` is the source's settings model
    (``SourceSettings``, or a subclass for a source with knobs of its own such as npm's ``registry_url``).
    ``cadence`` is ``"weekly"`` (loaded by the weekly run only) or a cron expression for the source's own schedule
    (OSO's SBOM job runs ``0 0 * * 2,5``). ``api`` names an upstream API whose rate limit several sources share
    (``github``, ``thegraph``): every load of it holds a slot of the Prefect global concurrency limit ``api:<name>``
    (``oso_core.api_limits``), so loads sharing an API stay within its limit on any worker, and the weekly run
    does not start two sources of one ``api`` at the same time.
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
    cadence: str = "weekly"
    api: str = ""
    module: str = ""
    settings_model: type[SourceSettings] = SourceSettings

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise KeyError(f"source {self.name} declares no table {name!r}; it has {[t.name for t in self.tables]}")

    @property
    def lake_namespace(self) -> str:
        """Iceberg namespace of the tables: the source name unless two sources share one (``ossd``)."""
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
