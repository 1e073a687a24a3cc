"""``.env.example`` lists every setting the code reads, so a new setting cannot go undocumented."""

from __future__ import annotations

import re

from oso_core.settings import PROJECT_ROOT
from oso_core.sources import discover_sources

EXAMPLE = (PROJECT_ROOT / ".env.example").read_text()
CODE = {p: p.read_text() for d in ("oso_core", "flows", "blocks") for p in (PROJECT_ROOT / d).rglob("*.py")}


def _documented(name: str) -> bool:
    return re.search(rf"^#?\s*{re.escape(name)}=", EXAMPLE, re.MULTILINE) is not None


def test_every_literal_setting_is_documented() -> None:
    pairs = {m for text in CODE.values() for m in re.findall(r'resolve_setting\(\s*"(\w+)",\s*"(\w+)"', text)}
    catalog = CODE[PROJECT_ROOT / "oso_core/warehouse/catalog.py"]
    pairs |= {("iceberg", key) for key in re.findall(r'(?<!resolve_)setting\("(\w+)"', catalog)}
    assert pairs, "found no settings in the code: the pattern is stale"
    missing = sorted(f"DAGSTER__{g}__{k}".upper() for g, k in pairs if not _documented(f"DAGSTER__{g}__{k}".upper()))
    assert not missing, f".env.example lacks {missing}"


def test_every_source_base_url_and_process_setting_is_documented() -> None:
    names = [f"DAGSTER__{s.name}__BASE_URL".upper() for s in discover_sources().values() if s.base_url is not None]
    env_vars = {v for text in CODE.values() for v in re.findall(r'os\.environ\.get\("(OSO_\w+)"', text)}
    missing = sorted(n for n in [*names, *env_vars] if not _documented(n))
    assert not missing, f".env.example lacks {missing}"


def test_no_value_is_filled_in() -> None:
    filled = [line for line in EXAMPLE.splitlines() if re.match(r"^[A-Z_]+=.+", line)]
    assert not filled, f".env.example must not carry values: {filled}"
