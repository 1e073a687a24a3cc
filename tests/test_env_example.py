"""``.env.example`` is rendered from the settings models and the declared secrets, and lists every setting the
code reads, so a new setting cannot go undocumented."""

from __future__ import annotations

import re

from blocks.env_example import main, render, variables
from oso_core.config.settings import PROJECT_ROOT
from oso_core.model.sources import discover_sources

EXAMPLE = (PROJECT_ROOT / ".env.example").read_text()
CODE = {p: p.read_text() for d in ("oso_core", "flows", "blocks", "oso_dev") for p in (PROJECT_ROOT / d).rglob("*.py")}


def _documented(name: str) -> bool:
    return re.search(rf"^#?\s*{re.escape(name)}=", EXAMPLE, re.MULTILINE) is not None


def test_committed_file_is_the_rendered_one(capsys) -> None:
    assert render() == EXAMPLE, ".env.example is stale: run python -m blocks.env_example --write .env.example"
    assert main(["--check", str(PROJECT_ROOT / ".env.example")]) == 0
    assert "matches the settings models" in capsys.readouterr().out


def test_every_literal_setting_and_secret_is_documented() -> None:
    """Whatever is still resolved by ``(group, key)`` literal (secret-like settings, secrets) is listed."""
    pairs = {m for text in CODE.values() for m in re.findall(r'resolve_setting\(\s*"(\w+)",\s*"(\w+)"', text)}
    pairs |= {m for text in CODE.values() for m in re.findall(r'SecretReference\(\s*"(\w+)",\s*"(\w+)"', text)}
    assert pairs, "found no secrets in the code: the pattern is stale"
    missing = sorted(f"DAGSTER__{g}__{k}".upper() for g, k in pairs if not _documented(f"DAGSTER__{g}__{k}".upper()))
    assert not missing, f".env.example lacks {missing}"


def test_every_source_base_url_and_process_setting_is_documented() -> None:
    names = [f"DAGSTER__{s.name}__BASE_URL".upper() for s in discover_sources().values() if s.base_url is not None]
    env_vars = {v for text in CODE.values() for v in re.findall(r'"(OSO_[A-Z_]+)"', text)} - {"OSO_"}
    env_vars -= {"OSO_TEST_PREFECT_PORT", "OSO_TEST_PREFECT_HOME"}  # the test plugin's own, not settings
    missing = sorted(n for n in [*names, *env_vars] if not _documented(n))
    assert not missing, f".env.example lacks {missing}"


def test_no_value_is_filled_in() -> None:
    filled = [line for line in EXAMPLE.splitlines() if re.match(r"^[A-Z_]+=.+", line)]
    assert not filled, f".env.example must not carry values: {filled}"
    assert len(variables(EXAMPLE)) == len(set(variables(EXAMPLE))), "a variable is listed twice"
