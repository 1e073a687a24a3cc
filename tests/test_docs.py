"""The README's source table is generated from the declarations: a stale README fails here."""

from __future__ import annotations

from oso_core.config.settings import PROJECT_ROOT
from oso_dev.docs import BEGIN, END, render_source_table


def test_readme_source_table_matches_declarations() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == render_source_table(), "README source table is stale: run python -m oso_dev.docs"


def test_readme_opens_with_the_two_commands() -> None:
    lines = [line for line in (PROJECT_ROOT / "README.md").read_text().splitlines() if line.startswith("./dev ")]
    assert [line.split()[1] for line in lines[:2]] == ["demo", "test"]
