"""The transformation stage: a sqlmesh project run over the lake, its models published back as Iceberg tables.

One module per job: ``gateway`` (sqlmesh's gateway and state connection from the settings), ``lake_views`` (the
pinned DuckDB views of the lake), ``project`` (opening the project on our gateway, checking its inputs), ``console``
(what sqlmesh did, per model), ``runner`` (plan with auto-apply, run), ``publish`` (the models into the lake).
``flows/transform.py`` is the Prefect flow around them. sqlmesh is imported only when a transform runs.
"""
