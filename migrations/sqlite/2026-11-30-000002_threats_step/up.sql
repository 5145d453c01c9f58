-- The SQLite twin of migrations/postgres: step 2.

CREATE TABLE threat_actors (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    origin TEXT NOT NULL,
    category TEXT NOT NULL,
    intent TEXT NOT NULL,
    motivation TEXT,
    skill TEXT,
    resources TEXT,
    description TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX threat_actors_model_id ON threat_actors (model_id, id);

CREATE TABLE attack_trees (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    goal TEXT,
    target_asset_id TEXT REFERENCES assets (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX attack_trees_model_id ON attack_trees (model_id, id);
CREATE INDEX attack_trees_target ON attack_trees (target_asset_id);

CREATE TABLE attack_tree_nodes (
    id TEXT PRIMARY KEY,
    tree_id TEXT NOT NULL REFERENCES attack_trees (id) ON DELETE CASCADE,
    parent_id TEXT,
    link TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    cost DOUBLE,
    probability DOUBLE,
    time DOUBLE,
    skill DOUBLE,
    possible BOOLEAN,
    step TEXT,
    actor_id TEXT REFERENCES threat_actors (id) ON DELETE SET NULL
);
CREATE INDEX attack_tree_nodes_tree ON attack_tree_nodes (tree_id, parent_id, position);
CREATE INDEX attack_tree_nodes_actor ON attack_tree_nodes (actor_id);
