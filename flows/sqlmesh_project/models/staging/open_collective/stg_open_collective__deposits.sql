-- Open Collective deposits (money coming into a collective), one row per transaction, with the accounts and the
-- amount taken out of their JSON.
MODEL (
  name oso.stg_open_collective__deposits,
  kind FULL,
  tags ("entity_category=funding"),
  grain transaction_id,
  audits (
    not_null(columns := (transaction_id, created_at)),
    unique_values(columns := (transaction_id))
  )
);

SELECT
  deposits.id AS transaction_id,
  CAST(deposits.created_at AS TIMESTAMP) AS created_at,
  deposits.type AS transaction_type,
  deposits.kind,
  JSON_EXTRACT_SCALAR(deposits.to_account, '$.id') AS to_account_id,
  JSON_EXTRACT_SCALAR(deposits.to_account, '$.slug') AS to_account_slug,
  JSON_EXTRACT_SCALAR(deposits.to_account, '$.name') AS to_account_name,
  JSON_EXTRACT_SCALAR(deposits.to_account, '$.type') AS to_account_type,
  JSON_EXTRACT_SCALAR(deposits.from_account, '$.id') AS from_account_id,
  JSON_EXTRACT_SCALAR(deposits.from_account, '$.slug') AS from_account_slug,
  JSON_EXTRACT_SCALAR(deposits.from_account, '$.name') AS from_account_name,
  JSON_EXTRACT_SCALAR(deposits.from_account, '$.type') AS from_account_type,
  CAST(JSON_EXTRACT_SCALAR(deposits.amount, '$.value') AS DOUBLE) AS amount,
  JSON_EXTRACT_SCALAR(deposits.amount, '$.currency') AS currency
FROM @oso_source('bigquery.open_collective.deposits') AS deposits
