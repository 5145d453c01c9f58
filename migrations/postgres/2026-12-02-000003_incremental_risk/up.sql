-- Incremental recomputation: a change marks the threats whose rows it can
-- move, and the job rescores only those. A row's rank is its place in the
-- order (residual, inherent descending; title, threat id ascending), read
-- from this index rather than stored: a stored rank would make one edit
-- rewrite every row below it.
DROP INDEX risk_rows_by_rank;
ALTER TABLE risk_rows DROP COLUMN rank;
-- Titles order by code point on both backends, as the domain ranks them.
ALTER TABLE risk_rows ALTER COLUMN title TYPE TEXT COLLATE "C";
CREATE INDEX risk_rows_ranked
    ON risk_rows (model_id, residual_score DESC, inherent_score DESC, title, threat_id);
-- The usual orders of a model's register and of the organisation's rows,
-- each with the threat id that breaks ties, so a page is read off the
-- index even where thousands of rows share a score. Ascending scores and
-- descending titles are sorted on top of a filter instead.
CREATE INDEX risk_rows_by_residual ON risk_rows (model_id, residual_score DESC, threat_id);
CREATE INDEX risk_rows_by_inherent ON risk_rows (model_id, inherent_score DESC, threat_id);
CREATE INDEX risk_rows_by_projected ON risk_rows (model_id, projected_score DESC, threat_id);
CREATE INDEX risk_rows_by_title ON risk_rows (model_id, title, threat_id);
DROP INDEX risk_rows_by_org;
CREATE INDEX risk_rows_by_org ON risk_rows (org_id, residual_score DESC, threat_id);
CREATE INDEX risk_rows_ranked_by_org
    ON risk_rows (org_id, residual_score DESC, inherent_score DESC, title, threat_id);

-- Threats whose rows are out of date, with the model revision that marked
-- them; `*` marks the whole register. A computation clears the marks up to
-- the revision it read.
CREATE TABLE risk_dirty (
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    threat_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (model_id, threat_id)
);

-- Registers already out of date have no marks yet: recompute them whole.
INSERT INTO risk_dirty (model_id, threat_id, revision)
    SELECT model_id, '*', revision FROM risk_registers WHERE revision > computed_revision;
