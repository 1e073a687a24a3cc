"""How flows get their secrets: declare references on the ``Source``, resolve them inside the run.

OSO's assets receive a ``SecretResolver`` resource and resolve ``SecretReference``s when they run; a flow here
does the same::

    SOURCE = Source(name="open_collective", ..., secrets=(SecretReference("open_collective", "personal_token"),))

    @flow
    def open_collective_flow(base_url: str | None = None) -> None:
        token = resolve_source_secrets(SOURCE)["personal_token"]

Values therefore never become flow parameters, which Prefect stores on the server and shows in the UI: a flow
takes nothing secret, or a ``SecretReference`` (a name, safe to store), and resolves at run time.
``check_flow_parameters`` enforces that for declared sources (``secrets check`` runs it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from oso_core.base.sensitive import names_a_credential
from oso_core.config.secrets.base import ResolvedSecret, SecretReference, SecretResolver


class DeclaresSecrets(Protocol):
    """What this module needs of a ``Source``: its declared references. Structural, so that secrets (a layer
    below the declarations) never imports ``oso_core.model.sources``, which imports secrets."""

    @property
    def secrets(self) -> tuple[SecretReference, ...]: ...


class ResolvedSecrets(Mapping[SecretReference, str]):
    """Resolved values by reference (or by bare key when unambiguous); ``repr`` shows origins, never values."""

    def __init__(self, resolved: list[ResolvedSecret]):
        self._resolved = {item.ref: item for item in resolved}

    def _ref(self, key: SecretReference | str) -> SecretReference:
        if isinstance(key, SecretReference):
            return key
        matches = [ref for ref in self._resolved if ref.key == key.lower() or str(ref) == key.lower()]
        if len(matches) != 1:
            raise KeyError(f"{key!r} names {len(matches)} resolved secrets; use a SecretReference")
        return matches[0]

    def __getitem__(self, key: SecretReference | str) -> str:
        return self._resolved[self._ref(key)].as_str()

    def __iter__(self) -> Iterator[SecretReference]:
        return iter(self._resolved)

    def __len__(self) -> int:
        return len(self._resolved)

    def origin(self, key: SecretReference | str) -> str:
        return self._resolved[self._ref(key)].origin

    def __repr__(self) -> str:
        shown = ", ".join(f"{ref}: '***' from {item.origin}" for ref, item in self._resolved.items())
        return f"ResolvedSecrets({shown})"

    __str__ = __repr__


def resolve_source_secrets(source: DeclaresSecrets, resolver: SecretResolver | None = None) -> ResolvedSecrets:
    """Every secret ``source`` declares, resolved now (call inside the flow run, not at import or deploy time).

    Raises:
        SecretInaccessibleError: for the first declared secret that no backend has.
    """
    from oso_core.config.secrets.default import default_resolver

    resolver = resolver or default_resolver()
    return ResolvedSecrets([resolver.lookup(ref) for ref in source.secrets])


def secret_like_parameters(flow_fn: Callable[..., Any], source: DeclaresSecrets) -> list[str]:
    """Parameters of ``flow_fn`` that would carry a secret value into Prefect's stored parameters.

    A parameter is suspect when it may hold a string (unannotated, or ``str`` in its annotation) and its name is
    a declared secret key or contains a sensitive word. ``SecretReference`` parameters are names: safe to store.
    """
    fn = getattr(flow_fn, "fn", flow_fn)  # a Prefect Flow wraps the function
    declared = {ref.key for ref in source.secrets}
    suspects = []
    for name, param in inspect.signature(fn).parameters.items():
        annotation = "" if param.annotation is inspect.Parameter.empty else str(param.annotation)
        if "SecretReference" in annotation or (annotation and "str" not in annotation.lower()):
            continue
        lowered = name.lower()
        if lowered in declared or names_a_credential(name):
            suspects.append(name)
    return suspects
