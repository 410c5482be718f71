CREATE TABLE payments (
    id          BIGINT PRIMARY KEY,
    account_id  BIGINT NOT NULL,
    merchant_id BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    status      TEXT   NOT NULL
);