"""``@oso_source('bigquery.<namespace>.<table>')``: the name a lake table has on the running gateway.

Models name their sources as OSO's do, by the production BigQuery-style name. The transform flow passes the
gateway's rule as the variable ``oso_source_schema`` (setting ``transform.source_schema``): on the embedded DuckDB
gateway OSO's ``sources__{catalog}__{db}`` (``sources__bigquery__ossd.projects``), on Trino ``{db}`` (the lake's
own ``ossd.projects`` in the gateway's catalog).
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro

DEFAULT_RULE = "sources__{catalog}__{db}"


@macro()
def oso_source(evaluator, reference: exp.Expression) -> exp.Table:
    name = reference.this if isinstance(reference, exp.Literal) else reference.sql()
    parts = str(name).split(".")
    if len(parts) != 3:
        raise ValueError(f"@oso_source takes 'catalog.namespace.table', got {name!r}")
    catalog, db, table = parts
    rule = evaluator.var("oso_source_schema") or DEFAULT_RULE
    return exp.to_table(f"{rule.format(catalog=catalog, db=db)}.{table}")
