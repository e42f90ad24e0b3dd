WITH fstore_base AS (
SELECT "customer_id", "event_timestamp", "fstore_row_id" FROM "fstore_entities"
),
"fstore_a0" AS (
  SELECT fstore_row_id, CAST("fstore_a0_v" AS DOUBLE) AS "amount_sum_7d", CAST("fstore_a1_v" AS DOUBLE) AS "amount_sum_30d", CASE WHEN "fstore_a2_t" > fstore_t - 604800000000 THEN "fstore_a2_v" END AS "amount_last_7d", CASE WHEN "fstore_a3_t" > fstore_t - 2592000000000 THEN "fstore_a3_v" END AS "amount_last_30d", CAST("fstore_a4_v" AS BIGINT) AS "category_count_distinct_30d",
    fstore_match_count > 0 AS fstore_match
  FROM (
  SELECT fstore_kind, fstore_row_id, fstore_t, sum("fstore_c_amount") OVER (PARTITION BY "customer_id" ORDER BY fstore_t RANGE BETWEEN 604799999999 PRECEDING AND CURRENT ROW) AS "fstore_a0_v",
    sum("fstore_c_amount") OVER (PARTITION BY "customer_id" ORDER BY fstore_t RANGE BETWEEN 2591999999999 PRECEDING AND CURRENT ROW) AS "fstore_a1_v",
    last_value("fstore_c_amount") IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_a2_v",
    last_value(CASE WHEN "fstore_c_amount" IS NOT NULL THEN fstore_t END) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_a2_t",
    last_value("fstore_c_amount") IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_a3_v",
    last_value(CASE WHEN "fstore_c_amount" IS NOT NULL THEN fstore_t END) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_t, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "fstore_a3_t",
    cardinality(array_distinct(filter(array_agg("fstore_c_category") OVER (PARTITION BY "customer_id" ORDER BY fstore_t RANGE BETWEEN 2591999999999 PRECEDING AND CURRENT ROW), x -> x IS NOT NULL))) AS "fstore_a4_v",
    sum(1 - fstore_kind) OVER (PARTITION BY "customer_id" ORDER BY fstore_t RANGE BETWEEN 2591999999999 PRECEDING AND CURRENT ROW) AS fstore_match_count
  FROM (
    SELECT "customer_id", CAST(round(to_unixtime("event_ts") * 1e6) AS BIGINT) AS fstore_t, 0 AS fstore_kind,
      CAST(round(to_unixtime(CAST(NULL AS TIMESTAMP(6))) * 1e6) AS BIGINT) AS fstore_created, fstore_seq, CAST(NULL AS BIGINT) AS fstore_row_id,
      "amount" AS "fstore_c_amount", "category" AS "fstore_c_category"
    FROM (SELECT * FROM "fstore_dev"."orders" WHERE regexp_extract("$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1) IN (SELECT "ingestid" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'orders'))
    WHERE "dt" >= '2026-01-30' AND "dt" <= '2026-05-31' AND "event_ts" > TIMESTAMP '2026-01-30 00:00:00.000000' AND "event_ts" <= TIMESTAMP '2026-05-31 12:00:00.000000'
    UNION ALL
    SELECT "customer_id", CAST(round(to_unixtime("event_timestamp") * 1e6) AS BIGINT), 1, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), fstore_row_id,
      CAST(NULL AS DOUBLE), CAST(NULL AS VARCHAR)
    FROM "fstore_entities"
  ) fstore_merged
  ) fstore_windowed
  WHERE fstore_kind = 1
)
SELECT b."customer_id",
  b."event_timestamp",
  "a0"."amount_sum_7d" AS "amount_sum_7d",
  "a0"."amount_sum_30d" AS "amount_sum_30d",
  "a0"."amount_last_7d" AS "amount_last_7d",
  "a0"."amount_last_30d" AS "amount_last_30d",
  "a0"."category_count_distinct_30d" AS "category_count_distinct_30d",
  COALESCE("a0".fstore_match, FALSE) AS "fstore_match_0"
FROM fstore_base b
LEFT JOIN "fstore_a0" "a0" ON "a0".fstore_row_id = b.fstore_row_id
ORDER BY b.fstore_row_id