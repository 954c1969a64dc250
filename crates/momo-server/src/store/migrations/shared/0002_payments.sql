-- Transactions of every kind. The primary key makes reference ids unique per product and kind,
-- under any concurrency and across instances.
CREATE TABLE transactions (
    product                  TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    reference_id             TEXT NOT NULL,
    api_user                 TEXT NOT NULL,
    environment              TEXT NOT NULL,
    currency                 TEXT NOT NULL,
    amount_minor             BIGINT NOT NULL,
    party_type               TEXT,
    party_id                 TEXT,
    external_id              TEXT,
    request                  TEXT NOT NULL,
    api_version              BIGINT NOT NULL,
    status                   TEXT NOT NULL,
    reason                   TEXT,
    financial_transaction_id TEXT,
    callback_url             TEXT,
    outcome                  TEXT,
    due_at                   BIGINT,
    awaiting_approval        BIGINT NOT NULL DEFAULT 0,
    related_reference_id     TEXT,
    notifications            BIGINT NOT NULL DEFAULT 0,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    PRIMARY KEY (product, kind, reference_id)
);
CREATE INDEX transactions_due ON transactions (due_at) WHERE status = 'PENDING';
CREATE INDEX transactions_related ON transactions (related_reference_id);
CREATE INDEX transactions_by_user ON transactions (api_user, created_at);

-- Ledger accounts: the balance is kept with the postings, in the same transaction, and never
-- goes below the floor (NULL: no floor).
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    currency      TEXT NOT NULL,
    floor_minor   BIGINT,
    balance_minor BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The callback outbox: a row per callback, leased by one worker at a time.
CREATE TABLE callback_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    api_user        TEXT NOT NULL,
    product         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    reference_id    TEXT NOT NULL,
    url             TEXT NOT NULL,
    method          TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX callback_deliveries_due ON callback_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX callback_deliveries_by_reference ON callback_deliveries (reference_id);

CREATE TABLE callback_attempts (
    delivery_id TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status_code BIGINT,
    latency_ms  BIGINT NOT NULL,
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
