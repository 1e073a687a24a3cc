"""The four ways a table is written, named once for the declarations that choose one and the writer that does it.

Why in ``base``: a ``TableSpec`` (``oso_core.model``) names its mode and the lake's writer (``oso_core.warehouse``,
a layer below the model) refuses any other; both read this list, so neither imports the other for it.
"""

from __future__ import annotations

from typing import Literal

WriteMode = Literal["append", "replace", "merge", "overwrite_partitions"]
WRITE_MODES: tuple[str, ...] = ("append", "replace", "merge", "overwrite_partitions")
