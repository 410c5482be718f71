PREPARE forget_payment (BIGINT) AS
    DELETE FROM payments WHERE id = $1;