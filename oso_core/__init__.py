"""oso_core: the library behind oso-prefect's flows (secrets, Iceberg warehouse, extraction, alerting, sources).

Nothing here defines a Prefect flow: flows live in ``flows/`` and stay thin, so this package can be used from
tests, notebooks and benchmarks without a Prefect server.

This module is the library's public face: ``flows/`` and the scaffold's templates import from ``oso_core`` only
(``from oso_core import Source, TableSpec, SourceRun, source_flow``), whatever subpackage defines the name
(``oso_core.base.public_names`` is the table). A name's module is imported on first use, not here, so importing
``oso_core`` costs nothing and ``python -m flows SOURCE --help`` stays free of Prefect and Polars.

The subpackages, lowest first; each imports only from those before it (``tests/test_structure.py``):
``errors`` (the exception root, ``OsoError``), ``base``, ``config`` (settings, secrets), ``warehouse`` (the lake),
``transport`` (extraction), ``model`` (source declarations), ``engine`` (``@source_flow``), ``kinds`` (sources
described as data) and ``transform`` (sqlmesh), ``ops`` (pipeline, alerts), ``tools`` (contributor commands).
"""

from __future__ import annotations

import importlib
from typing import Any

from oso_core.base.public_names import MODULES, NAMES

__all__ = sorted([*NAMES, *MODULES])


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and kept."""
    if name in NAMES:
        value = getattr(importlib.import_module(NAMES[name]), name)
    elif name in MODULES:
        value = importlib.import_module(MODULES[name])
    else:
        raise AttributeError(f"module 'oso_core' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
