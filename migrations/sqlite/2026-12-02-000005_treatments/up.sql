-- Step 5: treatments, one current decision per threat; older decisions name
-- the one that superseded them and stay as history. The ids a treatment
-- names (removed assets, reducing controls) are record_links rows.
CREATE TABLE treatments (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    threat_id TEXT NOT NULL,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    rationale TEXT,
    owner TEXT NOT NULL,
    due_date TEXT,
    -- The due date, or 9999-12-31 when there is none: undated treatments
    -- sort last on both backends (their NULLs would sort apart).
    due_order TEXT NOT NULL,
    ticket_system TEXT,
    ticket_key TEXT,
    ticket_url TEXT,
    removed TEXT,
    counterparty_party_id TEXT,
    mechanism TEXT,
    transferred_share DOUBLE,
    justification TEXT,
    approver TEXT,
    expires_on TEXT,
    superseded_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX treatments_model_id ON treatments (model_id, id);
CREATE INDEX treatments_threat ON treatments (threat_id, id);
-- At most one current decision per threat.
CREATE UNIQUE INDEX treatments_current ON treatments (threat_id) WHERE superseded_by IS NULL;
-- The expiry sweep reads current, standing acceptances by day.
CREATE INDEX treatments_expiring ON treatments (expires_on) WHERE strategy = 'accept' AND superseded_by IS NULL;

-- Register rows show the current treatment of their threat.
ALTER TABLE risk_rows ADD COLUMN treatment_strategy TEXT;
ALTER TABLE risk_rows ADD COLUMN treatment_status TEXT;
