-- join + group-by aggregate
PREPARE spend_by_category (BIGINT) AS
    SELECT m.category, COUNT(*), SUM(p.amount)
    FROM payments p JOIN merchants m ON p.merchant_id = m.id
    WHERE p.account_id = $1 AND p.status = 'approved'
    GROUP BY m.category ORDER BY m.category;