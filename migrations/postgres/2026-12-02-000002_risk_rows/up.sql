-- The register as rows: one per threat, written by the recompute job in one
-- transaction with the model's computed revision, read with filters, sorting
-- and cursors in SQL, and across an organisation's models.
CREATE TABLE risk_rows (
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    threat_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    title TEXT NOT NULL,
    method TEXT NOT NULL,
    stride TEXT NOT NULL,
    inherent_score DOUBLE PRECISION NOT NULL,
    inherent_severity TEXT NOT NULL,
    residual_score DOUBLE PRECISION NOT NULL,
    residual_severity TEXT NOT NULL,
    residual_level INTEGER NOT NULL,
    projected_score DOUBLE PRECISION NOT NULL,
    projected_severity TEXT NOT NULL,
    status TEXT NOT NULL,
    explanation TEXT NOT NULL,
    rank INTEGER NOT NULL,
    computed_revision BIGINT NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model_id, threat_id)
);
CREATE INDEX risk_rows_by_rank ON risk_rows (model_id, rank);
CREATE INDEX risk_rows_by_org ON risk_rows (org_id, residual_score, threat_id);

-- Registers computed before rows existed are recomputed on demand: they
-- read as stale until then (POST …/risk-recomputations, or any change).
UPDATE risk_registers SET computed_revision = 0, computed_at = NULL, rows = '[]';
