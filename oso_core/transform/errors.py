"""The one error the transformation stage raises for bad input, so the flow can tell it from a bug.

Every message names what to fix: the setting, the project file, the model, the lake table. Nothing in the lake has
changed when one is raised before publishing; a publish failure names the tables already published.
"""

from __future__ import annotations

from oso_core.errors import OsoError


class TransformError(OsoError):
    """The sqlmesh project, its gateway, its state or its models cannot run over the lake as configured."""
