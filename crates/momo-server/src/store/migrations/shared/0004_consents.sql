-- OAuth2 / CIBA consent requests (bc-authorize), their outcome and their refresh token (hashed).
CREATE TABLE consents (
    auth_req_id        TEXT PRIMARY KEY NOT NULL,
    api_user           TEXT NOT NULL,
    environment        TEXT NOT NULL,
    msisdn             TEXT NOT NULL,
    scope              TEXT NOT NULL,
    access_type        TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    ready_at           BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    used_at            BIGINT,
    refresh_token_hash TEXT,
    refresh_expires_at BIGINT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX consents_by_refresh ON consents (refresh_token_hash);
