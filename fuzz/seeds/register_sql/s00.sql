-- The "decision" workload: a card-payment risk service.
-- Each decision reads an account's recent activity (point lookups, a join,
-- aggregates over a time window, a top-N list), decides, then writes 2-4 rows.
-- Plain PostgreSQL-dialect SQL: tables, then the named statements the
-- application may run (PREPARE name (types) AS ...). Nothing else may run.

CREATE TABLE accounts (
    id           BIGINT PRIMARY KEY,
    name         TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    credit_limit BIGINT  NOT NULL,
    frozen       BOOLEAN NOT NULL DEFAULT FALSE
);