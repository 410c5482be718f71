PREPARE recategorize_merchant (BIGINT, TEXT) AS
    UPDATE merchants SET category = $2 WHERE id = $1;