PREPARE add_merchant (BIGINT, TEXT, TEXT, INTEGER) AS
    INSERT INTO merchants (id, name, category, risk_score) VALUES ($1, $2, $3, $4);