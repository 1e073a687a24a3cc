"""oso_core: the library behind oso-prefect's flows (secrets, Iceberg warehouse, extraction, alerting, sources).

Nothing here defines a Prefect flow: flows live in ``flows/`` and stay thin, so this package can be used from
tests, notebooks and benchmarks without a Prefect server.
"""
