-- Open Collective expenses (money leaving a collective), one row per transaction, with the accounts and the
-- amount taken out of their JSON.
MODEL (
  name oso.stg_open_collective__expenses,
  kind FULL,
  tags ("entity_category=funding"),
  grain transaction_id,
  audits (
    not_null(columns := (transaction_id, created_at)),
    unique_values(columns := (transaction_id))
  )
);

SELECT
  expenses.id AS transaction_id,
  CAST(expenses.created_at AS TIMESTAMP) AS created_at,
  expenses.type AS transaction_type,
  expenses.kind,
  JSON_EXTRACT_SCALAR(expenses.to_account, '$.id') AS to_account_id,
  JSON_EXTRACT_SCALAR(expenses.to_account, '$.slug') AS to_account_slug,
  JSON_EXTRACT_SCALAR(expenses.to_account, '$.name') AS to_account_name,
  JSON_EXTRACT_SCALAR(expenses.to_account, '$.type') AS to_account_type,
  JSON_EXTRACT_SCALAR(expenses.from_account, '$.id') AS from_account_id,
  JSON_EXTRACT_SCALAR(expenses.from_account, '$.slug') AS from_account_slug,
  JSON_EXTRACT_SCALAR(expenses.from_account, '$.name') AS from_account_name,
  JSON_EXTRACT_SCALAR(expenses.from_account, '$.type') AS from_account_type,
  CAST(JSON_EXTRACT_SCALAR(expenses.amount, '$.value') AS DOUBLE) AS amount,
  JSON_EXTRACT_SCALAR(expenses.amount, '$.currency') AS currency
FROM @oso_source('bigquery.open_collective.expenses') AS expenses
