SELECT "customer_id", fstore_t, count(*) OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fstore_rows,
  count("amount") OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_count_amount",
  sum(CAST(CAST((CAST("amount" AS DOUBLE) * power(CAST(2 AS DOUBLE), -(-62))) AS HUGEINT) AS DECIMAL(38, 0))) OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_sum_amount",
  last_value("amount" IGNORE NULLS) OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_last_amount",
  max(CASE WHEN "amount" IS NOT NULL THEN fstore_t END) OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_last_t_amount"
FROM (
  SELECT "customer_id", epoch_us("event_ts") AS fstore_t, CAST(NULL AS BIGINT) AS fstore_created, fstore_seq,
    "amount"
  FROM read_parquet('/data/offline/orders/*/*.parquet', hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)
) fstore_source
QUALIFY lead(fstore_t) OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_created NULLS FIRST, fstore_seq NULLS FIRST) IS DISTINCT FROM fstore_t