-- Step 4: threats and controls, with their links to other records.

CREATE TABLE threats (
    id TEXT COLLATE "C" PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT,
    stride TEXT NOT NULL,
    method TEXT NOT NULL,
    assessment TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX threats_model_id ON threats (model_id, id);

CREATE TABLE controls (
    id TEXT COLLATE "C" PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    control_type TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    effectiveness INTEGER NOT NULL CHECK (effectiveness BETWEEN 0 AND 100),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX controls_model_id ON controls (model_id, id);

-- A link from a threat or control to another record (kind names its table).
-- Deleting the record removes its links in the same transaction.
CREATE TABLE record_links (
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (owner_id, kind, target_id)
);
CREATE INDEX record_links_target ON record_links (target_id);
