"""Source flows that refuse secret parameter values before Prefect creates (and stores) the flow run.

``Flow.__call__`` hands the parameters to the engine, which creates the flow run on the server with them; a
check inside the flow body comes too late. ``SourceFlow`` runs :func:`oso_core.model.secret_params.check_parameters`
in ``__call__`` first, keeps doing so across ``with_options`` (the weekly pipeline renames subflow runs that
way), and checks the ``parameters`` given to ``to_deployment`` / ``serve`` / ``deploy`` and the function's
defaults (which Prefect records in the deployment's parameter schema). Every source module declares its flow
with :func:`oso_core.engine.flow.source_flow`, other flows (the weekly pipeline) with :func:`guarded_flow`::

    @guarded_flow("oso-weekly", log_prints=True)
    def weekly_flow(...) -> State: ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from prefect import Flow
from prefect.utilities.callables import get_call_parameters

from oso_core.model.secret_params import check_parameters
from oso_core.model.sources import Source

F = TypeVar("F", bound=Callable[..., Any])


class SourceFlow(Flow):
    """A Prefect flow whose call parameters are checked for secret values before any flow run exists.

    ``owner`` is the ``Source`` the flow loads (its declared secrets and URL template sharpen the check) or,
    for a flow that is not a source's (the weekly pipeline), a name for the messages.
    """

    owner: Source | str

    def __init__(self, fn: Callable[..., Any], *, owner: Source | str, **options: Any):
        super().__init__(fn, **options)
        self.owner = owner
        defaults = {
            name: param.default
            for name, param in inspect.signature(fn).parameters.items()
            if param.default is not inspect.Parameter.empty
        }
        check_parameters(owner, defaults, resolve=False)  # declaration time: shapes only, nothing resolved yet

    def check(self, parameters: Mapping[str, Any] | None) -> None:
        """Raise ``SecretParameterError`` when a parameter value is or holds a secret."""
        if parameters:
            check_parameters(self.owner, parameters)

    def __call__(self, *args: Any, return_state: bool = False, wait_for: Any = None, **kwargs: Any) -> Any:
        try:
            parameters = get_call_parameters(self.fn, args, kwargs)
        except Exception:  # noqa: BLE001 - wrong arguments: Prefect raises the same error before any run exists
            parameters = None
        self.check(parameters)
        return super().__call__(*args, return_state=return_state, wait_for=wait_for, **kwargs)

    def with_options(self, **options: Any) -> SourceFlow:
        copy = super().with_options(**options)
        copy.__class__ = SourceFlow  # Flow.with_options builds a plain Flow; keep the guard on the copy
        copy.owner = self.owner
        return copy

    def to_deployment(self, *args: Any, **kwargs: Any) -> Any:
        self.check(kwargs.get("parameters"))
        return super().to_deployment(*args, **kwargs)

    async def ato_deployment(self, *args: Any, **kwargs: Any) -> Any:
        self.check(kwargs.get("parameters"))
        return await super().ato_deployment(*args, **kwargs)


def guarded_flow(owner: Source | str, **options: Any) -> Callable[[Callable[..., Any]], SourceFlow]:
    """``@flow`` for a source's flow (or another flow, named by ``owner``): parameters checked before a run.

    The flow's name defaults to the source's name (or to ``owner`` when it is a string).
    """
    options.setdefault("name", owner.name if isinstance(owner, Source) else owner)

    def decorate(fn: Callable[..., Any]) -> SourceFlow:
        return SourceFlow(fn, owner=owner, **options)

    return decorate
