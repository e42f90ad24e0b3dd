WITH "fstore_request" AS (
  SELECT "row_key", "customer_id", "event_timestamp"
  FROM "fstore_dev"."fstore_requests_churn_online"
  WHERE "request_id" = ?
    AND CASE WHEN "event_timestamp" IS NULL THEN CAST('fstore: entity row with a NULL event_timestamp: row_key ' || COALESCE("row_key", 'NULL') || ', event_timestamp ' || COALESCE(CAST("event_timestamp" AS VARCHAR), 'NULL') AS BOOLEAN)
      WHEN "event_timestamp" BETWEEN CAST(? AS TIMESTAMP(6)) AND CAST(? AS TIMESTAMP(6)) THEN TRUE
      ELSE CAST('fstore: entity row outside the range given to EXECUTE: row_key ' || COALESCE("row_key", 'NULL') || ', event_timestamp ' || COALESCE(CAST("event_timestamp" AS VARCHAR), 'NULL') AS BOOLEAN) END
),
"fstore_entities" AS (
  SELECT e."row_key", e."customer_id", e."event_timestamp", row_number() OVER (ORDER BY e."row_key", e."customer_id", e."event_timestamp") AS fstore_row_id
  FROM "fstore_request" e
),
"fstore_v0" AS (
  SELECT fstore_row_id, fstore_win FROM (
  SELECT fstore_kind, fstore_row_id,
    last_value(fstore_values) IGNORE NULLS OVER (PARTITION BY "customer_id" ORDER BY fstore_ts, fstore_kind, fstore_created NULLS FIRST, fstore_seq NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS fstore_win
  FROM (
    SELECT "customer_id", "event_ts" AS fstore_ts, 0 AS fstore_kind, "created_ts" AS fstore_created,
      fstore_seq, CAST(ROW("event_ts", "plan", "monthly_charges", "tenure_months") AS ROW("fstore_event_ts" TIMESTAMP(6), "plan" VARCHAR, "monthly_charges" DOUBLE, "tenure_months" INTEGER)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT fstore_s.* FROM (SELECT "fstore_rows".* FROM "fstore_dev"."customer_profiles" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'customer_profiles') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL) fstore_s WHERE fstore_s."dt" >= CAST(CAST((CAST(? AS TIMESTAMP(6)) - INTERVAL '2592000' SECOND) AS DATE) AS VARCHAR) AND fstore_s."dt" <= CAST(CAST(CAST(? AS TIMESTAMP(6)) AS DATE) AS VARCHAR) AND fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request"))
    WHERE TRUE
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
      fstore_seq, CAST(ROW("event_ts", "contract_type") AS ROW("fstore_event_ts" TIMESTAMP(6), "contract_type" VARCHAR)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT fstore_s.* FROM (SELECT "fstore_rows".* FROM "fstore_dev"."customer_contracts" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'customer_contracts') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL) fstore_s WHERE fstore_s."dt" >= CAST(CAST((CAST(? AS TIMESTAMP(6)) - INTERVAL '31536000' SECOND) AS DATE) AS VARCHAR) AND fstore_s."dt" <= CAST(CAST(CAST(? AS TIMESTAMP(6)) AS DATE) AS VARCHAR) AND fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request"))
    WHERE TRUE
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
      fstore_seq, CAST(ROW("event_ts", "amount") AS ROW("fstore_event_ts" TIMESTAMP(6), "amount" DOUBLE)) AS fstore_values, CAST(NULL AS BIGINT) AS fstore_row_id
    FROM (SELECT fstore_s.* FROM (SELECT "fstore_rows".* FROM "fstore_dev"."orders" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."fstore_ingests" WHERE "source" = 'orders') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '/([0-9]{8}t[0-9]{6}-[0-9a-f]{8})-[0-9]+\.parquet$', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL) fstore_s WHERE fstore_s."dt" >= CAST(CAST((CAST(? AS TIMESTAMP(6)) - INTERVAL '7776000' SECOND) AS DATE) AS VARCHAR) AND fstore_s."dt" <= CAST(CAST(CAST(? AS TIMESTAMP(6)) AS DATE) AS VARCHAR) AND fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request"))
    WHERE TRUE
    UNION ALL
    SELECT "customer_id", "event_timestamp", 1, CAST(NULL AS TIMESTAMP(6)),
      CAST(NULL AS BIGINT), NULL, fstore_row_id
    FROM "fstore_entities"
  ) fstore_merged
  ) fstore_carried
  WHERE fstore_kind = 1
)
SELECT e."row_key",
  e."customer_id",
  e."event_timestamp",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."plan" END AS "plan",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."monthly_charges" END AS "monthly_charges",
  CASE WHEN "v0".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '2592000' SECOND) THEN "v0".fstore_win."tenure_months" END AS "tenure_months",
  CASE WHEN "v1".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '31536000' SECOND) THEN "v1".fstore_win."contract_type" END AS "contract_type",
  CASE WHEN "v2".fstore_win."fstore_event_ts" >= (e."event_timestamp" - INTERVAL '7776000' SECOND) THEN "v2".fstore_win."amount" END AS "last_order_amount"
FROM "fstore_entities" e
LEFT JOIN "fstore_v0" "v0" ON "v0".fstore_row_id = e.fstore_row_id
LEFT JOIN "fstore_v1" "v1" ON "v1".fstore_row_id = e.fstore_row_id
LEFT JOIN "fstore_v2" "v2" ON "v2".fstore_row_id = e.fstore_row_id
ORDER BY e.fstore_row_id