-- Jobs, the outbox that carries them to the broker, and the risk register.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT,
    model_id TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    result TEXT,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_model_pending ON jobs (model_id, kind, status);

-- Written in the same transaction as the change that caused the job;
-- relayed (or run in-process) and then marked published.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP
);
CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);

-- Every change that can move a score bumps `revision`; a computed register
-- records the revision it saw, so a stale job never overwrites a newer result.
CREATE TABLE risk_registers (
    model_id TEXT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    computed_revision BIGINT NOT NULL,
    rows TEXT NOT NULL,
    computed_at TIMESTAMP
);
INSERT INTO risk_registers (model_id, revision, computed_revision, rows, computed_at)
SELECT id, 0, 0, '[]', NULL FROM models;
