"""Read each settings model once per process, and turn validation failures into errors naming the variable.

Settings are read on first use and kept: a flow reads the environment and ``.env`` once, not on every request.
``reload()`` forgets them (tests that change the environment, a long-lived process after an edit). Per-source
settings are kept per ``(model, source)``.
"""

from __future__ import annotations

import threading
from typing import Any, Literal, TypeVar, get_args, get_origin

from pydantic import ValidationError

from oso_core.config.settings.models import GroupSettings, ProcessSettings
from oso_core.errors import OsoError

Model = TypeVar("Model", bound=GroupSettings)

_lock = threading.RLock()
_cache: dict[tuple[type, str], Any] = {}


class SettingsError(OsoError, ValueError):
    """A setting has a value of the wrong type or range. Names the variable and what it expects, never the value
    (a mistyped variable may hold a secret)."""


def env_name(prefix: str, name: str) -> str:
    """``DAGSTER__NPM__MIN_INTERVAL`` for prefix ``dagster__npm__`` and field ``min_interval``."""
    return f"{prefix}{name}".upper()


_KINDS = {"float": "a number (float)", "int": "a whole number (int)", "str": "text (str)", "Path": "a path"}


def _expected(model: type, field: str) -> str:
    """What the field takes, in words: ``a number (float)``, ``one of 'threads', 'dask', 'ray'``."""
    info = model.model_fields.get(field)  # type: ignore[attr-defined]
    if info is None:
        return "a valid value"
    args = [a for a in get_args(info.annotation) if a is not type(None)] or [info.annotation]
    kind = args[0] if len(args) == 1 else info.annotation
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(kind))
    name = getattr(kind, "__name__", None) or str(kind)
    return _KINDS.get(name, name)


def _settings_error(model: type, prefix: str, label: str, error: ValidationError) -> SettingsError:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        name = env_name(prefix, field)
        where = f"setting {label}.{field} ({name})" if label else name
        problems.append(f"{where} must be {_expected(model, field)}: {item['msg']}")
    return SettingsError("; ".join(problems))


def process() -> ProcessSettings:
    """The process settings (``OSO_*``, environment only), read once."""
    key = (ProcessSettings, "")
    with _lock:
        if key not in _cache:
            try:
                _cache[key] = ProcessSettings()
            except ValidationError as error:
                raise _settings_error(ProcessSettings, "OSO_", "", error) from None
        return _cache[key]


def group_prefix(group: str) -> str:
    """``DAGSTER__WEEKLY__`` for group ``weekly`` under the configured prefix (``OSO_SECRET_PREFIX``)."""
    return f"{process().secret_prefix}__{group}__".upper()


def load(model: type[Model], group: str | None = None) -> Model:
    """The model's settings for ``group`` (default: the model's own group), read once from the environment and
    the configured ``.env`` file.

    Raises:
        SettingsError: a value does not fit its field; the message names the variable and the expected type.
    """
    group = (group or model.group).lower()
    if not group:
        raise ValueError(f"{model.__name__} needs a group (a source name)")
    key = (model, group)
    with _lock:
        if key not in _cache:
            prefix = group_prefix(group)
            try:
                _cache[key] = model(_env_prefix=prefix, _env_file=process().env_file)
            except ValidationError as error:
                raise _settings_error(model, prefix, group, error) from None
        return _cache[key]


def reload() -> None:
    """Forget every setting read so far: the next read sees the current environment and ``.env`` file."""
    with _lock:
        _cache.clear()
