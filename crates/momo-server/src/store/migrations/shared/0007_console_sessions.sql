-- Sessions of the browser console: the keyed hash of the session id (the cookie's value), the
-- CSRF token its forms carry, and when it ends. In the database so that every instance sharing
-- it knows a session, and a sign-out ends it everywhere.
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
