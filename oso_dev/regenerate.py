"""Refresh the generated files that list the sources after one is added: the README's table and ``prefect.yaml``.

An extension of ``python -m oso_core new-source`` (see ``oso_core.extensions``): the library's scaffold calls
:func:`regenerate` when this development package is installed, and refreshes ``.env.example`` itself.
"""

from __future__ import annotations

from pathlib import Path

from blocks.deployments import configured_timezone, render
from oso_dev.docs import update_readme


def regenerate(root: Path, package: str) -> list[str]:
    """Update ``root``'s README source table and ``prefect.yaml`` where they exist; returns what changed."""
    done = []
    if (root / "README.md").is_file() and update_readme(root / "README.md"):
        done.append("README.md (source table)")
    if (root / "prefect.yaml").is_file():
        text = render(configured_timezone(), package=package)
        if (root / "prefect.yaml").read_text() != text:
            (root / "prefect.yaml").write_text(text)
            done.append("prefect.yaml (deployments)")
    return done
