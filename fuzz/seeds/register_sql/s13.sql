PREPARE record_payment (BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT) AS
    INSERT INTO payments (id, account_id, merchant_id, amount, created_at, status)
    VALUES ($1, $2, $3, $4, $5, $6);