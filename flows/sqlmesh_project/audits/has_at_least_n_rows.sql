-- Fails when the model has fewer than @threshold rows: the audit returns one row when it fails.
AUDIT (
  name has_at_least_n_rows,
  defaults (threshold = 1)
);
SELECT 1 AS too_few_rows
FROM (SELECT COUNT(*) AS n FROM @this_model) AS counted
WHERE counted.n < @threshold
