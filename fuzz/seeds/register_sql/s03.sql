CREATE TABLE decisions (
    id         BIGINT PRIMARY KEY,
    payment_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    outcome    TEXT   NOT NULL,
    reason     TEXT,
    created_at BIGINT NOT NULL
);