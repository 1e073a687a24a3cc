-- ENS text records as set (TextChanged resolver events), one row per event; the resolver's id taken out of its
-- JSON text (the resolver's id joins stg_ens__domains.resolver_id).
MODEL (
  name oso.stg_ens__text_changeds,
  kind FULL,
  tags ("entity_category=address"),
  grain id,
  audits (
    not_null(columns := (id, block_number, key)),
    unique_values(columns := (id))
  )
);

SELECT
  text_changeds.id,
  text_changeds.resolver,
  JSON_EXTRACT_SCALAR(text_changeds.resolver, '$.id') AS resolver_id,
  CAST(text_changeds.block_number AS BIGINT) AS block_number,
  text_changeds.transaction_id,
  text_changeds.key,
  text_changeds.value
FROM @oso_source('bigquery.ens.text_changeds') AS text_changeds
