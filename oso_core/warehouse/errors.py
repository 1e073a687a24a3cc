"""The one error a refused or failed write raises, so flows can catch lake problems apart from source problems."""

from __future__ import annotations


class WarehouseError(Exception):
    """A write was refused or failed; the table is still at its previous snapshot."""
