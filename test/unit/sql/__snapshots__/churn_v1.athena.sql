WITH "fstore_v0" AS (
  SELECT fstore_row_id, fstore_win FROM (
  SELECT fstore_kind, fstore_row_id,
    last_value(fstore_values) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_ts, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fstore_win
  FROM (
    SELECT "customer_id", "event_ts" AS fstore_ts, 0 AS fstore_kind, "created_ts" AS fstore_created,
      fstore_seq, CAST(ROW("event_ts", "age", "plan", "region", "monthly_charges", "tenure_months") AS ROW("fstore_event_ts" TIMESTAMP(6), "age" INTEGER, "plan" VARCHAR, "region" VARCHAR, "monthly_charges" DOUBLE, "tenure_months" INTEGER)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT "fstore_rows".* FROM "fstore_dev"."customer_profiles" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'customer_profiles') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL)
    WHERE "dt" >= '2026-01-30' AND "dt" <= '2026-05-31'
    UNION ALL
    SELECT "customer_id", "event_timestamp", 1, CAST(NULL AS TIMESTAMP(6)),
      CAST(NULL AS BIGINT), NULL, fstore_row_id
    FROM "fstore_entities"
  ) fstore_merged
  ) fstore_carried
  WHERE fstore_kind = 1
),
"fstore_v1" AS (
  SELECT fstore_row_id, fstore_win FROM (
  SELECT fstore_kind, fstore_row_id,
    last_value(fstore_values) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_ts, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fstore_win
  FROM (
    SELECT "customer_id", "event_ts" AS fstore_ts, 0 AS fstore_kind, "created_ts" AS fstore_created,
      fstore_seq, CAST(ROW("event_ts", "contract_type", "payment_method") AS ROW("fstore_event_ts" TIMESTAMP(6), "contract_type" VARCHAR, "payment_method" VARCHAR)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT "fstore_rows".* FROM "fstore_dev"."customer_contracts" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'customer_contracts') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL)
    WHERE "dt" >= '2025-03-01' AND "dt" <= '2026-05-31'
    UNION ALL
    SELECT "customer_id", "event_timestamp", 1, CAST(NULL AS TIMESTAMP(6)),
      CAST(NULL AS BIGINT), NULL, fstore_row_id
    FROM "fstore_entities"
  ) fstore_merged
  ) fstore_carried
  WHERE fstore_kind = 1
),
"fstore_v2" AS (
  SELECT fstore_row_id, fstore_win FROM (
  SELECT fstore_kind, fstore_row_id,
    last_value(fstore_values) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_ts, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fstore_win
  FROM (
    SELECT "customer_id", "event_ts" AS fstore_ts, 0 AS fstore_kind, "created_ts" AS fstore_created,
      fstore_seq, CAST(ROW("event_ts", "amount", "category") AS ROW("fstore_event_ts" TIMESTAMP(6), "amount" DOUBLE, "category" VARCHAR)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT "fstore_rows".* FROM "fstore_dev"."orders" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'orders') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL)
    WHERE "dt" >= '2025-12-01' AND "dt" <= '2026-05-31'
    UNION ALL
    SELECT "customer_id", "event_timestamp", 1, CAST(NULL AS TIMESTAMP(6)),
      CAST(NULL AS BIGINT), NULL, fstore_row_id
    FROM "fstore_entities"
  ) fstore_merged
  ) fstore_carried
  WHERE fstore_kind = 1
)
SELECT e."customer_id",
  e."event_timestamp",
  e."churned",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."age" END AS "age",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."plan" END AS "plan",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."region" END AS "region",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."monthly_charges" END AS "monthly_charges",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."tenure_months" END AS "tenure_months",
  CASE WHEN "v1".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '31536000' SECOND) THEN "v1".fstore_win."contract_type" END AS "contract_type",
  CASE WHEN "v1".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '31536000' SECOND) THEN "v1".fstore_win."payment_method" END AS "payment_method",
  CASE WHEN "v2".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '7776000' SECOND) THEN "v2".fstore_win."amount" END AS "last_order_amount",
  CASE WHEN "v2".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '7776000' SECOND) THEN "v2".fstore_win."category" END AS "last_order_category"
FROM "fstore_entities" e
LEFT JOIN "fstore_v0" "v0" ON "v0".fstore_row_id = e.fstore_row_id
LEFT JOIN "fstore_v1" "v1" ON "v1".fstore_row_id = e.fstore_row_id
LEFT JOIN "fstore_v2" "v2" ON "v2".fstore_row_id = e.fstore_row_id
ORDER BY e.fstore_row_id