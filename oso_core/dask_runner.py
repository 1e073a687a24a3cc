"""A local Dask cluster whose workers report to the orchestrating run's Prefect API.

A worker process reads Prefect's settings from its own environment. Without ``PREFECT_API_URL`` there (a run on
Prefect's temporary server, with no ``./dev server`` and nothing configured), every worker started a temporary
server of its own: ~10 s more per worker before its first source, several servers writing one SQLite database,
and a server left running for good when a worker was killed. So the cluster is started with the API URL this
process uses, which is only known once the run has an API (prefect-dask creates the cluster lazily, at the first
submit, inside the run).
"""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect_dask import DaskTaskRunner


def current_api_url() -> str:
    """The API this process talks to: the configured one, or the temporary server Prefect started for it."""
    return str(get_client(sync_client=True).api_url)


class LocalDaskTaskRunner(DaskTaskRunner):
    """prefect-dask's runner on a new ``LocalCluster`` whose workers inherit this run's ``PREFECT_API_URL``."""

    @property
    def client(self) -> Any:
        starts_worker_processes = self.cluster_kwargs.get("processes", True)
        if self._client is None and self._cluster is None and not self.address and starts_worker_processes:
            env = dict(self.cluster_kwargs.get("env") or {})
            env.setdefault("PREFECT_API_URL", current_api_url())
            self.cluster_kwargs["env"] = env
        return super().client
