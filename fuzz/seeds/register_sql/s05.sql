PREPARE merchant_risk (BIGINT) AS
    SELECT category, risk_score FROM merchants WHERE id = $1;