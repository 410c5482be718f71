-- Writes --------------------------------------------------------------

PREPARE add_account (BIGINT, TEXT, TEXT, BIGINT) AS
    INSERT INTO accounts (id, name, region, credit_limit) VALUES ($1, $2, $3, $4);