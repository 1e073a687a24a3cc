"""A local Dask cluster for the weekly run: its workers report to the run's Prefect API and do not profile.

**The run's API.** A worker process reads Prefect's settings from its own environment. Without ``PREFECT_API_URL``
there (a run on Prefect's temporary server, with no ``./dev server`` and nothing configured), every worker started
a temporary server of its own: ~10 s more per worker before its first source, several servers writing one SQLite
database, and a server left running for good when a worker was killed. So the cluster is started with the API URL
this process uses, which is only known once the run has an API (prefect-dask creates the cluster lazily, at the
first submit, inside the run).

**No profiler.** A Dask worker samples every running task's stack with ``sys._current_frames()`` every 10 ms. On
CPython before 3.11.9 that call can deadlock the whole interpreter against a thread that is ending (the lock order
of the thread-state list and the GIL; python/cpython#106883), and a source's fan-out ends threads all the time. The
weekly cluster test, which hung in CI, showed exactly that when reproduced under load: a worker frozen in the
profiler, its source's response unread in the socket, the source given up at its timeout. (distributed already
keeps its event-loop profiler off on 3.11 for this reason; its per-task one has no such guard.) The profile only
feeds Dask's dashboard, which a weekly run does not open, so it is switched off.
"""

from __future__ import annotations

from typing import Any

import dask
from prefect.client.orchestration import get_client
from prefect_dask import DaskTaskRunner

NO_PROFILER = {"distributed.worker.profile.enabled": False}


def current_api_url() -> str:
    """The API this process talks to: the configured one, or the temporary server Prefect started for it."""
    return str(get_client(sync_client=True).api_url)


class LocalDaskTaskRunner(DaskTaskRunner):
    """prefect-dask's runner on a new ``LocalCluster``: workers inherit this run's ``PREFECT_API_URL``, no profiler."""

    @property
    def client(self) -> Any:
        if self._client is None and self._cluster is None and not self.address:
            # read by in-process workers, and copied by each Nanny into the worker process it starts
            dask.config.set(NO_PROFILER)
            if self.cluster_kwargs.get("processes", True):
                env = dict(self.cluster_kwargs.get("env") or {})
                env.setdefault("PREFECT_API_URL", current_api_url())
                self.cluster_kwargs["env"] = env
        return super().client
