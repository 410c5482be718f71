PREPARE declines_in_region (TEXT, BIGINT) AS
    SELECT COUNT(*) FROM decisions d JOIN accounts a ON d.account_id = a.id
    WHERE a.region = $1 AND d.outcome = 'decline' AND d.created_at >= $2;