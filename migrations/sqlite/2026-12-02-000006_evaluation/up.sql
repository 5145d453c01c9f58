-- Step 6: evaluation entries (their links to threats, treatments, controls
-- and assets are record_links rows), immutable model versions, and reports
-- rendered by the worker from a version.
CREATE TABLE evaluation_entries (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    entry_date TEXT NOT NULL,
    tags TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX evaluation_entries_model_id ON evaluation_entries (model_id, id);

-- A version's document is the canonical model document as JSON text,
-- written once and never updated.
CREATE TABLE model_versions (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    label TEXT NOT NULL,
    document TEXT NOT NULL,
    document_bytes BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX model_versions_number ON model_versions (model_id, number);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version_id TEXT REFERENCES model_versions (id),
    formats TEXT NOT NULL,
    status TEXT NOT NULL,
    job_id TEXT NOT NULL,
    error TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_model_id ON reports (model_id, id);

CREATE TABLE report_files (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    content TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (report_id, format)
);
