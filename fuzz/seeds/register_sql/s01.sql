CREATE TABLE merchants (
    id         BIGINT PRIMARY KEY,
    name       TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    risk_score INTEGER NOT NULL
);