-- Reads ---------------------------------------------------------------

PREPARE account_by_id (BIGINT) AS
    SELECT id, name, region, credit_limit, frozen FROM accounts WHERE id = $1;