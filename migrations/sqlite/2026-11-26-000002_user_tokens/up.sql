-- One-time links to set a password: invitations (7 days) and resets issued by a superior.
CREATE TABLE user_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX user_tokens_hash_key ON user_tokens (token_hash);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id);

-- The audit log's filters by actor and target name.
CREATE INDEX audit_events_actor_label_idx ON audit_events (actor_label, occurred_at);
CREATE INDEX audit_events_target_label_idx ON audit_events (target_label, occurred_at);
