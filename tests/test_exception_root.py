"""One exception root: every error class the library defines is an ``OsoError``, and keeps its builtin base.

Why: a caller that wants to tell the library's failures from bugs (a flow's summary, the weekly run, a notebook)
catches one class; one that caught ``ValueError`` for a bad setting or description still does.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import oso_core
from oso_core.errors import OsoError


def library_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of ``oso_core``, by qualified name."""
    found = {}
    for info in pkgutil.walk_packages(oso_core.__path__, "oso_core."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_library_exception_derives_from_the_root() -> None:
    found = library_exceptions()
    assert len(found) > 30, "the walk found too few exception classes: it is stale"
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, OsoError))
    assert not outside, "library exceptions outside OsoError: " + ", ".join(outside)


def test_exceptions_keep_their_builtin_bases() -> None:
    from oso_core.config.secrets import SecretDecodeError
    from oso_core.config.settings import SettingsError
    from oso_core.tools.scaffold import ScaffoldError

    for cls in (ScaffoldError, SecretDecodeError, SettingsError):
        assert issubclass(cls, ValueError) and issubclass(cls, OsoError)


def test_the_query_clients_error_is_the_root() -> None:
    from oso_core.warehouse.query import OsoError as client_error

    assert client_error is OsoError
