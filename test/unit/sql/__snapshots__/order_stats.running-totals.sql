WITH fstore_base AS (
SELECT "customer_id", "event_timestamp", "fstore_row_id" FROM "fstore_entities"
),
"fstore_a0" AS (
  SELECT t.*, j."category_count_distinct_30d"
  FROM (
  SELECT fstore_row_id, CAST(CASE WHEN "fstore_count_amount@604800" > 0 THEN "fstore_sum_amount@604800" END AS DOUBLE) AS "amount_sum_7d",
    CAST(CASE WHEN "fstore_count_amount@2592000" > 0 THEN "fstore_sum_amount@2592000" END AS DOUBLE) AS "amount_sum_30d",
    CAST(CASE WHEN "fstore_last_t_amount" > fstore_e_t - 604800000000 THEN "fstore_last_amount" END AS DOUBLE) AS "amount_last_7d",
    CAST(CASE WHEN "fstore_last_t_amount" > fstore_e_t - 2592000000000 THEN "fstore_last_amount" END AS DOUBLE) AS "amount_last_30d",
    "fstore_rows@2592000" > 0 AS fstore_match
  FROM (
    SELECT fstore_row_id,
      fstore_e_t,
      "fstore_rows@2592000",
      "fstore_count_amount@604800",
      ((CASE WHEN abs(CAST("fstore_sum_amount@604800" AS DECIMAL(38, 0))) < CAST(1267650600228229401496703205376 AS DECIMAL(38, 0)) THEN CAST(CAST("fstore_sum_amount@604800" AS DECIMAL(38, 0)) AS DOUBLE) + CAST(CAST("fstore_sum_amount@604800" AS DECIMAL(38, 0)) - CAST(CAST(CAST("fstore_sum_amount@604800" AS DECIMAL(38, 0)) AS DOUBLE) AS DECIMAL(38, 0)) AS DOUBLE) ELSE CAST(CAST(CAST("fstore_sum_amount@604800" AS DECIMAL(38, 0)) AS VARCHAR) AS DOUBLE) END) * power(CAST(2 AS DOUBLE), -62)) AS "fstore_sum_amount@604800",
      "fstore_count_amount@2592000",
      ((CASE WHEN abs(CAST("fstore_sum_amount@2592000" AS DECIMAL(38, 0))) < CAST(1267650600228229401496703205376 AS DECIMAL(38, 0)) THEN CAST(CAST("fstore_sum_amount@2592000" AS DECIMAL(38, 0)) AS DOUBLE) + CAST(CAST("fstore_sum_amount@2592000" AS DECIMAL(38, 0)) - CAST(CAST(CAST("fstore_sum_amount@2592000" AS DECIMAL(38, 0)) AS DOUBLE) AS DECIMAL(38, 0)) AS DOUBLE) ELSE CAST(CAST(CAST("fstore_sum_amount@2592000" AS DECIMAL(38, 0)) AS VARCHAR) AS DOUBLE) END) * power(CAST(2 AS DOUBLE), -62)) AS "fstore_sum_amount@2592000",
      "fstore_last_amount",
      "fstore_last_t_amount"
    FROM (
      SELECT p.fstore_probe // 3 AS fstore_row_id,
        any_value(p.fstore_x) FILTER (WHERE p.fstore_probe % 3 = 0) AS fstore_e_t,
        coalesce(any_value(r."fstore_rows") FILTER (WHERE p.fstore_probe % 3 = 0), 0) - coalesce(any_value(r."fstore_rows") FILTER (WHERE p.fstore_probe % 3 = 2), 0) AS "fstore_rows@2592000",
        coalesce(any_value(r."fstore_count_amount") FILTER (WHERE p.fstore_probe % 3 = 0), 0) - coalesce(any_value(r."fstore_count_amount") FILTER (WHERE p.fstore_probe % 3 = 1), 0) AS "fstore_count_amount@604800",
        coalesce(any_value(r."fstore_sum_amount") FILTER (WHERE p.fstore_probe % 3 = 0), 0) - coalesce(any_value(r."fstore_sum_amount") FILTER (WHERE p.fstore_probe % 3 = 1), 0) AS "fstore_sum_amount@604800",
        coalesce(any_value(r."fstore_count_amount") FILTER (WHERE p.fstore_probe % 3 = 0), 0) - coalesce(any_value(r."fstore_count_amount") FILTER (WHERE p.fstore_probe % 3 = 2), 0) AS "fstore_count_amount@2592000",
        coalesce(any_value(r."fstore_sum_amount") FILTER (WHERE p.fstore_probe % 3 = 0), 0) - coalesce(any_value(r."fstore_sum_amount") FILTER (WHERE p.fstore_probe % 3 = 2), 0) AS "fstore_sum_amount@2592000",
        any_value(r."fstore_last_amount") FILTER (WHERE p.fstore_probe % 3 = 0) AS "fstore_last_amount",
        any_value(r."fstore_last_t_amount") FILTER (WHERE p.fstore_probe % 3 = 0) AS "fstore_last_t_amount"
      FROM (
        SELECT e.fstore_key_id, e.fstore_row_id * 3 + b.fstore_edge AS fstore_probe, e.fstore_e_t - b.fstore_back AS fstore_x
        FROM (SELECT fstore_i.fstore_key_id, fstore_en.fstore_row_id, epoch_us(fstore_en."event_timestamp") AS fstore_e_t
          FROM "fstore_entities" fstore_en LEFT JOIN read_parquet('/key-ids.parquet') fstore_i ON fstore_i."customer_id" = fstore_en."customer_id") e
        CROSS JOIN (VALUES (0, 0), (1, 604800000000), (2, 2592000000000)) b(fstore_edge, fstore_back)
      ) p
      ASOF LEFT JOIN (SELECT fstore_key_id, fstore_t, "fstore_rows", "fstore_count_amount", "fstore_sum_amount", "fstore_last_amount", "fstore_last_t_amount" FROM read_parquet('/totals.parquet')) r
        ON r.fstore_key_id = p.fstore_key_id AND r.fstore_t <= p.fstore_x
      GROUP BY p.fstore_probe // 3
    ) fstore_totals
  ) fstore_windows
  ) t
  JOIN (
  SELECT e.fstore_row_id, CAST(count(DISTINCT s."fstore_c_category") FILTER (WHERE s.fstore_t > e.fstore_e_t - 2592000000000) AS BIGINT) AS "category_count_distinct_30d",
    count(s.fstore_t) > 0 AS fstore_match
  FROM (SELECT "customer_id", fstore_row_id, epoch_us("event_timestamp") AS fstore_e_t FROM "fstore_entities") e
  LEFT JOIN (
SELECT "customer_id", epoch_us("event_ts") AS fstore_t, -9223372036854775807 AS fstore_created, fstore_seq,
  "category" AS "fstore_c_category"
FROM read_parquet('/data/offline/orders/*/*.parquet', hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)
WHERE "dt" >= '2026-01-30' AND "dt" <= '2026-05-31' AND "event_ts" > TIMESTAMP '2026-01-30 00:00:00.000000' AND "event_ts" <= TIMESTAMP '2026-05-31 12:00:00.000000'
  ) s ON s."customer_id" = e."customer_id" AND s.fstore_t <= e.fstore_e_t AND s.fstore_t > e.fstore_e_t - 2592000000000
  GROUP BY e.fstore_row_id
  ) j ON j.fstore_row_id = t.fstore_row_id
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