-- top-N by an aggregate
PREPARE top_merchants (BIGINT) AS
    SELECT merchant_id, COUNT(*) AS n FROM payments
    WHERE account_id = $1
    GROUP BY merchant_id ORDER BY n DESC, merchant_id LIMIT 3;