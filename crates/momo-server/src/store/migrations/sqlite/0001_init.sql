-- API users: sandbox-provisioned and operator-created. Keys are stored only as SHA-256 hex.
CREATE TABLE api_users (
    id                     TEXT PRIMARY KEY NOT NULL,
    environment            TEXT NOT NULL,
    provider_callback_host TEXT NOT NULL,
    payment_server_url     TEXT,
    credential_style       TEXT NOT NULL,
    origin                 TEXT NOT NULL,
    key_hash               TEXT,
    key_version            BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    revoked_at             BIGINT
);

CREATE TABLE subscription_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    products   TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE operator_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL
);

-- Secrets the server generates for itself (the token signing key).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

-- Bumped with every credential change; instances poll it to invalidate their caches.
CREATE TABLE credentials_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO credentials_epoch (id, epoch) VALUES (1, 0);

-- Double-entry ledger: every journal entry is a set of postings summing to zero per currency.
CREATE TABLE ledger_postings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id     TEXT NOT NULL,
    account      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account, currency);
