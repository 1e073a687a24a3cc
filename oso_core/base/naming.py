"""Column and table names in the lake: dlt's snake_case, which OSO's tables (and its SQL models) carry."""

from __future__ import annotations

import re


def snake_case(name: str) -> str:
    """``ProjectOSOData`` → ``project_oso_data``, ``infoURL`` → ``info_url``, ``refUID`` → ``ref_uid``."""
    value = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    value = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", value)
    value = re.sub(r"[^0-9a-zA-Z]+", "_", value).strip("_").lower()
    value = re.sub(r"_+", "_", value)
    if not value:
        raise ValueError(f"{name!r} has no letters or digits to name a lake column after")
    return f"_{value}" if value[0].isdigit() else value
