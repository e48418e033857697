-- The access-token epoch of each account that has credentials: every token carries the epoch it
-- was issued under, and a password change, reset or block increments it, which ends every token
-- issued before (docs/decisions.md, "Token epoch").
ALTER TABLE teachers ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
