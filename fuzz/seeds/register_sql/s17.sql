PREPARE freeze_account (BIGINT) AS
    UPDATE accounts SET frozen = TRUE WHERE id = $1;