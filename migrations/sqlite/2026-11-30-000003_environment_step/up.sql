-- The SQLite twin of migrations/postgres: step 3.

CREATE TABLE parties (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    trust_level TEXT NOT NULL,
    trust_zone_id TEXT REFERENCES trust_zones (id) ON DELETE SET NULL,
    services TEXT NOT NULL,
    data_processing_agreement BOOLEAN,
    last_assessment_date DATE,
    last_assessment_result TEXT,
    description TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX parties_model_id ON parties (model_id, id);

CREATE TABLE party_assets (
    party_id TEXT NOT NULL REFERENCES parties (id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (party_id, asset_id)
);
CREATE INDEX party_assets_asset ON party_assets (asset_id);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    source_asset_id TEXT REFERENCES assets (id),
    source_party_id TEXT REFERENCES parties (id),
    destination_asset_id TEXT REFERENCES assets (id),
    destination_party_id TEXT REFERENCES parties (id),
    purpose TEXT,
    protocol TEXT,
    authenticated BOOLEAN NOT NULL,
    encrypted BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interactions_model_id ON interactions (model_id, id);

CREATE TABLE interaction_data_assets (
    interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (interaction_id, asset_id)
);
CREATE INDEX interaction_data_assets_asset ON interaction_data_assets (asset_id);
