-- aggregate over a parameterised time window
PREPARE spend_since (BIGINT, BIGINT) AS
    SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments
    WHERE account_id = $1 AND status = 'approved' AND created_at >= $2;