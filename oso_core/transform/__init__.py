"""The transformation stage: a sqlmesh project run over the lake, its models published back as Iceberg tables.

One module per job: ``gateway`` (sqlmesh's gateway and state connection from the settings), ``lake_views`` (the
pinned DuckDB views of the lake), ``project`` (opening the project on our gateway, checking its inputs), ``console``
(what sqlmesh did, per model), ``runner`` (plan with auto-apply, run), ``publish`` (the models into the lake),
``provenance`` (what a published table's properties say it was computed from; read by freshness too).
``flows/transform.py`` is the Prefect flow around them. sqlmesh is imported only when a transform runs.
"""

import os

# Both are read once, when sqlmesh is first imported, so they are set here, before any module of this package can
# import it (``console`` does, at its top).
os.environ.setdefault("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "1")  # no phoning home
# sqlmesh loads a project's models, and renders their schemas, in forked processes, one per CPU, unless
# MAX_FORK_WORKERS says otherwise. A flow-run process has threads (Prefect's API client, its log and event workers),
# and a child forked from it can deadlock on a lock one of them held; for a project of tens of models loading in
# this process is also faster (no fork, no pickling of models back). Set MAX_FORK_WORKERS yourself to fork (OSO's
# project has hundreds of models).
os.environ.setdefault("MAX_FORK_WORKERS", "1")
