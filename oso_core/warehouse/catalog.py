"""Which Iceberg catalog the lake is: embedded SQLite by default, Postgres-backed SQL or REST by settings.

Settings are resolved like secrets under group ``iceberg`` (``DAGSTER__ICEBERG__CATALOG_URI`` …) because a
shared catalog URI usually carries a password.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.catalog import Catalog, load_catalog

from oso_core import settings
from oso_core.secrets import SecretResolver, resolve_setting


@dataclass(frozen=True)
class CatalogConfig:
    """Where the lake's catalog and warehouse live. ``uri`` may hold credentials: never log it whole."""

    name: str
    type: str
    uri: str
    warehouse: str

    @classmethod
    def embedded(cls) -> CatalogConfig:
        home = settings.oso_home()
        return cls(
            name="oso", type="sql", uri=f"sqlite:///{home / 'catalog.db'}", warehouse=f"file://{home / 'warehouse'}"
        )

    @classmethod
    def from_settings(cls, resolver: SecretResolver | None = None) -> CatalogConfig:
        default = cls.embedded()

        def setting(key: str, fallback: str) -> str:
            return resolve_setting("iceberg", key, fallback, resolver) or fallback

        return cls(
            name=setting("catalog_name", default.name),
            type=setting("catalog_type", default.type),
            uri=setting("catalog_uri", default.uri),
            warehouse=setting("warehouse", default.warehouse),
        )

    def properties(self) -> dict[str, str]:
        props = {"type": self.type, "uri": self.uri, "warehouse": self.warehouse}
        if self.type == "sql" and self.uri.startswith("sqlite"):
            props["init_catalog_tables"] = "true"
        return props


def open_catalog(config: CatalogConfig | None = None) -> Catalog:
    """Open (and on first use create) the catalog; the embedded lake's folder is made on demand."""
    config = config or CatalogConfig.from_settings()
    if config.uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(config.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if config.warehouse.startswith("file://"):
        from pathlib import Path

        Path(config.warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return load_catalog(config.name, **config.properties())
