-- Funding rounds DefiLlama lists, one row per raise; chains and investors are JSON text, as in OSO's table.
MODEL (
  name oso.stg_defillama__raises,
  kind FULL,
  tags ("entity_category=defi"),
  audits (
    not_null(columns := (date, name))
  )
);

SELECT
  CAST(raises.date AS TIMESTAMP) AS date,
  raises.name,
  raises.round,
  CAST(raises.amount AS DOUBLE) AS amount,
  raises.chains,
  raises.sector,
  raises.category,
  raises.category_group,
  raises.source,
  raises.lead_investors,
  raises.other_investors,
  CAST(raises.valuation AS DOUBLE) AS valuation,
  raises.defillama_id
FROM @oso_source('bigquery.defillama.raises') AS raises
