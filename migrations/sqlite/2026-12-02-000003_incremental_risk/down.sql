DROP TABLE risk_dirty;
DROP INDEX risk_rows_ranked;
ALTER TABLE risk_rows ADD COLUMN rank INTEGER NOT NULL DEFAULT 0;
CREATE INDEX risk_rows_by_rank ON risk_rows (model_id, rank);
UPDATE risk_registers SET computed_revision = 0, computed_at = NULL;
