-- newest-first list
PREPARE recent_decisions (BIGINT) AS
    SELECT id, outcome, reason, created_at FROM decisions
    WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 5;