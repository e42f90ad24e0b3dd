/**
 * Where an AWS delete's audit entries are written in the offline bucket, one object each
 * (`<time>-<id>.json`): outside every Glue table's location, so no query reads them.
 */
export const awsErasureAuditPrefix = '_fstore/audit/deletes/';
