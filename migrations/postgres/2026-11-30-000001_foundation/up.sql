-- Portable types only (TEXT ids and JSON, naive-UTC TIMESTAMP): one diesel
-- schema serves this tree and the SQLite one. Text keys use the C collation
-- so ordering and cursors agree with SQLite's bytewise order.

CREATE TABLE organizations (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_keys_org_id ON api_keys (org_id, id);

CREATE TABLE models (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    risk_appetite TEXT NOT NULL,
    tags TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX models_org_id ON models (org_id, id);

CREATE TABLE trust_zones (
    id TEXT COLLATE "C" PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    trust_rating INTEGER NOT NULL CHECK (trust_rating BETWEEN 0 AND 100),
    description TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX trust_zones_model_id ON trust_zones (model_id, id);

CREATE TABLE assets (
    id TEXT COLLATE "C" PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT,
    owner TEXT,
    classification TEXT,
    cia_confidentiality TEXT,
    cia_integrity TEXT,
    cia_availability TEXT,
    business_criticality INTEGER CHECK (business_criticality BETWEEN 1 AND 5),
    in_scope BOOLEAN NOT NULL,
    parent_id TEXT REFERENCES assets (id),
    trust_zone_id TEXT REFERENCES trust_zones (id) ON DELETE SET NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX assets_model_id ON assets (model_id, id);
CREATE INDEX assets_parent_id ON assets (parent_id);

CREATE TABLE audit_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT NOT NULL,
    model_id TEXT,
    actor_key_id TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_org_id ON audit_events (org_id, id);
CREATE INDEX audit_events_org_model ON audit_events (org_id, model_id, id);

CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    etag TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
