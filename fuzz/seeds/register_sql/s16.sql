PREPARE set_credit_limit (BIGINT, BIGINT) AS
    UPDATE accounts SET credit_limit = $2 WHERE id = $1;