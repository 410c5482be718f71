PREPARE set_payment_status (BIGINT, TEXT) AS
    UPDATE payments SET status = $2 WHERE id = $1;