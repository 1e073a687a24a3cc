"""Refresh the generated files that list the sources after one is added: the README's table and ``prefect.yaml``.

An extension of ``python -m oso_core new-source`` (see ``oso_core.base.extensions``): the library's scaffold calls
:func:`regenerate` when this development package is installed.
"""

from __future__ import annotations

from pathlib import Path

from blocks.deployments import configured_timezone, render
from blocks.env_example import listed_sources, variables
from blocks.env_example import render as render_env_example
from oso_core.model.sources import discover_sources
from oso_dev.docs import update_readme


def regenerate(root: Path, package: str, name: str) -> list[str]:
    """Update ``root``'s README source table, ``prefect.yaml`` and ``.env.example`` where they exist (source
    ``name`` just added to ``package``); returns what changed."""
    done = []
    if (root / "README.md").is_file() and update_readme(root / "README.md"):
        done.append("README.md (source table)")
    if (root / "prefect.yaml").is_file():
        text = render(configured_timezone(), package=package)
        if (root / "prefect.yaml").read_text() != text:
            (root / "prefect.yaml").write_text(text)
            done.append("prefect.yaml (deployments)")
    added = refresh_env_example(root / ".env.example", name, package)
    if added:
        done.append(f".env.example (+{', '.join(added)})")
    return done


def refresh_env_example(path: Path, name: str, package: str) -> list[str]:
    """Re-render ``.env.example`` (``blocks.env_example``) with the new source beside those it already lists;
    returns the variables added."""
    if not path.is_file():
        return []
    text = path.read_text()
    keep = listed_sources(text) | {name}
    found = {**discover_sources(), **discover_sources([package])}
    new = render_env_example(s for s in found.values() if s.name in keep)
    before = set(variables(text))
    added = [v for v in variables(new) if v not in before]
    if new != text:
        path.write_text(new)
    return added
