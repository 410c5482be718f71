PREPARE record_decision (BIGINT, BIGINT, BIGINT, TEXT, TEXT, BIGINT) AS
    INSERT INTO decisions (id, payment_id, account_id, outcome, reason, created_at)
    VALUES ($1, $2, $3, $4, $5, $6);